"""Uploaded spreadsheets kept between a dry-run preview and its confirmation, so the rows
confirmed are exactly the rows previewed.

They hold personal data: the folder is 0700 and each file 0600 (created so, never widened
later), a preview that fails removes its file, a confirm removes it whatever happens, and
whatever is left is swept after ``KEEP_SECONDS``.
"""

import os
import time
import uuid
from pathlib import Path

from django.conf import settings

UPLOAD_DIR = "imports"
KEEP_SECONDS = 2 * 60 * 60


class UploadTooLarge(ValueError):
    """The upload is larger than the limit it was stored under; nothing was kept."""

    def __init__(self, size: int, limit: int):
        self.size, self.limit = size, limit
        super().__init__(f"upload of {size} bytes is over the limit of {limit}")


def _folder() -> Path:
    folder = Path(settings.VAR_DIR) / UPLOAD_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)  # made by an older version, or by hand
    return folder


def upload_store(upload, *, max_bytes: int | None = None) -> str:
    """Save an uploaded file (anything with ``name`` and ``chunks()``) readable by this user
    only; returns the token that finds it again. Over ``max_bytes``: ``UploadTooLarge``, and
    nothing is kept."""
    token = f"{uuid.uuid4().hex}{Path(upload.name or '').suffix.lower()}"
    path = _folder() / token
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    written = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in upload.chunks():
                written += len(chunk)
                if max_bytes is not None and written > max_bytes:
                    raise UploadTooLarge(getattr(upload, "size", None) or written, max_bytes)
                fh.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return token


def upload_path(token: str) -> Path | None:
    """The stored file for ``token``, or None if there is none or it has expired. A token is a
    bare file name: never a path."""
    uploads_sweep()
    name = Path(token or "").name
    if not name or name != token:
        return None
    path = _folder() / name
    return path if path.is_file() else None


def upload_discard(token: str) -> None:
    path = upload_path(token)
    if path is not None:
        path.unlink(missing_ok=True)


def uploads_sweep() -> int:
    """Delete uploads older than ``KEEP_SECONDS``: they hold personal data, and a preview
    nobody confirmed is not kept."""
    cutoff = time.time() - KEEP_SECONDS
    removed = 0
    for path in _folder().iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed

"""Uploaded spreadsheets kept between a dry-run preview and its confirmation, so the rows
confirmed are exactly the rows previewed."""

import time
import uuid
from pathlib import Path

from django.conf import settings

UPLOAD_DIR = "imports"
KEEP_SECONDS = 2 * 60 * 60


def _folder() -> Path:
    folder = Path(settings.VAR_DIR) / UPLOAD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_store(upload) -> str:
    """Save an uploaded file; returns the token that finds it again."""
    token = f"{uuid.uuid4().hex}{Path(upload.name).suffix.lower()}"
    with open(_folder() / token, "wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
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

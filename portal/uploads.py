"""Uploaded spreadsheets kept between a dry-run preview and its confirmation, so the rows
confirmed are exactly the rows previewed."""

import uuid
from pathlib import Path

from django.conf import settings

UPLOAD_DIR = "imports"


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
    """The stored file for ``token``, or None. A token is a bare file name: never a path."""
    name = Path(token or "").name
    if not name or name != token:
        return None
    path = _folder() / name
    return path if path.is_file() else None

"""Uploaded photos: checked by their content, re-encoded, and served only as what they are.

A file is kept only as the JPEG, PNG or WebP that Pillow decoded from it, written anew: bytes
appended to a valid image (an HTML or SVG "polyglot"), EXIF (GPS position included) and text
chunks do not survive. Its name and type come from the detected format, never from the
client. The pixel count is checked against ``settings.PHOTO_MAX_PIXELS`` from the header,
before any pixel is decoded."""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class ImageKind:
    pillow: str  # Pillow's format name
    mime: str
    extension: str


# Keyed by the value stored on the row.
KINDS = {
    "jpeg": ImageKind("JPEG", "image/jpeg", "jpg"),
    "png": ImageKind("PNG", "image/png", "png"),
    "webp": ImageKind("WEBP", "image/webp", "webp"),
}
# MPO is how Pillow names the multi-picture JPEGs many phones write: kept as a plain JPEG.
_BY_PILLOW = {**{kind.pillow: key for key, kind in KINDS.items()}, "MPO": "jpeg"}
# Modes each format is written in; anything else is converted first.
_SAVE_MODES = {
    "JPEG": {"L", "RGB", "CMYK"},
    "PNG": {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"},
    "WEBP": {"RGB", "RGBA"},
}
_SAVE_OPTIONS = {
    "JPEG": {"quality": 90, "optimize": True},
    "PNG": {"optimize": True},
    "WEBP": {"quality": 90},
}
# What a browser gets with the image: no script runs even if it were opened as a document.
_SANDBOX = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    kind: str  # a key of KINDS

    @property
    def extension(self) -> str:
        return KINDS[self.kind].extension


def _unreadable() -> ValidationError:
    return ValidationError(_("a file is not a readable image"), code="unreadable")


def _too_large(max_pixels: int) -> ValidationError:
    return ValidationError(
        _("The image is too large: at most %(max)s pixels.") % {"max": f"{max_pixels:,}"},
        code="too_large",
    )


def image_clean(upload, *, max_pixels: int | None = None) -> CleanImage:
    """The JPEG, PNG or WebP in ``upload`` (a file object), decoded and written anew
    (upright, without metadata). Raises ``ValidationError`` with a message for the person who
    uploaded it."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    max_pixels = settings.PHOTO_MAX_PIXELS if max_pixels is None else max_pixels
    try:
        upload.seek(0)
        # Image.open reads the header only; Pillow's own bomb check fires here already.
        with Image.open(upload) as image:
            kind = _BY_PILLOW.get(image.format)
            width, height = image.size
            if kind is not None and width * height <= max_pixels:
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _unreadable() from None
    if kind is None:
        raise ValidationError(_("photos must be JPEG, PNG or WebP"), code="type")
    if width * height > max_pixels:
        raise _too_large(max_pixels)

    pillow = KINDS[kind].pillow
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            icc_profile = image.info.get("icc_profile")
            transparency = image.info.get("transparency")
            # Turn it upright by its EXIF orientation, then keep nothing but the pixels.
            clean = ImageOps.exif_transpose(image)
            clean.load()
        if clean.mode not in _SAVE_MODES[pillow]:
            has_alpha = "A" in clean.mode or "transparency" in clean.info
            clean = clean.convert("RGBA" if has_alpha and pillow != "JPEG" else "RGB")
        # Only what the pixels need: a PNG's transparent colour.
        keep_transparency = pillow == "PNG" and transparency is not None and "A" not in clean.mode
        clean.info = {"transparency": transparency} if keep_transparency else {}
        options = dict(_SAVE_OPTIONS[pillow])
        if icc_profile:
            options["icc_profile"] = icc_profile
        out = io.BytesIO()
        clean.save(out, pillow, **options)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(max_pixels) from None
    except Exception:
        # A file that passed the header check can still fail to decode in many ways
        # (truncated data, broken EXIF, odd modes): all of them are the upload's fault.
        raise _unreadable() from None
    finally:
        upload.seek(0)
    return CleanImage(content=out.getvalue(), kind=kind)


def image_response(
    field_file, *, kind: str, download_name: str, public: bool = False, max_age: int = 3600
) -> HttpResponse:
    """A stored image answered as its detected type, inline, never sniffed into anything
    else. Streams the file, or hands it to the web server with ``X-Accel-Redirect`` when
    ``settings.PROTECTED_MEDIA_ACCEL_PREFIX`` names an internal location for MEDIA_ROOT."""
    image_kind = KINDS.get(kind)
    if image_kind is None or not field_file:
        raise Http404
    filename = f"{download_name}.{image_kind.extension}"
    accel = settings.PROTECTED_MEDIA_ACCEL_PREFIX
    if accel:
        response = HttpResponse(content_type=image_kind.mime)
        response["X-Accel-Redirect"] = accel.rstrip("/") + "/" + quote(field_file.name)
        response["Content-Disposition"] = content_disposition_header(False, filename)
    else:
        try:
            handle = field_file.storage.open(field_file.name, "rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type=image_kind.mime, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = _SANDBOX
    if public:
        patch_cache_control(response, public=True, max_age=max_age)
    else:
        patch_cache_control(response, private=True, max_age=max_age)
    return response

"""Photos sent with a report: checked by their content and re-encoded."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.images import CleanImage, image_clean

PHOTO_MAX_BYTES = 5 * 1024 * 1024


def photo_clean(*, upload) -> CleanImage:
    """An uploaded photo checked by its content, not its name, and re-encoded: JPEG, PNG or
    WebP only, at most ``PHOTO_MAX_BYTES`` and ``settings.PHOTO_MAX_PIXELS``."""
    if upload.size > PHOTO_MAX_BYTES:
        raise ValidationError({"photos": _("a photo is larger than 5 MB")})
    try:
        return image_clean(upload)
    except ValidationError as exc:
        raise ValidationError({"photos": exc.messages}) from None

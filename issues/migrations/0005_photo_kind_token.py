"""Photos get their detected type and a public token; the files stored so far are re-encoded
and renamed like new uploads (a random name with the detected extension), so no file keeps a
client's name, extension, trailing bytes or EXIF position. A file that cannot be read is left
where it is with no type, and is then never served."""

import posixpath
import secrets
import uuid

from django.db import migrations, models, transaction

import issues.models


def photos_reencode(apps, schema_editor):
    TicketPhoto = apps.get_model("issues", "TicketPhoto")
    reencode(TicketPhoto.objects.filter(token__isnull=True))


def reencode(photos) -> None:
    """Give each photo of ``photos`` a token, and re-encode and rename its file."""
    from django.core.exceptions import ValidationError
    from django.core.files.base import ContentFile

    from core.images import image_clean

    for photo in photos.iterator():
        photo.token = secrets.token_urlsafe(24)
        old = photo.image.name
        storage = photo.image.storage
        try:
            with storage.open(old, "rb") as handle:
                clean = image_clean(handle)
        except (OSError, ValidationError):
            clean = None
        if clean is not None:
            name = posixpath.join(posixpath.dirname(old), f"{uuid.uuid4().hex}.{clean.extension}")
            photo.image.name = storage.save(name, ContentFile(clean.content))
            photo.kind = clean.kind
            # The old file goes only once the rows naming the new ones are committed.
            transaction.on_commit(lambda old=old, storage=storage: storage.delete(old))
        photo.save(update_fields=["token", "kind", "image"])


class Migration(migrations.Migration):
    dependencies = [
        ("issues", "0004_event_time_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticketphoto",
            name="kind",
            field=models.CharField(
                choices=[("jpeg", "JPEG"), ("png", "PNG"), ("webp", "WebP")],
                default="",
                max_length=8,
                verbose_name="image type",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="ticketphoto",
            name="token",
            field=models.CharField(max_length=64, null=True, verbose_name="public token"),
        ),
        migrations.RunPython(photos_reencode, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="ticketphoto",
            name="token",
            field=models.CharField(
                default=issues.models.photo_token,
                editable=False,
                max_length=64,
                unique=True,
                verbose_name="public token",
            ),
        ),
    ]

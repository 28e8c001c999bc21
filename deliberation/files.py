"""Serving a proposal's attachments and progress photos: only through views that have
checked who asks; never sniffed into anything else, a PDF always as a download."""

from django.http import FileResponse, Http404
from django.utils.cache import patch_cache_control

from core.images import KINDS, image_response
from deliberation.models import ProgressNote, ProposalAttachment

_SANDBOX = "default-src 'none'; sandbox"


def attachment_response(attachment: ProposalAttachment):
    if attachment.kind in KINDS:
        return image_response(
            attachment.file, kind=attachment.kind, download_name=f"attachment-{attachment.pk}"
        )
    if attachment.kind != ProposalAttachment.Kind.PDF or not attachment.file:
        raise Http404
    try:
        handle = attachment.file.storage.open(attachment.file.name, "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        content_type="application/pdf",
        filename=f"attachment-{attachment.pk}.pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = _SANDBOX
    patch_cache_control(response, private=True, max_age=3600)
    return response


def progress_photo_response(note: ProgressNote):
    if not note.photo:
        raise Http404
    return image_response(note.photo, kind=note.photo_kind, download_name=f"progress-{note.pk}")

"""Photos arriving in a request: held in memory only (never in a temporary file on disk), and refused
over the size limit by one rule, wherever they arrive."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler, SkipFile
from django.http import HttpRequest
from django.utils.translation import gettext as _

from biometrics.faces import REASONS
from core.errors import UnsupportedMediaType, ValidationFailed
from core.images import image_format


class MemoryOnlyUploadHandler(MemoryFileUploadHandler):
    """Keeps every uploaded file in memory; one over FILE_UPLOAD_MAX_MEMORY_SIZE is dropped whole.

    The view then sees the file missing from request.FILES, and `photo_size_check` refuses the request.
    """

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.activated = True  # never hand over to a disk-backed handler, whatever the size

    def new_file(self, *args, **kwargs):
        self.received = 0
        super().new_file(*args, **kwargs)  # raises StopFutureHandlers: memory is the only place

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.FILE_UPLOAD_MAX_MEMORY_SIZE:
            oversized = getattr(self.request, "oversized_uploads", [])
            oversized.append(self.field_name)
            self.request.oversized_uploads = oversized
            raise SkipFile
        return super().receive_data_chunk(raw_data, start)


def photo_size_check(
    *, photos: Iterable[bytes] = (), request: HttpRequest | None = None, field: str | None = None
) -> None:
    """The photo size limit (ENROLL_MAX_PHOTO_BYTES): a photo over it, or an upload of `request` the
    handler above dropped for being over it (read `request.FILES` first), is refused with 400
    `image_too_large`, naming `field` when there is a form field to name."""
    dropped = request is not None and bool(getattr(request, "oversized_uploads", None))
    if dropped or any(len(photo) > settings.ENROLL_MAX_PHOTO_BYTES for photo in photos):
        message = _(REASONS["image_too_large"])
        raise ValidationFailed(message, code="image_too_large", fields={field: [message]} if field else None)


def photo_type_check(*, photos: Iterable[bytes], field: str | None = None) -> None:
    """Photos are JPEG, PNG or WebP by their own bytes; anything else is refused at once with 415
    `unsupported_media_type`, before an enrollment is queued for a worker to refuse it later."""
    if any(image_format(photo) is None for photo in photos):
        message = _("Send photos as JPEG, PNG or WebP images.")
        raise UnsupportedMediaType(message, fields={field: [message]} if field else None)

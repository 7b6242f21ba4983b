"""Uploads are held in memory only: a photo must never be written to a temporary file on disk."""

from django.core.files.uploadhandler import MemoryFileUploadHandler, SkipFile


class MemoryOnlyUploadHandler(MemoryFileUploadHandler):
    """Keeps every uploaded file in memory; one over FILE_UPLOAD_MAX_MEMORY_SIZE is dropped whole.

    The view then sees the file missing from request.FILES and names it in `too_large`.
    """

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.activated = True  # never hand over to a disk-backed handler, whatever the size

    def new_file(self, *args, **kwargs):
        self.received = 0
        super().new_file(*args, **kwargs)  # raises StopFutureHandlers: memory is the only place

    def receive_data_chunk(self, raw_data, start):
        from django.conf import settings

        self.received += len(raw_data)
        if self.received > settings.FILE_UPLOAD_MAX_MEMORY_SIZE:
            oversized = getattr(self.request, "oversized_uploads", [])
            oversized.append(self.field_name)
            self.request.oversized_uploads = oversized
            raise SkipFile
        return super().receive_data_chunk(raw_data, start)

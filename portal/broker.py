"""The file broker of the embedded default (`CELERY_BROKER_URL=filesystem://`), made safe to share.

kombu's filesystem transport writes a message in place, and a worker may take the file while it
is still being written, read half a message and stop consuming. Here a message is written
under a name no reader looks for and renamed into the queue whole (a rename is atomic).
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel


def use_whole_message_file_broker() -> None:
    TRANSPORT_ALIASES["filesystem"] = "portal.broker:Transport"

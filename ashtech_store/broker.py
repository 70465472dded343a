"""kombu's ``filesystem://`` transport (the embedded broker of ``make run``),
with atomic writes.

kombu creates a message file, then locks and writes it; a worker listing the
folder in between moves the empty file away and fails to decode it, which
stops the worker (seen in ``make run`` at start-up, when beat sends several
tasks at once). Here a message is written under a name the readers ignore and
renamed into place (``os.replace`` is atomic on POSIX), so a reader only ever
sees complete messages. ``ashtech_store.celery`` registers it for the
``filesystem://`` URL.
"""

from __future__ import annotations

import os
import uuid

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        final = os.path.join(
            self.data_folder_out, f"{filesystem.monotonic() * 1000:.0f}_{uuid.uuid4()}.{queue}.msg"
        )
        # Not "<name>.<queue>.msg": readers skip it until it is renamed.
        partial = os.path.join(self.data_folder_out, f"partial-{uuid.uuid4()}")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


ALIAS = "ashtech_store.broker:Transport"

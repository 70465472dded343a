"""The embedded broker of ``make run`` (kombu's filesystem transport, with
atomic writes): a worker never reads a message before it is whole."""

import threading
from queue import Empty

from kombu import Connection
from kombu.transport import resolve_transport

from ashtech_store import celery  # noqa: F401 - registers the transport
from ashtech_store.broker import Transport


def test_filesystem_urls_use_the_atomic_transport():
    assert resolve_transport("filesystem") is Transport


def test_readers_never_see_a_half_written_message(tmp_path):
    options = {
        "data_folder_in": str(tmp_path),
        "data_folder_out": str(tmp_path),
        "control_folder": str(tmp_path / "control"),
    }
    payload = {"body": "x" * 200_000}
    sent, got, errors = 300, [], []

    def write():
        with Connection("filesystem://", transport_options=options) as conn:
            channel = conn.default_channel
            for _ in range(sent):
                channel._put("q", payload)

    def read():
        with Connection("filesystem://", transport_options=options) as conn:
            channel = conn.default_channel
            while len(got) < sent and not errors:
                try:
                    got.append(channel._get("q"))
                except Empty:
                    continue
                except Exception as exc:  # a half-written message fails to decode
                    errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    writer = threading.Thread(target=write)
    for thread in [*readers, writer]:
        thread.start()
    for thread in [writer, *readers]:
        thread.join(timeout=60)
    assert not errors, errors[:1]
    assert len(got) >= sent and all(message == payload for message in got)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("partial-")]

"""Fixtures shared by the provider tests."""

import pytest

from payments.models import PaymentEvent


class QueuedCallbacks:
    """The stored callbacks the intake handed to the worker queue (valid and
    matched to a payment), oldest first — read from the journal, so the tests
    drive ``services.process_callback`` themselves, as the worker would."""

    def _ids(self) -> list[int]:
        rows = PaymentEvent.objects.filter(
            kind=PaymentEvent.Kind.CALLBACK, valid=True, payment__isnull=False
        ).order_by("id")
        return list(rows.values_list("pk", flat=True))

    def __getitem__(self, index: int) -> int:
        return self._ids()[index]

    def __len__(self) -> int:
        return len(self._ids())

    def __eq__(self, other) -> bool:
        return self._ids() == list(other)


@pytest.fixture
def queued_callbacks():
    return QueuedCallbacks()

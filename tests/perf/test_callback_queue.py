"""The stored callback is the queue (no Celery publish per callback).

* The intake stores the row (``processed_at`` empty) and wakes the drain at
  most once per ``DRAIN_WINDOW``: one publish for a burst of callbacks.
* The drain acts on each queued row once, oldest first, and marks it.
* The intake stays within its query budget.
"""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from payments.models import PaymentEvent
from payments.services import callbacks
from tests.support.factories import make_payment

pytestmark = pytest.mark.django_db(transaction=True)


def _body(payment, status: str) -> str:
    return json.dumps(
        {
            "date": "2023-10-29 09:46:27+00",
            "response_code": "00",
            "token": "",
            "montant": str(payment.amount),
            "status": status,
            "custom_data": [
                {"keyof_customdata": "transaction_id", "valueof_customdata": str(payment.reference)}
            ],
            "transaction_id": str(payment.reference),
        }
    )


def _post(client, payment, status: str):
    return client.post(
        reverse("payments:callback", args=["ligdicash"]),
        data=_body(payment, status),
        content_type="application/json",
    )


def test_a_burst_of_callbacks_wakes_the_drain_once(client):
    payments = [make_payment(provider="ligdicash") for _ in range(3)]
    with mock.patch("payments.tasks.drain_callbacks.apply_async") as publish:
        for payment in payments:
            assert _post(client, payment, "completed").status_code == 200
    assert publish.call_count == 1
    assert publish.call_args.kwargs == {"countdown": callbacks.DRAIN_WINDOW}
    queued = callbacks.queued_callbacks().order_by("id")
    assert [e.payment_id for e in queued] == [p.pk for p in payments]


def test_the_drain_acts_on_each_queued_callback_once(client):
    payments = [make_payment(provider="ligdicash") for _ in range(2)]
    with mock.patch("payments.tasks.drain_callbacks.apply_async"):
        for payment in payments:
            _post(client, payment, "completed")
        _post(client, payments[0], "completed")  # a replay: not queued again
    with mock.patch.object(callbacks, "process_callback") as act:
        assert callbacks.drain_callbacks() == 2
        assert callbacks.drain_callbacks() == 0
    assert [c.args[0] for c in act.call_args_list] == list(
        PaymentEvent.objects.filter(kind="callback").order_by("id").values_list("pk", flat=True)
    )
    assert not callbacks.queued_callbacks().exists()


def test_a_crash_while_acting_is_journalled_and_the_drain_goes_on(client):
    payments = [make_payment(provider="ligdicash") for _ in range(2)]
    with mock.patch("payments.tasks.drain_callbacks.apply_async"):
        for payment in payments:
            _post(client, payment, "completed")
    with mock.patch.object(callbacks, "process_callback", side_effect=[RuntimeError("boom"), None]):
        assert callbacks.drain_callbacks() == 2
    assert (
        PaymentEvent.objects.filter(kind="error", message__startswith="handling callback").count()
        == 1
    )


def test_broker_down_loses_nothing(client):
    payment = make_payment(provider="ligdicash")
    with mock.patch(
        "payments.tasks.drain_callbacks.apply_async", side_effect=OSError("broker down")
    ):
        assert _post(client, payment, "completed").status_code == 200
    assert callbacks.queued_callbacks().count() == 1  # the beat's drain acts on it


def test_intake_query_budget(client):
    payment = make_payment(provider="ligdicash")
    with mock.patch("payments.tasks.drain_callbacks.apply_async"):
        _post(client, payment, "pending")
        with CaptureQueriesContext(connection) as new:
            _post(client, payment, "completed")
        with CaptureQueriesContext(connection) as duplicate:
            _post(client, payment, "completed")
    assert len(new) <= 4 and len(duplicate) <= 4, (
        [q["sql"] for q in new],
        [q["sql"] for q in duplicate],
    )

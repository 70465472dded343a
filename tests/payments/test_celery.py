"""Celery settings and task behaviour."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ashtech_store.celery import app
from payments import services, tasks
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.providers.base import Outcome, StatusResult
from shop import emails
from tests.support.factories import make_order, make_payment, make_product
from tests.support.kits.ligdicash import LigdicashKit

KIT = LigdicashKit()


def test_payment_tasks_ack_late_and_requeue_on_worker_loss():
    assert app.conf.task_acks_late is False  # per task: ashtech_store/queues.py ACKS_LATE
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    for task in (
        tasks.poll_payment,
        tasks.process_callback,
        tasks.drain_callbacks,
        tasks.sweep_payments,
    ):
        assert task.acks_late is True


def test_no_delay_exceeds_a_quarter_of_the_visibility_timeout():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    longest = max(
        max(settings.PAYMENT_POLL_BACKOFF),
        tasks.RETRY["retry_backoff_max"],
        settings.PAYMENT_SWEEP_INTERVAL,
    )
    assert longest < visibility / 4


def test_time_limits_cover_the_http_timeouts():
    connect, read = settings.PAYMENT_HTTP_TIMEOUT
    assert connect <= 5 and read <= 20
    assert app.conf.task_soft_time_limit > connect + read
    assert app.conf.task_time_limit == app.conf.task_soft_time_limit + 10


def test_the_sweep_runs_from_one_beat_schedule():
    entries = [
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "payments.tasks.sweep_payments"
    ]
    assert len(entries) == 1 and entries[0]["schedule"] <= 60


def test_backoff_grows_is_capped_and_respects_the_provider_floor():
    from payments.providers import get_provider

    provider = get_provider("ligdicash")
    delays = [services.poll_delay(n, provider) for n in range(12)]
    assert delays[0] >= provider.min_poll_interval
    assert max(delays) <= max(settings.PAYMENT_POLL_BACKOFF)
    assert delays[5] > delays[1]
    assert services.poll_delay(0, provider, retry_after=90) >= 90


@pytest.fixture
def published():
    """Tasks really published to the broker (Celery's after_task_publish signal)."""
    from celery.signals import after_task_publish

    sent: list[tuple[str, tuple]] = []

    def record(sender=None, headers=None, body=None, **kwargs):
        sent.append((sender, tuple(body[0]) if body else ()))

    after_task_publish.connect(record, weak=False)
    yield sent
    after_task_publish.disconnect(record)


@pytest.mark.django_db(transaction=True)
def test_no_task_is_sent_when_the_transaction_rolls_back(published):
    payment = make_payment()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.apply_status(payment.pk, StatusResult(Outcome.PENDING), source="poll")
        raise RuntimeError("boom after the enqueue was requested")
    assert published == []
    services.apply_status(payment.pk, StatusResult(Outcome.PENDING), source="poll")
    payment.refresh_from_db()
    assert published == [
        ("payments.tasks.poll_payment", (payment.pk, payment.next_check_at.isoformat()))
    ]


@pytest.mark.django_db(transaction=True)
def test_poll_task_twice_is_idempotent(rsps, mailoutbox, queued_mail):
    KIT.mock_initiate_ok(rsps)
    payment = services.start_payment(make_order((make_product(), 1)), "ligdicash", "hosted")
    KIT.mock_status(rsps, payment, "succeeded")
    assert tasks.poll_payment.apply(args=(payment.pk,)).get() == "succeeded"
    assert tasks.poll_payment.apply(args=(payment.pk,)).get() == "succeeded"
    assert queued_mail.run() == 1
    assert len(mailoutbox) == 1
    assert tasks.poll_payment.apply(args=(999999,)).get() == "missing"


@pytest.mark.django_db(transaction=True)
def test_crash_while_handling_a_callback_keeps_the_raw_row_and_the_traceback(
    rsps, client, monkeypatch, queued_mail
):
    KIT.mock_initiate_ok(rsps)
    payment = services.start_payment(make_order((make_product(), 1)), "ligdicash", "hosted")
    body, headers = KIT.callback(payment)
    client.post("/payments/callback/ligdicash/", data=body, content_type="application/json")
    event = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
    # The status API answers garbage that makes the e-mail step crash: the
    # fault is injected at the e-mail backend, outside our code.
    KIT.mock_status(rsps, payment, "succeeded")
    monkeypatch.setattr(
        "django.core.mail.backends.locmem.EmailBackend.send_messages",
        lambda *a: (_ for _ in ()).throw(RuntimeError("smtp down")),
    )
    result = tasks.process_callback.apply(args=(event.pk,))
    # e-mail failures are contained: the payment is paid (the worker sends
    # the e-mail after commit) and the sweep retries the e-mail
    assert result.get() == "succeeded"
    queued_mail.run()
    assert PaymentEvent.objects.filter(pk=event.pk).exists()
    payment.refresh_from_db()
    assert payment.order.confirmation_sent_at is None
    monkeypatch.undo()
    services.sweep(now=timezone.now() + emails.RETRY_DELAY + timedelta(seconds=1))
    queued_mail.run()
    payment.order.refresh_from_db()
    assert payment.order.confirmation_sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_crash_in_status_handling_rolls_back_and_is_journalled(rsps, client):
    KIT.mock_initiate_ok(rsps)
    payment = services.start_payment(make_order((make_product(), 1)), "ligdicash", "hosted")
    body, _ = KIT.callback(payment)
    client.post("/payments/callback/ligdicash/", data=body, content_type="application/json")
    event = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
    Payment.objects.filter(pk=payment.pk).update(provider="nonexistent")  # registry lookup fails
    from payments.providers import UnknownProvider

    with pytest.raises(UnknownProvider):
        tasks.process_callback.apply(args=(event.pk,), throw=True)
    failure = PaymentEvent.objects.filter(
        kind=PaymentEvent.Kind.ERROR, message__startswith="handling callback"
    ).latest("id")
    assert "Traceback" in failure.data["traceback"]
    Payment.objects.filter(pk=payment.pk).update(provider="ligdicash")
    KIT.mock_status(rsps, payment, "succeeded")
    assert tasks.process_callback.apply(args=(event.pk,)).get() == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_sweep_requeues_overdue_payments_once_and_expires_abandoned_orders(rsps):
    KIT.mock_initiate_ok(rsps)
    payment = services.start_payment(make_order((make_product(stock=2), 1)), "ligdicash", "hosted")
    Payment.objects.filter(pk=payment.pk).update(
        next_check_at=timezone.now() - timedelta(minutes=10)
    )
    assert services.sweep().enqueued == [payment.pk]
    assert services.sweep().enqueued == []
    # An order whose only attempt failed to start keeps its stock until the TTL.
    product = make_product(stock=1)
    order = make_order((product, 1))
    type(order).objects.filter(pk=order.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.PAYMENT_TTL + 5),
        reserved_until=timezone.now() - timedelta(seconds=5),
    )
    assert services.sweep().orders_expired == 1
    product.refresh_from_db()
    assert product.stock == 1


@pytest.mark.django_db(transaction=True)
def test_no_payment_stays_pending_past_its_bound(rsps):
    """After a sweep + poll of an overdue payment, none is left."""
    KIT.mock_initiate_ok(rsps)
    payment = services.start_payment(make_order((make_product(), 1)), "ligdicash", "hosted")
    Payment.objects.filter(pk=payment.pk).update(deadline=timezone.now() - timedelta(minutes=20))
    assert services.overdue_pending().count() == 1
    KIT.mock_status(rsps, payment, "pending")
    from django.core.management import call_command

    call_command("recheck_payment", "--overdue")
    assert services.overdue_pending().count() == 0
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED


@pytest.mark.django_db(transaction=True)
def test_a_rescheduled_payment_keeps_a_single_poll_chain(rsps):
    KIT.mock_initiate_ok(rsps)
    payment = services.start_payment(make_order((make_product(), 1)), "ligdicash", "hosted")
    first_schedule = payment.next_check_at.isoformat()
    KIT.mock_status(rsps, payment, "pending")
    services.check_payment(payment.pk, source="staff")  # reschedules
    assert tasks.poll_payment.apply(args=(payment.pk, first_schedule)).get() == "superseded"
    payment.refresh_from_db()
    assert (
        tasks.poll_payment.apply(args=(payment.pk, payment.next_check_at.isoformat())).get()
        == "pending"
    )

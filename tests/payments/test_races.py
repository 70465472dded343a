"""Concurrency on PostgreSQL with real threads.

Each race runs 20 times; the provider's status API answers slowly (a sleep
in the ``responses`` callback) so the threads really overlap.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse

from payments import services
from payments.models import Payment, PaymentEvent, PaymentStatus
from shop.models import Order, Product
from tests.support.factories import assert_stock_invariant, make_order, make_product
from tests.support.kits.ligdicash import LigdicashKit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ITERATIONS = 20
KIT = LigdicashKit()


def run_together(*targets) -> list[BaseException]:
    """Start every target at the same moment; return their exceptions."""
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def wrap(target):
        try:
            barrier.wait()
            target()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def slow_status(payment: Payment, outcome: str = "succeeded"):
    body = KIT.status_body(payment, outcome)

    def answer(request):
        time.sleep(0.05)
        import json

        return 200, {}, json.dumps(body)

    return answer


def new_payment(rsps) -> Payment:
    KIT.mock_initiate_ok(rsps)
    order = make_order((make_product(stock=3), 1))
    return services.start_payment(order, "ligdicash", "hosted")


def successes(payment: Payment) -> int:
    return payment.events.filter(
        kind=PaymentEvent.Kind.DECISION, message__startswith="succeeded"
    ).count()


@pytest.mark.parametrize("iteration", range(ITERATIONS))
def test_callback_return_and_poll_at_once_give_one_transition(rsps, iteration, queued_mail):
    payment = new_payment(rsps)
    rsps.add_callback("GET", KIT.status_url(payment), callback=slow_status(payment))
    mail.outbox.clear()
    errors = run_together(
        lambda: services.check_payment(payment.pk, source="callback"),
        lambda: services.check_payment(payment.pk, source="return"),
        lambda: services.check_payment(payment.pk, source="poll"),
    )
    assert not errors
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert successes(payment) == 1
    assert queued_mail.names() == ["send_order_confirmation"]
    queued_mail.run()
    assert len(mail.outbox) == 1
    order = Order.objects.get(pk=payment.order_id)
    assert order.status == Order.Status.PAID and order.stock_reserved
    assert Product.objects.get(pk=order.lines.get().product_id).stock == 2


@pytest.mark.parametrize("iteration", range(ITERATIONS))
def test_ten_identical_callbacks_at_once_give_one_transition(rsps, iteration, queued_mail):
    payment = new_payment(rsps)
    rsps.add_callback("GET", KIT.status_url(payment), callback=slow_status(payment))
    body, headers = KIT.callback(payment, "succeeded")
    statuses: list[int] = []
    url = reverse("payments:callback", args=["ligdicash"])

    def deliver():
        statuses.append(Client().post(url, data=body, content_type="application/json").status_code)

    assert not run_together(*[deliver] * 10)
    assert statuses == [200] * 10
    assert (
        PaymentEvent.objects.filter(
            kind=PaymentEvent.Kind.CALLBACK, dedup_key__isnull=False
        ).count()
        == 1
    )
    events = list(
        PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK).values_list("pk", "deliveries")
    )
    assert len(events) == 1 and events[0][1] == 10, (
        "every delivery is counted on the one stored row"
    )
    mail.outbox.clear()
    assert not run_together(*[lambda: services.process_callback(events[0][0])] * 10)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and successes(payment) == 1
    assert queued_mail.names() == ["send_order_confirmation"]
    queued_mail.run()
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("iteration", range(ITERATIONS))
def test_the_same_poll_twice_at_once_gives_one_transition(rsps, iteration):
    payment = new_payment(rsps)
    rsps.add_callback("GET", KIT.status_url(payment), callback=slow_status(payment, "failed"))
    errors = run_together(
        lambda: services.check_payment(payment.pk), lambda: services.check_payment(payment.pk)
    )
    assert not errors
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert (
        payment.events.filter(kind=PaymentEvent.Kind.DECISION, message__startswith="failed").count()
        == 1
    )
    assert payment.events.filter(message="order stock released").count() == 1
    assert Product.objects.get(pk=payment.order.lines.get().product_id).stock == 3


def test_two_sweeps_at_once_enqueue_each_due_payment_once(rsps):
    KIT.mock_initiate_ok(rsps)
    due = [
        services.start_payment(make_order((make_product(), 1)), "ligdicash", "hosted")
        for _ in range(12)
    ]
    from datetime import timedelta

    from django.utils import timezone

    Payment.objects.filter(pk__in=[p.pk for p in due]).update(
        next_check_at=timezone.now() - timedelta(minutes=5)
    )
    reports = []
    errors = run_together(
        lambda: reports.append(services.sweep()), lambda: reports.append(services.sweep())
    )
    assert not errors
    enqueued = [pk for report in reports for pk in report.enqueued]
    assert sorted(enqueued) == sorted(p.pk for p in due)
    assert services.sweep().enqueued == [], "leased: not due again at once"


@pytest.fixture(autouse=True)
def _stock_invariant():
    """checked after every test of this module."""
    yield
    assert_stock_invariant()

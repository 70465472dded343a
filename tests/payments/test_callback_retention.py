"""Callbacks that match no payment are purged by the sweep after a set number
of days, and a payment's admin page shows its callbacks collapsed (review
2026-12-03 F-07, G-16)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from payments.models import PaymentEvent
from payments.services import retention
from payments.services.sweep import sweep
from tests.support.factories import make_order, make_payment, make_product

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def callback(payment=None, age: timedelta = timedelta(0), **extra) -> PaymentEvent:
    event = PaymentEvent.objects.create(
        payment=payment,
        provider="lengopay",
        kind=PaymentEvent.Kind.CALLBACK,
        message=extra.pop("message", "callback received"),
        body=b'{"pay_id": "x"}' * 100,
        valid=True,
        **extra,
    )
    PaymentEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - age)
    return event


def test_the_sweep_purges_unmatched_callbacks_older_than_the_retention(settings):
    settings.CALLBACK_UNMATCHED_RETENTION_DAYS = 3
    payment = make_payment(make_order((make_product(), 1)))
    old = callback(age=3 * DAY + timedelta(minutes=1), processed_at=timezone.now())
    young = callback(age=2 * DAY)
    old_but_linked = callback(payment, age=30 * DAY)

    report = sweep()

    assert report.callbacks_purged == 1
    remaining = set(PaymentEvent.objects.values_list("pk", flat=True))
    assert old.pk not in remaining
    assert {young.pk, old_but_linked.pk} <= remaining


def test_the_retention_never_ends_before_the_orphan_window(settings):
    settings.CALLBACK_UNMATCHED_RETENTION_DAYS = 0
    settings.PAYMENT_ORPHAN_WINDOW = 2 * 24 * 3600
    kept = callback(age=DAY)

    assert retention.purge_unmatched_callbacks() == 0
    assert PaymentEvent.objects.filter(pk=kept.pk).exists()
    assert retention.retention() == 2 * DAY


def test_a_purge_is_done_in_batches():
    for _ in range(5):
        callback(age=40 * DAY)

    assert retention.purge_unmatched_callbacks(batch=3) == 3
    assert retention.purge_unmatched_callbacks(batch=3) == 2


# --- G-16: a flood does not bury the journal -----------------------------------
def test_a_payment_page_shows_its_callbacks_collapsed_and_the_journal_keeps_each(admin_client):
    payment = make_payment(make_order((make_product(), 1)))
    PaymentEvent.objects.create(
        payment=payment,
        provider=payment.provider,
        kind=PaymentEvent.Kind.DECISION,
        message="pending -> succeeded (the real event)",
    )
    for n in range(60):
        callback(payment, age=timedelta(seconds=120 - n), message=f"flood {n}")
        PaymentEvent.objects.create(
            payment=payment,
            provider=payment.provider,
            kind=PaymentEvent.Kind.DECISION,
            message="callback: checked moments ago, next check brought forward",
        )

    page = admin_client.get(reverse("admin:payments_payment_change", args=[payment.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "60 notifications" in html and "flood 59" in html, "count and the last one"
    assert "flood 3" not in html and "checked moments ago" not in html
    assert "the real event" in html
    assert PaymentEvent.objects.filter(payment=payment).count() == 121
    assert f"?q={payment.reference}&amp;kind__exact=callback" in html


def test_the_link_lists_each_callback_of_the_payment(admin_client):
    payment = make_payment(make_order((make_product(), 1)))
    other = make_payment(make_order((make_product(), 1)))
    for n in range(3):
        callback(payment, message=f"mine {n}")
    callback(other, message="not mine")

    page = admin_client.get(
        reverse("admin:payments_paymentevent_changelist"),
        {"q": str(payment.reference), "kind__exact": "callback"},
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert all(f"mine {n}" in html for n in range(3)) and "not mine" not in html


def test_a_payment_without_callbacks_says_so(admin_client):
    payment = make_payment(make_order((make_product(), 1)))

    page = admin_client.get(reverse("admin:payments_payment_change", args=[payment.pk]))

    assert "aucune" in page.content.decode()

"""The periodic safety net (Celery beat): nothing stays pending forever.

Re-queues every check that is overdue (a dead worker or broker loses
nothing: the schedule is in the database), links callbacks that arrived
before their payment, queues unsent confirmation e-mails again, releases the
stock of orders whose reservation ran out, and re-evaluates route health
(a DOWN route is tried again on time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shop import services as shop_services
from shop import workflow
from shop.emails import queue_due_confirmations
from shop.locks import try_lock_order
from shop.models import Order

from ..models import Payment, PaymentStatus
from . import health
from .callbacks import link_orphan_callbacks
from .retention import purge_unmatched_callbacks
from .schedule import lease_and_poll


@dataclass
class SweepReport:
    enqueued: list[int]
    callbacks_linked: int = 0
    emails: int = 0
    orders_expired: int = 0
    callbacks_purged: int = 0
    routes_changed: int = 0


def sweep(now=None, lease_seconds: int = 60, batch: int = 200) -> SweepReport:
    """Re-queue every pending payment whose next check is overdue, once.

    ``skip_locked`` plus moving ``next_check_at`` forward by a lease make two
    sweeps at once enqueue each payment once. Also retries unsent
    confirmation e-mails and expires unpaid orders whose stock is still held
    with no live attempt.
    """
    now = now or timezone.now()
    overdue = now - timedelta(seconds=settings.PAYMENT_SWEEP_GRACE)
    ids = lease_and_poll(
        Payment.objects.filter(
            Q(status=PaymentStatus.PENDING) | Q(watch_until__gte=now),
            needs_review=False,
            next_check_at__lte=overdue,
        ),
        now + timedelta(seconds=lease_seconds),
        batch,
    )
    report = SweepReport(enqueued=ids, callbacks_linked=len(link_orphan_callbacks(now=now)))
    report.emails = queue_due_confirmations(now)  # sent by the worker, outside any lock
    report.orders_expired = expire_stale_orders(now)
    report.callbacks_purged = purge_unmatched_callbacks(now)  # services/retention.py
    report.routes_changed = health.evaluate_all(now)  # services/health.py
    return report


def expire_stale_orders(now) -> int:
    """Release stock of unpaid orders with no live attempt after PAYMENT_TTL
    (e.g. the provider refused to start and the shopper left)."""
    cutoff = now - timedelta(seconds=settings.PAYMENT_TTL)
    # An order's hold has one lifetime (``reserved_until``); older orders
    # without one fall back to their age.
    held_too_long = Q(reserved_until__lt=now) | Q(
        reserved_until__isnull=True, created_at__lt=cutoff
    )
    candidates = Order.objects.filter(
        held_too_long, status__in=workflow.EXPIRABLE, stock_reserved=True
    ).exclude(payments__status=PaymentStatus.PENDING)
    expired = 0
    for order_id in candidates.values_list("pk", flat=True)[:100]:
        with transaction.atomic():
            order = try_lock_order(order_id)
            if order is None or order.status not in workflow.EXPIRABLE:
                continue
            if order.payments.filter(status=PaymentStatus.PENDING).exists():
                continue
            expired += shop_services.release_stock(order)
            workflow.set_status(
                order, Order.Status.EXPIRED, workflow.EXPIRY, note="stock hold ran out"
            )
    return expired


def overdue_pending(bound: timedelta = timedelta(minutes=15)):
    """Payments still pending past their deadline + bound."""
    return Payment.objects.filter(
        status=PaymentStatus.PENDING, needs_review=False, deadline__lt=timezone.now() - bound
    )

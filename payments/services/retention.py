"""How long callbacks that match no payment are kept.

Every callback is stored before it is answered (the journal and the queue),
so a flood of well-formed callbacks for payments we never had grows the
table: the review of 2026-12-03 measured about 1.1 GB an hour from one
address within the rate limit. Such a row is useful only while it may still
be linked to its payment (``PAYMENT_ORPHAN_WINDOW``, a LengoPay ``pay_id``
that came before the create answer) and for a short inquiry after that; the
sweep deletes it ``CALLBACK_UNMATCHED_RETENTION_DAYS`` days after it came
(never before the orphan window ends). Callbacks linked to a payment are part
of its journal and are never purged.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..models import PaymentEvent


def retention() -> timedelta:
    """How long an unmatched callback is kept: the setting, at least the orphan window."""
    days = timedelta(days=settings.CALLBACK_UNMATCHED_RETENTION_DAYS)
    return max(days, timedelta(seconds=settings.PAYMENT_ORPHAN_WINDOW))


def purge_unmatched_callbacks(now=None, batch: int = 5000) -> int:
    """Delete up to ``batch`` callbacks older than ``retention()`` that no
    payment holds, oldest first; returns how many. Safe to run twice at once
    (a row deleted by the other run is simply not counted)."""
    cutoff = (now or timezone.now()) - retention()
    ids = list(
        PaymentEvent.objects.filter(
            kind=PaymentEvent.Kind.CALLBACK, payment__isnull=True, created_at__lt=cutoff
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:batch]
    )
    if not ids:
        return 0
    deleted, _ = PaymentEvent.objects.filter(pk__in=ids, payment__isnull=True).delete()
    return deleted

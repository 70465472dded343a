"""The shop owner's numbers, computed by aggregates in the database: the
number of queries is fixed, whatever the number of orders."""

from __future__ import annotations

from datetime import timedelta
from statistics import median

from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from payments.models import Payment, PaymentStatus
from shop.models import Order

from .models import Refund


def numbers(now=None) -> dict:
    now = now or timezone.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = now - timedelta(days=30)
    paid = Q(paid_at__isnull=False)
    orders = Order.objects.filter(paid).aggregate(
        sales_today=Sum("total", filter=Q(paid_at__gte=today)),
        sales_30=Sum("total", filter=Q(paid_at__gte=month)),
        paid_today=Count("pk", filter=Q(paid_at__gte=today)),
        paid_30=Count("pk", filter=Q(paid_at__gte=month)),
        # Money taken at the door (pay on delivery; at most one row per order,
        # so the join adds no order twice), shown as "cash" beside the providers.
        cash_today=Sum("collections__amount", filter=Q(collections__collected_at__gte=today)),
        cash_30=Sum("collections__amount", filter=Q(collections__collected_at__gte=month)),
        cash_count_30=Count("collections", filter=Q(collections__collected_at__gte=month)),
    )
    cash = {
        "today": orders.pop("cash_today"),
        "last_30": orders.pop("cash_30"),
        "count_30": orders.pop("cash_count_30"),
    }
    done = Q(status=Refund.Status.SUCCEEDED)
    refunds = Refund.objects.aggregate(
        today=Sum("amount", filter=done & Q(finalised_at__gte=today)),
        last_30=Sum("amount", filter=done & Q(finalised_at__gte=month)),
    )
    per_provider = list(
        Payment.objects.filter(created_at__gte=month)
        .values("provider")
        .annotate(
            attempts=Count("pk"),
            succeeded=Count("pk", filter=Q(status=PaymentStatus.SUCCEEDED)),
            open=Count("pk", filter=Q(status=PaymentStatus.PENDING)),
            flagged=Count("pk", filter=Q(needs_review=True)),
        )
        .order_by("provider")
    )
    # Median start → final per provider: one query of durations (bounded by the 30-day window).
    durations: dict[str, list[float]] = {}
    for provider, seconds in (
        Payment.objects.filter(created_at__gte=month, finalised_at__isnull=False)
        .annotate(d=F("finalised_at") - F("created_at"))
        .values_list("provider", "d")
        .iterator()
    ):
        durations.setdefault(provider, []).append(seconds.total_seconds())
    top = max([row["attempts"] for row in per_provider] or [1])
    for row in per_provider:
        row["success_rate"] = (
            round(100 * row["succeeded"] / row["attempts"]) if row["attempts"] else 0
        )
        row["median_seconds"] = (
            round(median(durations[row["provider"]])) if durations.get(row["provider"]) else None
        )
        row["bar"] = round(200 * row["attempts"] / top)
        row["bar_ok"] = round(200 * row["succeeded"] / top)
    return {"orders": orders, "refunds": refunds, "cash": cash, "providers": per_provider}

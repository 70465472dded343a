"""Route health as a test sets it: one route's stored state, the cached
snapshot forgotten so the next page reads it."""

from __future__ import annotations

from django.utils import timezone

from payments.models import RouteHealth
from payments.routing import Route
from payments.services import health


def set_state(route: Route, state: str, rate=None, paused=False) -> None:
    RouteHealth.objects.update_or_create(
        key=route.key,
        defaults={
            "provider": route.provider,
            "method": route.method,
            "wallet": route.wallet,
            "country": route.country,
            "currency": route.currency,
            "state": state,
            "since": timezone.now(),
            "rate": rate,
            "paused": paused,
        },
    )
    health.forget_snapshot()

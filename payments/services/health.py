"""Route health, stored: outcomes recorded, routes evaluated, changes kept.

``payments.routing`` decides; this module feeds it from the database and
keeps what it decides:

* ``record_outcome(payment_id)`` — after a payment is final (``apply.py``
  calls it once the transaction that finalised it has committed, so no lock
  is held): classify it, keep one ``RouteOutcome`` per attempt, re-evaluate
  its route. ``record_initiation_error`` does the same at once for an
  initiation left unknown (its final outcome may come only at the deadline).
* ``evaluate_route`` / ``evaluate_all`` (the periodic sweep) — apply
  ``routing.evaluate``; a change is written with a conditional UPDATE on
  ``version`` (two evaluations at once record it once), kept as a
  ``RouteChange``, clears the pay page's cached snapshot, and a move to DOWN
  from a working state writes one log line and one staff alert.
* ``snapshot()`` — every route's state for the pay page: one cache read,
  one query when the cache is cold, never a query per route.
* ``pause`` / ``resume`` — staff decisions, recorded with their author.

Nothing here changes a payment or an order: health only decides what is
offered and where a new attempt goes.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from shop.emails import alert_staff

from .. import routing
from ..models import Payment, PaymentStatus, ReviewCode, RouteChange, RouteHealth, RouteOutcome
from ..providers import UnknownProvider, get_provider
from ..routing import Health, Kind, Observed, Route, Rules, State

log = logging.getLogger(__name__)

SNAPSHOT_KEY = "payments:route-health:v1"
# Cleared on every change; the bound only matters with a per-process cache
# (make run's locmem), where another process sees a change within it.
SNAPSHOT_SECONDS = 30
# Exploration draws (``routing.choose``); tests use their own seeded generator.
_rng = random.Random()


@dataclass(frozen=True)
class Stored:
    """A route's stored health as the pay page reads it."""

    state: State
    paused: bool
    priority: int
    rate: float | None
    since: datetime | None


# --- what an attempt said ------------------------------------------------------------
def route_of(payment: Payment) -> Route:
    return Route(
        payment.provider,
        payment.method,
        payment.wallet,
        payment.order.country,
        payment.currency,
    )


def _attempt(payment: Payment) -> routing.Attempt:
    try:
        method = get_provider(payment.provider).method(payment.method)
    except UnknownProvider:
        method = None
    return routing.Attempt(
        status=payment.status,
        flow=str(method.flow) if method else "",
        initiated=payment.initiated_at is not None,
        initiation_unknown=payment.initiation_unknown,
        unknown_at_deadline=payment.review_code == ReviewCode.UNKNOWN_AT_DEADLINE,
        watched=payment.watch_until is not None,
        has_page=bool(payment.redirect_url),
    )


def record_outcome(payment_id: int, now: datetime | None = None) -> None:
    """Classify a final attempt and re-evaluate its route. Never raises into
    the payment path: a failure here is logged and the sweep evaluates later."""
    try:
        payment = Payment.objects.select_related("order").get(pk=payment_id)
        if payment.status == PaymentStatus.PENDING:
            return
        kind, initiation_error = routing.classify(_attempt(payment))
        _keep(payment, kind, initiation_error, now or timezone.now())
        evaluate_route(route_of(payment), now)
    except Exception:
        log.exception("route health: outcome of payment %s not recorded", payment_id)


def record_initiation_error(payment_id: int, now: datetime | None = None) -> None:
    """An initiation without a readable answer (5xx, timeout): a technical
    failure now, corrected when the attempt is final (it may yet succeed)."""
    try:
        payment = Payment.objects.select_related("order").get(pk=payment_id)
        _keep(payment, Kind.TECHNICAL, True, now or timezone.now())
        evaluate_route(route_of(payment), now)
    except Exception:
        log.exception("route health: initiation error of payment %s not recorded", payment_id)


def _keep(payment: Payment, kind: Kind, initiation_error: bool, now: datetime) -> None:
    started = payment.created_at
    initiation_ms = None
    if payment.initiated_at and started:
        initiation_ms = max(0, int((payment.initiated_at - started).total_seconds() * 1000))
    final_seconds = None
    if payment.finalised_at and started:
        final_seconds = max(0, int((payment.finalised_at - started).total_seconds()))
    existing = RouteOutcome.objects.filter(payment=payment).first()
    if existing is not None:
        # An initiation error keeps its moment (it counts in the 5-minute
        # burst); the final class replaces the provisional one.
        existing.kind = kind
        existing.initiation_error = initiation_error or (
            existing.initiation_error and kind != Kind.SUCCESS
        )
        existing.initiation_ms = initiation_ms
        existing.final_seconds = final_seconds
        existing.save(update_fields=["kind", "initiation_error", "initiation_ms", "final_seconds"])
        return
    RouteOutcome.objects.create(
        payment=payment,
        route=route_of(payment).key,
        kind=kind,
        initiation_error=initiation_error,
        at=now,
        initiation_ms=initiation_ms,
        final_seconds=final_seconds,
    )


# --- evaluating --------------------------------------------------------------------
def _row(route: Route) -> RouteHealth:
    row, _ = RouteHealth.objects.get_or_create(
        key=route.key,
        defaults={
            "provider": route.provider,
            "method": route.method,
            "wallet": route.wallet,
            "country": route.country,
            "currency": route.currency,
        },
    )
    return row


def _health(row: RouteHealth) -> Health:
    return Health(State(row.state), row.since, row.backoff_step, row.window_start)


def observed(key: str, since: datetime, limit: int) -> list[Observed]:
    rows = RouteOutcome.objects.filter(route=key, at__gte=since).order_by("-at", "-id")[:limit]
    return [
        Observed(r.at, Kind(r.kind), r.initiation_error)
        for r in rows.only("at", "kind", "initiation_error")
    ]


def evaluate_route(
    route: Route, now: datetime | None = None, rules: Rules | None = None
) -> routing.Verdict:
    """Apply the rules to the route's recent outcomes and store the result."""
    now = now or timezone.now()
    rules = rules or Rules.from_settings()
    for _attempt_number in range(3):
        row = _row(route)
        health = _health(row)
        oldest = now - rules.window
        if health.since is not None:
            oldest = min(oldest, health.since)
        verdict = routing.evaluate(
            health, observed(row.key, oldest, rules.window_size * 3), now, rules
        )
        if _store(row, verdict, now):
            return verdict
    return verdict


def _store(row: RouteHealth, verdict: routing.Verdict, now: datetime) -> bool:
    """Write the verdict if nobody else did meanwhile; True when written."""
    new = verdict.health
    seen = verdict.figures
    with transaction.atomic():
        written = RouteHealth.objects.filter(pk=row.pk, version=row.version).update(
            state=new.state.value,
            since=new.since,
            backoff_step=new.backoff_step,
            window_start=new.window_start,
            rate=seen.rate,
            considered=seen.considered,
            consecutive=seen.consecutive,
            evaluated_at=now,
            version=F("version") + 1,
        )
        if not written:
            return False
        if verdict.changed:
            RouteChange.objects.create(
                route=row, old_state=row.state, new_state=new.state.value, reason=verdict.reason
            )
            transaction.on_commit(forget_snapshot)
            if new.state == State.DOWN:
                _tell_down(row, verdict, was=State(row.state))
    return True


def _tell_down(row: RouteHealth, verdict: routing.Verdict, was: State) -> None:
    """One log line on every move to DOWN; one staff alert when a working
    route goes down (a failed probe is logged, not mailed again)."""
    log.warning("route %s is DOWN: %s", row.key, verdict.reason)
    if was == State.PROBING:
        return
    subject = f"Payment route down: {row.provider} {row.wallet or row.method} {row.country}"
    body = (
        f"{row.key} moved from {was.value} to down: {verdict.reason}. New attempts go to the "
        "wallet's other routes; it is tried again on its own (Santé des paiements)."
    )
    transaction.on_commit(lambda: alert_staff(subject, body))


def evaluate_all(now: datetime | None = None) -> int:
    """Re-evaluate every known route (the sweep): DOWN routes reach PROBING
    on time, old failures leave the window. Returns how many changed."""
    rules = Rules.from_settings()
    now = now or timezone.now()
    # A route that is OK with no outcome in the window cannot change: skipped.
    recent = RouteOutcome.objects.filter(at__gte=now - rules.window).values("route")
    keys = RouteHealth.objects.filter(~Q(state=State.OK.value) | Q(key__in=recent))
    changed = 0
    for key in keys.values_list("key", flat=True):
        try:
            changed += evaluate_route(Route.from_key(key), now, rules).changed
        except Exception:
            log.exception("route health: %s not evaluated", key)
    return changed


# --- reading -----------------------------------------------------------------------
def snapshot() -> dict[str, Stored]:
    """Every stored route's health, from the cache (one query when cold)."""
    stored = cache.get(SNAPSHOT_KEY)
    if stored is None:
        stored = {
            key: Stored(State(state), paused, priority, rate, since)
            for key, state, paused, priority, rate, since in RouteHealth.objects.values_list(
                "key", "state", "paused", "priority", "rate", "since"
            )
        }
        cache.set(SNAPSHOT_KEY, stored, SNAPSHOT_SECONDS)
    return stored


def forget_snapshot() -> None:
    cache.delete(SNAPSHOT_KEY)


def probe_full(route: Route, since: datetime | None, rules: Rules | None = None) -> bool:
    """A PROBING route takes at most ``probe_attempts`` attempts."""
    rules = rules or Rules.from_settings()
    started = Payment.objects.filter(
        provider=route.provider,
        method=route.method,
        wallet=route.wallet,
        currency=route.currency,
        order__country=route.country,
    )
    if since is not None:
        started = started.filter(created_at__gte=since)
    return started.count() >= rules.probe_attempts


def rng() -> random.Random:
    return _rng


# --- staff ---------------------------------------------------------------------------
def pause(route: Route, by: str, note: str = "") -> None:
    _set_paused(route, True, by, note or "paused by staff")


def resume(route: Route, by: str, note: str = "") -> None:
    _set_paused(route, False, by, note or "resumed by staff")


def _set_paused(route: Route, paused: bool, by: str, reason: str) -> None:
    with transaction.atomic():
        row = _row(route)
        fields = {"paused": paused, "version": F("version") + 1}
        if not paused:
            # Resumed by a human: judged afresh from now on.
            fields.update(
                state=State.OK.value,
                since=timezone.now(),
                backoff_step=0,
                window_start=timezone.now(),
            )
        RouteHealth.objects.filter(pk=row.pk).update(**fields)
        RouteChange.objects.create(
            route=row,
            old_state=row.state,
            new_state="paused" if paused else State.OK.value,
            reason=reason[:300],
            by=by[:150],
        )
    forget_snapshot()


def set_priority(route: Route, priority: int) -> None:
    row = _row(route)
    RouteHealth.objects.filter(pk=row.pk).update(priority=priority, version=F("version") + 1)
    forget_snapshot()

"""Route health and route choice: pure functions over recorded outcomes.

The shopper picks a wallet (Orange Money, Wave…); the shop picks the
**route** that carries it: (provider, method, wallet, country, currency).
This module decides, without touching the database or the clock:

* ``classify`` — what a finished attempt says about its route: a success, a
  customer decline (PIN refused, no balance, refused or cancelled on the
  vendor's page: neutral), a technical failure (initiation refused, 5xx or
  timeout; status unknown until the deadline; a push still pending at the
  deadline) or abandoned (ended on our side before anything happened:
  neutral). Only successes and technical failures move a route.
* ``evaluate`` — the route's next state from its current one and its recent
  outcomes: OK → DEGRADED → DOWN → (after a backoff) PROBING → OK or DOWN.
  The thresholds are ``Rules`` (settings ``ROUTING_*``; README "Route
  health" says where each number comes from).
* ``rank`` and ``choose`` — the order in which a wallet's routes are tried,
  with a small seeded share of attempts sent to the second-best healthy
  route (exploration), never to a DOWN one.

``payments.services.health`` feeds these functions from the database and
stores what they decide; the payment's own status is never touched here:
health only decides what is offered and where a new attempt goes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings


class State(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
    PROBING = "probing"


class Kind(StrEnum):
    """What one finished attempt says about its route."""

    SUCCESS = "success"
    DECLINE = "decline"  # the shopper's or her bank's answer: neutral
    TECHNICAL = "technical"  # the route failed: counts against it
    ABANDONED = "abandoned"  # nothing reached the vendor, or we ended it: neutral


NEUTRAL = frozenset({Kind.DECLINE, Kind.ABANDONED})


@dataclass(frozen=True)
class Route:
    provider: str
    method: str
    wallet: str
    country: str
    currency: str

    @property
    def key(self) -> str:
        return ":".join((self.provider, self.method, self.wallet, self.country, self.currency))

    @classmethod
    def from_key(cls, key: str) -> Route:
        return cls(*key.split(":", 4))


@dataclass(frozen=True)
class Rules:
    """The numbers of the health rules (README "Route health")."""

    window_size: int = 20
    window: timedelta = timedelta(minutes=60)
    min_sample: int = 5
    degraded_consecutive: int = 3
    degraded_rate: float = 0.70
    down_consecutive: int = 5
    down_initiation_errors: int = 3
    down_initiation_window: timedelta = timedelta(minutes=5)
    down_rate: float = 0.40
    down_min_sample: int = 10
    probe_after: tuple[timedelta, ...] = (
        timedelta(minutes=15),
        timedelta(minutes=30),
        timedelta(minutes=60),
    )
    probe_attempts: int = 5
    probe_successes: int = 2
    explore_share: float = 0.10

    @classmethod
    def from_settings(cls) -> Rules:
        return cls(
            window_size=settings.ROUTING_WINDOW_SIZE,
            window=timedelta(minutes=settings.ROUTING_WINDOW_MINUTES),
            min_sample=settings.ROUTING_MIN_SAMPLE,
            degraded_consecutive=settings.ROUTING_DEGRADED_CONSECUTIVE,
            degraded_rate=settings.ROUTING_DEGRADED_RATE,
            down_consecutive=settings.ROUTING_DOWN_CONSECUTIVE,
            down_initiation_errors=settings.ROUTING_DOWN_INITIATION_ERRORS,
            down_initiation_window=timedelta(minutes=settings.ROUTING_DOWN_INITIATION_MINUTES),
            down_rate=settings.ROUTING_DOWN_RATE,
            down_min_sample=settings.ROUTING_DOWN_MIN_SAMPLE,
            probe_after=tuple(timedelta(minutes=m) for m in settings.ROUTING_PROBE_AFTER_MINUTES),
            probe_attempts=settings.ROUTING_PROBE_ATTEMPTS,
            probe_successes=settings.ROUTING_PROBE_SUCCESSES,
            explore_share=settings.ROUTING_EXPLORE_SHARE,
        )

    def backoff(self, step: int) -> timedelta:
        return self.probe_after[min(step, len(self.probe_after) - 1)]


# --- classifying a finished attempt ------------------------------------------------
@dataclass(frozen=True)
class Attempt:
    """What the payment row records of a finished attempt (no text is read)."""

    status: str  # PaymentStatus value
    flow: str  # Flow value of its method
    initiated: bool  # the provider's answer to the initiation was stored
    initiation_unknown: bool  # the initiation ended without a readable answer
    unknown_at_deadline: bool  # review code: status unknown at our deadline
    watched: bool  # ended on our side and watched (superseded, cancelled by us)
    has_page: bool  # a redirect flow got its page


def classify(attempt: Attempt) -> tuple[Kind, bool]:
    """The outcome class of a finished attempt, and whether it failed at
    initiation (those count towards "initiation errors within 5 min")."""
    if attempt.status == "succeeded":
        return Kind.SUCCESS, False
    if attempt.initiation_unknown or (not attempt.initiated and attempt.status == "failed"):
        # A 5xx, a timeout, an unreadable answer or a refusal of the create call.
        return Kind.TECHNICAL, True
    if not attempt.initiated:
        return Kind.ABANDONED, False  # ended before any answer, not by the vendor
    if attempt.unknown_at_deadline:
        return Kind.TECHNICAL, False  # the status API never answered until our deadline
    if attempt.status == "failed":
        if attempt.flow == "redirect" and not attempt.has_page:
            return Kind.TECHNICAL, False  # a page we could not send the shopper to
        return Kind.DECLINE, False  # refused by the shopper, her PIN or her balance
    if attempt.status == "cancelled":
        # Cancelled by the vendor (the shopper cancelled on its page): a decline;
        # by us (another method chosen, order cancelled): abandoned.
        return (Kind.ABANDONED if attempt.watched else Kind.DECLINE), False
    if attempt.status == "expired":
        if attempt.flow == "redirect":
            return Kind.ABANDONED, False  # a page she may never have opened
        return Kind.TECHNICAL, False  # a push or OTP still pending at the deadline
    return Kind.ABANDONED, False


# --- the state machine -------------------------------------------------------------
@dataclass(frozen=True)
class Observed:
    """One recorded outcome of a route."""

    at: datetime
    kind: Kind
    initiation_error: bool = False


@dataclass(frozen=True)
class Health:
    """A route's stored state."""

    state: State = State.OK
    since: datetime | None = None
    # How many DOWN periods in a row: picks the backoff (15, 30, 60 min).
    backoff_step: int = 0
    # Outcomes before this moment are forgotten (set on recovery, staff resume).
    window_start: datetime | None = None


@dataclass(frozen=True)
class Figures:
    """What the rules looked at (also shown to staff)."""

    considered: int = 0
    successes: int = 0
    consecutive: int = 0
    initiation_errors: int = 0

    @property
    def rate(self) -> float | None:
        return self.successes / self.considered if self.considered else None


@dataclass(frozen=True)
class Verdict:
    health: Health
    reason: str
    changed: bool
    figures: Figures


def figures(outcomes: Sequence[Observed], now: datetime, rules: Rules, start=None) -> Figures:
    """Count the judged outcomes (newest first): within the window (last
    ``window_size``, at most ``window`` old, none before ``start``), neutral
    ones left out."""
    oldest = now - rules.window
    if start is not None:
        oldest = max(oldest, start)
    recent = [o for o in outcomes if o.at >= oldest and o.kind not in NEUTRAL]
    recent.sort(key=lambda o: o.at, reverse=True)
    recent = recent[: rules.window_size]
    consecutive = 0
    for outcome in recent:
        if outcome.kind != Kind.TECHNICAL:
            break
        consecutive += 1
    burst = now - rules.down_initiation_window
    return Figures(
        considered=len(recent),
        successes=sum(1 for o in recent if o.kind == Kind.SUCCESS),
        consecutive=consecutive,
        initiation_errors=sum(1 for o in recent if o.initiation_error and o.at >= burst),
    )


def evaluate(health: Health, outcomes: Sequence[Observed], now: datetime, rules: Rules) -> Verdict:
    """The route's next state. Customer declines and abandoned attempts are
    never counted, so they never move a route."""
    if health.state == State.DOWN:
        return _while_down(health, outcomes, now, rules)
    if health.state == State.PROBING:
        return _while_probing(health, outcomes, now, rules)
    seen = figures(outcomes, now, rules, health.window_start)
    rate = seen.rate
    if seen.consecutive >= rules.down_consecutive:
        return _down(health, now, f"{seen.consecutive} technical failures in a row", seen, 0)
    if seen.initiation_errors >= rules.down_initiation_errors:
        minutes = int(rules.down_initiation_window.total_seconds() // 60)
        reason = f"{seen.initiation_errors} initiation errors within {minutes} min"
        return _down(health, now, reason, seen, 0)
    if rate is not None and seen.considered >= rules.down_min_sample and rate < rules.down_rate:
        return _down(health, now, _rate_reason(seen), seen, 0)
    if seen.consecutive >= rules.degraded_consecutive:
        reason = f"{seen.consecutive} technical failures in a row"
        return _move(health, State.DEGRADED, now, reason, seen)
    if rate is not None and seen.considered >= rules.min_sample and rate < rules.degraded_rate:
        return _move(health, State.DEGRADED, now, _rate_reason(seen), seen)
    return _move(health, State.OK, now, "recent outcomes are healthy", seen)


def _while_down(health, outcomes, now, rules) -> Verdict:
    seen = figures(outcomes, now, rules, health.window_start)
    wait = rules.backoff(health.backoff_step)
    if health.since is not None and now >= health.since + wait:
        reason = f"down for {int(wait.total_seconds() // 60)} min: trying again"
        return _move(health, State.PROBING, now, reason, seen)
    return Verdict(health, "still down", False, seen)


def _while_probing(health, outcomes, now, rules) -> Verdict:
    seen = figures(outcomes, now, rules, health.since)
    if seen.successes != seen.considered:  # any technical failure while probing
        step = health.backoff_step + 1
        wait = int(rules.backoff(step).total_seconds() // 60)
        return _down(health, now, f"failed while probing: down for {wait} min", seen, step)
    if seen.successes >= rules.probe_successes:
        reason = f"{seen.successes} successes while probing"
        recovered = Health(State.OK, now, 0, window_start=now)
        return Verdict(recovered, reason, True, seen)
    return Verdict(health, "probing", False, seen)


def _rate_reason(seen: Figures) -> str:
    return f"{seen.successes} successes out of {seen.considered} ({seen.rate:.0%})"


def _down(health: Health, now, reason: str, seen: Figures, step: int) -> Verdict:
    return Verdict(Health(State.DOWN, now, step, health.window_start), reason, True, seen)


def _move(health: Health, state: State, now, reason: str, seen: Figures) -> Verdict:
    if state == health.state:
        return Verdict(health, reason, False, seen)
    return Verdict(replace(health, state=state, since=now), reason, True, seen)


# --- choosing a route --------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """A route as the choice sees it."""

    route: Route
    state: State = State.OK
    paused: bool = False
    priority: int = 100  # staff pin: lower first
    order: int = 0  # the shop's default order (dedicated wallet methods first)
    rate: float | None = None  # technical success rate (for "the least bad")
    probe_full: bool = False  # PROBING with its probe attempts used up

    @property
    def usable(self) -> bool:
        return not self.paused and self.state != State.DOWN and not self.probe_full

    @property
    def shown_as(self) -> State:
        """What the shopper is told: PROBING is shown as DEGRADED."""
        if not self.usable:
            return State.DOWN
        return State.DEGRADED if self.state == State.PROBING else self.state


STATE_RANK = {State.OK: 0, State.PROBING: 1, State.DEGRADED: 1, State.DOWN: 3}


def rank(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Best first: usable before not, OK before DEGRADED/PROBING, then the
    staff pin, then the shop's default order (a fixed tie-break)."""
    return sorted(
        candidates,
        key=lambda c: (not c.usable, STATE_RANK[c.state], c.priority, c.order),
    )


def choose(candidates: Sequence[Candidate], rng: random.Random, rules: Rules) -> list[Route]:
    """The routes to try for one wallet, in order: the best usable one first,
    except that a share ``explore_share`` of the decisions go to the
    second-best when it is OK or PROBING (a recovered route is noticed). A
    DOWN, paused or fully probed route is never chosen; when none is usable
    the list is empty."""
    usable = [c for c in rank(candidates) if c.usable]
    if (
        len(usable) >= 2
        and usable[1].state in (State.OK, State.PROBING)
        and rng.random() < rules.explore_share
    ):
        usable[0], usable[1] = usable[1], usable[0]
    return [c.route for c in usable]


def least_bad(candidates: Sequence[Candidate]) -> Candidate | None:
    """When every route is DOWN: the one with the best recent rate (then the
    shop's order); a route paused by staff is never offered."""
    open_ = [c for c in candidates if not c.paused]
    if not open_:
        return None
    return min(open_, key=lambda c: (-(c.rate if c.rate is not None else 0.0), c.priority, c.order))


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0–1), None without values."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
    return ordered[index]

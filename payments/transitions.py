"""What happens to a payment when a provider answers: the state machine as data.

Pure: no database, no clock, no I/O. ``decide(state, result, order, source,
now)`` reads a snapshot of the payment and its order and returns a
``Decision``; ``payments.services.apply`` carries it out under lock. Every
rule of the payment's life is here, so it can be read — and is tested — as a
table (``tests/payments/test_transitions.py``).

Payment states::

    pending ──succeeded──▶ succeeded          (money checked; order paid once)
       │    ──failed─────▶ failed             (stock released once)
       │    ──expired────▶ expired            (the provider says so)
       │    ──cancelled──▶ cancelled
       └── our deadline ─▶ expired            (flagged when the answer was not definite;
                                               otherwise watched: the vendor may still take money)

    cancelled / expired (ended on our side) ── watched until the provider can
    no longer take money ──▶ a success then is flagged, never fulfilled

A final state never changes; anomalies set ``needs_review`` instead, with a
``ReviewCode`` (the text beside it is for people, never read by code). What
a provider reports on a success is stored as reported (``received_*``) by
the applier, whatever the decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .models import PaymentStatus, ReviewCode
from .providers.base import Outcome, StatusResult

# Who asked: the poller, the sweep and staff own the polling schedule; the
# others (return view, callback, supersede, initiation) only apply what they got.
SCHEDULING_SOURCES = frozenset({"poll", "sweep", "staff"})
# Sources that may re-ask the provider about an attempt that already ended.
REOPENING_SOURCES = frozenset({"staff", "callback", "return"})

OUTCOME_TO_STATUS = {
    Outcome.SUCCEEDED: PaymentStatus.SUCCEEDED,
    Outcome.FAILED: PaymentStatus.FAILED,
    Outcome.EXPIRED: PaymentStatus.EXPIRED,
    Outcome.CANCELLED: PaymentStatus.CANCELLED,
}
DEAD_AT_PROVIDER = frozenset({Outcome.FAILED, Outcome.EXPIRED, Outcome.CANCELLED})
NOT_DEFINITE = frozenset({Outcome.PENDING, Outcome.UNKNOWN})


class Action(StrEnum):
    NOTE = "note"  # journal only
    RESCHEDULE = "reschedule"  # still pending: next check after the back-off
    EXPIRE = "expire"  # our deadline passed
    FINALISE = "finalise"  # the provider says failed / expired / cancelled
    SUCCEED = "succeed"  # paid: the order is marked paid once
    HOLD_MISMATCH = "hold_mismatch"  # success with the wrong money: flagged, not paid
    LATE_SUCCESS = "late_success"  # success on an attempt that had ended: flagged
    STOP_WATCH = "stop_watch"  # an ended attempt the provider can no longer be paid on
    START_WATCH = "start_watch"  # an ended attempt to keep checking
    KEEP_WATCHING = "keep_watching"  # next slow check of an ended attempt
    WATCH_OVER = "watch_over"  # the watch ran out


@dataclass(frozen=True)
class PaymentState:
    status: str
    amount: int
    currency: str
    deadline: datetime
    watch_until: datetime | None = None
    needs_review: bool = False
    has_status_api: bool = True

    @property
    def is_final(self) -> bool:
        return self.status != PaymentStatus.PENDING

    def watched(self, now: datetime) -> bool:
        return self.watch_until is not None and self.watch_until >= now


@dataclass(frozen=True)
class OrderState:
    paid: bool
    stock_reserved: bool = True


@dataclass(frozen=True)
class Decision:
    action: Action
    message: str
    status: str | None = None  # the payment's new status, when it changes
    flag: str = ""  # the details for staff review, when the payment needs one
    code: ReviewCode | None = None  # why it needs review, as a code (set with ``flag``)
    watch: bool = False  # keep checking the attempt once it has ended
    reschedule: bool = False  # the next check is ours to schedule


def money_problems(state: PaymentState, result: StatusResult) -> list[str]:
    """Why a reported success does not match the payment (empty when it does)."""
    problems = []
    if result.amount is None or result.amount != state.amount:
        problems.append(f"amount {result.amount!r} reported, {state.amount} expected")
    if not result.currency or result.currency.upper() != state.currency:
        problems.append(f"currency {result.currency!r} reported, {state.currency} expected")
    return problems


def decide(
    state: PaymentState, result: StatusResult, order: OrderState, source: str, now: datetime
) -> Decision:
    """What a provider's answer does to a payment (see the module docstring)."""
    outcome = result.outcome
    if state.is_final:
        return _ended(state, outcome, source, now)
    if outcome in NOT_DEFINITE:
        return _not_definite(state, outcome, source, now)
    if outcome == Outcome.SUCCEEDED:
        problems = money_problems(state, result)
        if problems:
            return Decision(
                Action.HOLD_MISMATCH,
                "success with mismatching money",
                flag="success with mismatching money: " + "; ".join(problems),
                code=ReviewCode.AMOUNT_MISMATCH,
            )
        flag = (
            "second successful payment for an order already paid: refund it" if order.paid else ""
        )
        return Decision(
            Action.SUCCEED,
            f"succeeded ({source})",
            status=PaymentStatus.SUCCEEDED,
            flag=flag,
            code=ReviewCode.SECOND_SUCCESS if flag else None,
        )
    status = OUTCOME_TO_STATUS[outcome]
    return Decision(Action.FINALISE, f"{status} ({source})", status=status)


def _not_definite(state: PaymentState, outcome: Outcome, source: str, now: datetime) -> Decision:
    if source not in SCHEDULING_SOURCES:
        return Decision(Action.NOTE, f"still {outcome.value} ({source})")
    if now < state.deadline:
        return Decision(Action.RESCHEDULE, f"still {outcome.value}", reschedule=True)
    # No definite answer by the deadline (or no status API to give one):
    # money may have moved, a human looks. Otherwise the vendor may still
    # take money on its page or phone: the ended attempt is watched.
    unsure = outcome == Outcome.UNKNOWN or not state.has_status_api
    flag = "status unknown at the deadline: check with the provider" if unsure else ""
    return Decision(
        Action.EXPIRE,
        f"expired at the deadline ({outcome.value})",
        status=PaymentStatus.EXPIRED,
        flag=flag,
        code=ReviewCode.UNKNOWN_AT_DEADLINE if unsure else None,
        watch=not unsure,
    )


def _ended(state: PaymentState, outcome: Outcome, source: str, now: datetime) -> Decision:
    """A provider answer about an attempt that already ended."""
    if outcome == Outcome.SUCCEEDED and state.status != PaymentStatus.SUCCEEDED:
        reason = (
            f"provider reports success after the attempt ended as {state.status}: refund or fulfil "
            "by hand"
        )
        return Decision(Action.LATE_SUCCESS, reason, flag=reason, code=ReviewCode.LATE_SUCCESS)
    ignored = Decision(Action.NOTE, f"ignored ({outcome.value}): already {state.status}")
    if state.status == PaymentStatus.SUCCEEDED or state.needs_review:
        return ignored
    if outcome in DEAD_AT_PROVIDER and state.watch_until is not None:
        return Decision(
            Action.STOP_WATCH, f"{outcome.value} at the provider: no longer watched ({source})"
        )
    if source == "callback" and outcome == Outcome.UNKNOWN and not state.watched(now):
        # The vendor called about it and its status API did not answer:
        # never drop that; keep asking for a while.
        return Decision(
            Action.START_WATCH, "callback about an ended attempt, status unknown", watch=True
        )
    if state.watched(now):
        return Decision(
            Action.KEEP_WATCHING,
            f"ended attempt still {outcome.value} at the provider ({source})",
            reschedule=source in SCHEDULING_SOURCES,
        )
    if state.watch_until is not None:
        flag = (
            "status still unknown when the watch of this ended attempt ran out: check with the "
            "provider"
            if outcome == Outcome.UNKNOWN
            else ""
        )
        return Decision(
            Action.WATCH_OVER,
            f"watch over ({outcome.value})",
            flag=flag,
            code=ReviewCode.WATCH_UNKNOWN if flag else None,
        )
    return ignored

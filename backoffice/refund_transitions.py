"""What happens to a refund when a provider answers: the refund's state
machine as data, beside ``payments/transitions.py`` and built the same way.

Pure: no database, no clock, no I/O. ``decide(state, result, now)`` reads a
snapshot of the refund and returns a ``Decision``; ``backoffice.refunds``
carries it out under lock (``APPLIERS``). ``unanswered(state, now)`` says
what to do with a refund that was claimed for sending and never got a
readable answer. Tested as tables (``tests/backoffice/test_refund_transitions.py``).

Refund states (forward only; a final state never changes)::

    requested ──answer: pending──▶ pending ──succeeded (its own reference,
        │                              │       the amount asked)──▶ succeeded
        │                              └──failed / expired / cancelled──▶ failed (flagged)
        └──answer: failed──▶ failed (flagged)

A success is believed only when it is recognisably a refund: it names a
reference of its own, not the payin's (an API that echoes the payment would
otherwise read "completed" as "refunded"), and reports no other amount than
the one asked. Anything else waits in the review queue "to check", as a code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from payments.models import ReviewCode
from payments.providers.base import Outcome, StatusResult

# A send claimed this long ago without an answer is an unknown outcome.
SEND_TIMEOUT = timedelta(minutes=2)
# A refund still not final this long after it was asked goes to a human.
POLL_LIMIT = timedelta(days=3)
DEAD = frozenset({Outcome.FAILED, Outcome.EXPIRED, Outcome.CANCELLED})


class Status(StrEnum):  # mirrors ``Refund.Status`` (no model import: pure)
    REQUESTED = "requested"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINAL = frozenset({Status.SUCCEEDED, Status.FAILED})


class Action(StrEnum):
    IGNORE = "ignore"  # final already: journal only
    SUCCEED = "succeed"  # the money went back
    FAIL = "fail"  # the provider refused: failed, flagged (staff retry or refund outside)
    WAIT = "wait"  # accepted / still running: pending, next check scheduled
    RETRY_LATER = "retry_later"  # no readable answer: next check scheduled
    HOLD = "hold"  # an answer we cannot believe: flagged "to check", no more polling


@dataclass(frozen=True)
class RefundState:
    status: str
    amount: int
    created_at: datetime
    payin_reference: str = ""  # the payment's own provider reference
    provider_reference: str = ""  # the refund's, once known

    @property
    def is_final(self) -> bool:
        return self.status in FINAL


@dataclass(frozen=True)
class Decision:
    action: Action
    message: str
    status: str | None = None  # the refund's new status, when it changes
    code: ReviewCode | None = None  # why staff must look
    flag: str = ""  # the details beside the code


def decide(state: RefundState, result: StatusResult, now: datetime) -> Decision:
    """What a provider's answer about a refund does to it."""
    outcome = result.outcome
    if state.is_final:
        return Decision(Action.IGNORE, f"ignored ({outcome.value}): already {state.status}")
    if outcome == Outcome.SUCCEEDED:
        reference = result.provider_reference or state.provider_reference
        if not reference or reference == state.payin_reference:
            return Decision(
                Action.HOLD,
                "success not recognisably a refund",
                code=ReviewCode.REFUND_NOT_RECOGNISED,
                flag=(
                    "the provider answered 'succeeded' without a refund reference of its own "
                    f"({reference or 'none'}): check in its back office before anything else"
                ),
            )
        if result.amount is not None and result.amount != state.amount:
            return Decision(
                Action.HOLD,
                "refund amount differs",
                code=ReviewCode.REFUND_AMOUNT,
                flag=f"provider reports {result.amount} refunded, {state.amount} asked",
            )
        return Decision(Action.SUCCEED, "succeeded", status=Status.SUCCEEDED)
    if outcome in DEAD:
        return Decision(
            Action.FAIL,
            f"{outcome.value} at the provider",
            status=Status.FAILED,
            code=ReviewCode.REFUND_FAILED,
            flag=f"refund failed at the provider: {result.message[:200]}",
        )
    if now - state.created_at > POLL_LIMIT:
        return Decision(
            Action.HOLD,
            "still not final after the polling limit",
            code=ReviewCode.REFUND_STUCK,
            flag="refund still not final after 3 days: check with the provider",
        )
    if outcome == Outcome.PENDING:
        return Decision(Action.WAIT, "pending", status=Status.PENDING)
    # UNKNOWN: no readable answer. A sent refund stays as it is; the next
    # check (or, for one never answered, ``unanswered``) decides.
    return Decision(Action.RETRY_LATER, "outcome unknown")


class Unanswered(StrEnum):
    SEND = "send"  # never sent: send it
    WAIT = "wait"  # sent moments ago: the answer may still come
    RESEND = "resend"  # the vendor replays by idempotency key: ask again, same key
    FLAG = "flag"  # no key: sending again could pay twice; a human checks


def unanswered(sent_at: datetime | None, idempotent: bool, now: datetime) -> Unanswered:
    """A refund still ``requested`` after being claimed for sending."""
    if sent_at is None:
        return Unanswered.SEND
    if sent_at > now - SEND_TIMEOUT:
        return Unanswered.WAIT
    return Unanswered.RESEND if idempotent else Unanswered.FLAG

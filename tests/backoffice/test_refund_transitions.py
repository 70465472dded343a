"""The refund decision table, row by row (pure: no database, frozen time)."""

from datetime import UTC, datetime, timedelta

import pytest

from backoffice import refund_transitions as rt
from payments.models import ReviewCode
from payments.providers.base import Outcome, StatusResult

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
YOUNG = NOW - timedelta(minutes=5)
OLD = NOW - rt.POLL_LIMIT - timedelta(minutes=1)
A = rt.Action
S = rt.Status


def state(status=S.REQUESTED, created=YOUNG, payin="pay-tok", ref="", amount=5000):
    return rt.RefundState(
        status=status,
        amount=amount,
        created_at=created,
        payin_reference=payin,
        provider_reference=ref,
    )


def result(outcome, ref="", amount=None):
    return StatusResult(outcome, amount=amount, provider_reference=ref, message="m")


ROWS = [
    # (state, result) -> (action, new status, review code)
    (state(), result(Outcome.PENDING, "rf-1"), (A.WAIT, S.PENDING, None)),
    (state(S.PENDING, ref="rf-1"), result(Outcome.PENDING), (A.WAIT, S.PENDING, None)),
    (state(S.PENDING, ref="rf-1"), result(Outcome.SUCCEEDED), (A.SUCCEED, S.SUCCEEDED, None)),
    (state(), result(Outcome.SUCCEEDED, "rf-1", 5000), (A.SUCCEED, S.SUCCEEDED, None)),
    # A success without a reference of its own, or naming the payin: not a refund.
    (state(), result(Outcome.SUCCEEDED), (A.HOLD, None, ReviewCode.REFUND_NOT_RECOGNISED)),
    (
        state(),
        result(Outcome.SUCCEEDED, "pay-tok", 5000),
        (A.HOLD, None, ReviewCode.REFUND_NOT_RECOGNISED),
    ),
    (
        state(S.PENDING, ref="pay-tok"),
        result(Outcome.SUCCEEDED),
        (A.HOLD, None, ReviewCode.REFUND_NOT_RECOGNISED),
    ),
    # Another amount than asked: held, never "refunded".
    (
        state(S.PENDING, ref="rf-1"),
        result(Outcome.SUCCEEDED, "rf-1", 15000),
        (A.HOLD, None, ReviewCode.REFUND_AMOUNT),
    ),
    (state(), result(Outcome.FAILED), (A.FAIL, S.FAILED, ReviewCode.REFUND_FAILED)),
    (
        state(S.PENDING, ref="rf-1"),
        result(Outcome.EXPIRED),
        (A.FAIL, S.FAILED, ReviewCode.REFUND_FAILED),
    ),
    (
        state(S.PENDING, ref="rf-1"),
        result(Outcome.CANCELLED),
        (A.FAIL, S.FAILED, ReviewCode.REFUND_FAILED),
    ),
    # No readable answer: asked again later, nothing decided.
    (state(), result(Outcome.UNKNOWN), (A.RETRY_LATER, None, None)),
    (state(S.PENDING, ref="rf-1"), result(Outcome.UNKNOWN), (A.RETRY_LATER, None, None)),
    # Past the polling limit: a human looks.
    (
        state(S.PENDING, created=OLD, ref="rf-1"),
        result(Outcome.PENDING),
        (A.HOLD, None, ReviewCode.REFUND_STUCK),
    ),
    (
        state(S.PENDING, created=OLD, ref="rf-1"),
        result(Outcome.UNKNOWN),
        (A.HOLD, None, ReviewCode.REFUND_STUCK),
    ),
    # A late success is still believed past the limit.
    (
        state(S.PENDING, created=OLD, ref="rf-1"),
        result(Outcome.SUCCEEDED),
        (A.SUCCEED, S.SUCCEEDED, None),
    ),
    # Final states never change.
    (state(S.SUCCEEDED, ref="rf-1"), result(Outcome.FAILED), (A.IGNORE, None, None)),
    (state(S.FAILED), result(Outcome.SUCCEEDED, "rf-1"), (A.IGNORE, None, None)),
]


@pytest.mark.parametrize(("before", "answer", "expected"), ROWS)
def test_refund_decisions(before, answer, expected):
    decision = rt.decide(before, answer, NOW)
    assert (decision.action, decision.status, decision.code) == expected
    assert bool(decision.flag) == bool(decision.code)


def test_every_outcome_from_every_state_has_a_decision():
    for status in S:
        for outcome in Outcome:
            decision = rt.decide(state(status, ref="rf-1"), result(outcome, "rf-1"), NOW)
            assert decision.action in A
            if status in rt.FINAL:
                assert decision.action == A.IGNORE


@pytest.mark.parametrize(
    ("sent_at", "idempotent", "expected"),
    [
        (None, False, rt.Unanswered.SEND),
        (None, True, rt.Unanswered.SEND),
        (NOW - timedelta(seconds=30), False, rt.Unanswered.WAIT),
        (NOW - timedelta(seconds=30), True, rt.Unanswered.WAIT),
        (NOW - rt.SEND_TIMEOUT - timedelta(seconds=1), True, rt.Unanswered.RESEND),
        (NOW - rt.SEND_TIMEOUT - timedelta(seconds=1), False, rt.Unanswered.FLAG),
    ],
)
def test_a_refund_sent_without_answer(sent_at, idempotent, expected):
    assert rt.unanswered(sent_at, idempotent, NOW) == expected

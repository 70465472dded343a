"""``payments.transitions.decide`` as a table: every payment state × every
provider outcome × every source, with no database and no clock."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from payments.models import PaymentStatus
from payments.providers.base import Outcome, StatusResult
from payments.transitions import (
    REOPENING_SOURCES,
    SCHEDULING_SOURCES,
    Action,
    OrderState,
    PaymentState,
    decide,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=20)
EARLIER = NOW - timedelta(seconds=1)
SOURCES = sorted(SCHEDULING_SOURCES | REOPENING_SOURCES | {"supersede", "initiate"})
ENDED = (PaymentStatus.CANCELLED, PaymentStatus.EXPIRED, PaymentStatus.FAILED)


def state(status=PaymentStatus.PENDING, deadline=LATER, **extra) -> PaymentState:
    return PaymentState(status=status, amount=15000, currency="XOF", deadline=deadline, **extra)


def result(outcome: Outcome, amount=15000, currency="XOF") -> StatusResult:
    return StatusResult(outcome, amount=amount, currency=currency)


UNPAID = OrderState(paid=False)


# --- a live attempt -----------------------------------------------------------------
@pytest.mark.parametrize("source", SOURCES)
def test_a_matching_success_pays(source):
    decision = decide(state(), result(Outcome.SUCCEEDED), UNPAID, source, NOW)
    assert (
        decision.action == Action.SUCCEED
        and decision.status == PaymentStatus.SUCCEEDED
        and not decision.flag
    )


@pytest.mark.parametrize(
    "amount,currency",
    [
        (14999, "XOF"),
        (15001, "XOF"),
        (None, "XOF"),
        (15000, "XAF"),
        (15000, None),
        (15000, ""),
        (0, "XOF"),
    ],
)
def test_a_success_with_other_money_is_held_for_review_never_paid(amount, currency):
    decision = decide(state(), result(Outcome.SUCCEEDED, amount, currency), UNPAID, "poll", NOW)
    assert decision.action == Action.HOLD_MISMATCH and decision.status is None and decision.flag


def test_the_currency_is_compared_without_case():
    assert (
        decide(state(), result(Outcome.SUCCEEDED, 15000, "xof"), UNPAID, "poll", NOW).action
        == Action.SUCCEED
    )


def test_a_second_success_on_a_paid_order_is_flagged():
    decision = decide(state(), result(Outcome.SUCCEEDED), OrderState(paid=True), "callback", NOW)
    assert decision.action == Action.SUCCEED and "second successful payment" in decision.flag


@pytest.mark.parametrize(
    "outcome,status",
    [
        (Outcome.FAILED, PaymentStatus.FAILED),
        (Outcome.EXPIRED, PaymentStatus.EXPIRED),
        (Outcome.CANCELLED, PaymentStatus.CANCELLED),
    ],
)
@pytest.mark.parametrize("source", SOURCES)
def test_a_definite_refusal_ends_the_attempt(outcome, status, source):
    decision = decide(state(), result(outcome), UNPAID, source, NOW)
    assert decision.action == Action.FINALISE and decision.status == status and not decision.watch


@pytest.mark.parametrize("outcome", [Outcome.PENDING, Outcome.UNKNOWN])
@pytest.mark.parametrize("source", SOURCES)
def test_no_definite_answer_before_the_deadline(outcome, source):
    decision = decide(state(), result(outcome), UNPAID, source, NOW)
    if source in SCHEDULING_SOURCES:
        assert decision.action == Action.RESCHEDULE and decision.reschedule
    else:
        assert decision.action == Action.NOTE, (
            "only the poller, the sweep and staff own the schedule"
        )
    assert decision.status is None


def test_pending_at_the_deadline_expires_and_is_watched_not_flagged():
    decision = decide(state(deadline=EARLIER), result(Outcome.PENDING), UNPAID, "poll", NOW)
    assert decision.action == Action.EXPIRE and decision.status == PaymentStatus.EXPIRED
    assert decision.watch and not decision.flag


def test_unknown_at_the_deadline_expires_flagged():
    decision = decide(state(deadline=EARLIER), result(Outcome.UNKNOWN), UNPAID, "sweep", NOW)
    assert decision.action == Action.EXPIRE and decision.flag and not decision.watch


def test_without_a_status_api_the_deadline_is_never_definite():
    decision = decide(
        state(deadline=EARLIER, has_status_api=False), result(Outcome.PENDING), UNPAID, "poll", NOW
    )
    assert decision.action == Action.EXPIRE and "unknown at the deadline" in decision.flag


def test_the_deadline_is_only_applied_by_the_schedule():
    assert (
        decide(state(deadline=EARLIER), result(Outcome.PENDING), UNPAID, "return", NOW).action
        == Action.NOTE
    )


# --- an attempt that has ended -------------------------------------------------------
@pytest.mark.parametrize("status", ENDED)
@pytest.mark.parametrize("source", SOURCES)
def test_a_success_after_the_attempt_ended_is_flagged_never_paid(status, source):
    decision = decide(state(status=status), result(Outcome.SUCCEEDED), UNPAID, source, NOW)
    assert decision.action == Action.LATE_SUCCESS and decision.status is None
    assert f"ended as {status}" in decision.flag


@pytest.mark.parametrize("outcome", list(Outcome))
@pytest.mark.parametrize("source", SOURCES)
def test_a_paid_attempt_never_changes(outcome, source):
    decision = decide(state(status=PaymentStatus.SUCCEEDED), result(outcome), UNPAID, source, NOW)
    assert decision.action == Action.NOTE and decision.status is None and not decision.flag


@pytest.mark.parametrize("outcome", list(Outcome))
def test_a_flagged_ended_attempt_is_left_to_staff(outcome):
    decision = decide(
        state(status=PaymentStatus.CANCELLED, needs_review=True, watch_until=LATER),
        result(outcome),
        UNPAID,
        "poll",
        NOW,
    )
    expected = Action.LATE_SUCCESS if outcome == Outcome.SUCCEEDED else Action.NOTE
    assert decision.action == expected and decision.status is None


@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.EXPIRED, Outcome.CANCELLED])
def test_a_watched_attempt_dead_at_the_provider_stops_being_watched(outcome):
    decision = decide(
        state(status=PaymentStatus.EXPIRED, watch_until=LATER), result(outcome), UNPAID, "poll", NOW
    )
    assert decision.action == Action.STOP_WATCH and not decision.flag


@pytest.mark.parametrize("outcome", [Outcome.PENDING, Outcome.UNKNOWN])
@pytest.mark.parametrize("source", SOURCES)
def test_a_watched_attempt_still_open_keeps_being_watched(outcome, source):
    decision = decide(
        state(status=PaymentStatus.CANCELLED, watch_until=LATER),
        result(outcome),
        UNPAID,
        source,
        NOW,
    )
    assert decision.action == Action.KEEP_WATCHING and decision.reschedule == (
        source in SCHEDULING_SOURCES
    )


def test_a_callback_about_an_ended_attempt_with_no_answer_starts_a_watch():
    decision = decide(
        state(status=PaymentStatus.CANCELLED), result(Outcome.UNKNOWN), UNPAID, "callback", NOW
    )
    assert decision.action == Action.START_WATCH and decision.watch


@pytest.mark.parametrize("outcome,flagged", [(Outcome.UNKNOWN, True), (Outcome.PENDING, False)])
def test_a_watch_that_ran_out(outcome, flagged):
    decision = decide(
        state(status=PaymentStatus.EXPIRED, watch_until=EARLIER),
        result(outcome),
        UNPAID,
        "poll",
        NOW,
    )
    assert decision.action == Action.WATCH_OVER and bool(decision.flag) == flagged


@pytest.mark.parametrize(
    "status,outcome,source",
    [
        (s, o, src)
        for s, o, src in itertools.product(
            ENDED, [Outcome.PENDING, Outcome.FAILED, Outcome.EXPIRED, Outcome.CANCELLED], SOURCES
        )
    ],
)
def test_an_unwatched_ended_attempt_only_notes_what_it_hears(status, outcome, source):
    decision = decide(state(status=status), result(outcome), UNPAID, source, NOW)
    assert decision.action == Action.NOTE and decision.status is None and not decision.flag


# --- invariants over the whole table ---------------------------------------------------
ALL_STATES = [
    state(status=s, deadline=d, watch_until=w, needs_review=r, has_status_api=a)
    for s, d, w, r, a in itertools.product(
        list(PaymentStatus), [LATER, EARLIER], [None, LATER, EARLIER], [False, True], [True, False]
    )
]


@pytest.mark.parametrize("outcome", list(Outcome))
@pytest.mark.parametrize("source", SOURCES)
def test_invariants_hold_for_every_state(outcome, source):
    for st in ALL_STATES:
        for order in (UNPAID, OrderState(paid=True)):
            decision = decide(st, result(outcome), order, source, NOW)
            if st.status != PaymentStatus.PENDING:
                assert decision.status is None, "a final state never changes"
            if decision.status == PaymentStatus.SUCCEEDED:
                assert outcome == Outcome.SUCCEEDED, "only the provider's success pays"
            if outcome in (Outcome.PENDING, Outcome.UNKNOWN):
                assert decision.action != Action.SUCCEED

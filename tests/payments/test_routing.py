"""Route health and route choice as tables (payments/routing.py): pure
functions over recorded outcomes, time frozen by passing ``now``."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from payments.routing import (
    Attempt,
    Candidate,
    Health,
    Kind,
    Observed,
    Route,
    Rules,
    State,
    choose,
    classify,
    evaluate,
    least_bad,
    percentile,
    rank,
)

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
RULES = Rules()
A = Route("novasend", "mobile_money", "Orange Money", "CI", "XOF")
B = Route("lygos", "hosted", "Orange Money", "CI", "XOF")
C = Route("ligdicash", "hosted", "Orange Money", "BF", "XOF")


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def run(kinds: str, start=T0, step=minutes(1), initiation=False) -> list[Observed]:
    """Outcomes one a minute from ``start``, newest first: s(uccess),
    t(echnical), d(ecline), a(bandoned)."""
    codes = {"s": Kind.SUCCESS, "t": Kind.TECHNICAL, "d": Kind.DECLINE, "a": Kind.ABANDONED}
    return [
        Observed(start + i * step, codes[k], initiation and k == "t") for i, k in enumerate(kinds)
    ][::-1]


def settle(kinds: str, health=Health(), start=T0, **kw):
    """Evaluate after each outcome, as the shop does; the last verdict."""
    outcomes = run(kinds, start, **kw)[::-1]
    verdict = None
    for i in range(len(outcomes)):
        seen = outcomes[: i + 1][::-1]
        verdict = evaluate(health, seen, seen[0].at, RULES)
        health = verdict.health
    return verdict


# --- classification ----------------------------------------------------------------
def attempt(**kw) -> Attempt:
    base = dict(
        status="failed",
        flow="push",
        initiated=True,
        initiation_unknown=False,
        unknown_at_deadline=False,
        watched=False,
        has_page=False,
    )
    return Attempt(**{**base, **kw})


@pytest.mark.parametrize(
    "facts,expected",
    [
        (dict(status="succeeded"), (Kind.SUCCESS, False)),
        (dict(status="failed"), (Kind.DECLINE, False)),  # PIN refused, no balance
        (dict(status="cancelled"), (Kind.DECLINE, False)),  # cancelled on the vendor's page
        (dict(status="cancelled", watched=True), (Kind.ABANDONED, False)),  # another method
        (dict(status="failed", initiated=False), (Kind.TECHNICAL, True)),  # create refused
        (dict(status="expired", initiation_unknown=True), (Kind.TECHNICAL, True)),  # 5xx
        (dict(status="cancelled", initiation_unknown=True, watched=True), (Kind.TECHNICAL, True)),
        (dict(status="expired", unknown_at_deadline=True), (Kind.TECHNICAL, False)),
        (dict(status="expired"), (Kind.TECHNICAL, False)),  # a push nobody answered
        (dict(status="expired", flow="redirect", has_page=True), (Kind.ABANDONED, False)),
        (dict(status="failed", flow="redirect", has_page=False), (Kind.TECHNICAL, False)),
        (dict(status="failed", flow="redirect", has_page=True), (Kind.DECLINE, False)),
        (dict(status="cancelled", initiated=False, watched=True), (Kind.ABANDONED, False)),
    ],
)
def test_an_attempt_is_classified_from_what_the_payment_records(facts, expected):
    assert classify(attempt(**facts)) == expected


# --- the state machine -------------------------------------------------------------
@pytest.mark.parametrize(
    "kinds,state",
    [
        ("ddddd", State.OK),  # five customer declines: never moves a route
        ("aaaaadddddddddd", State.OK),
        ("sttt", State.DEGRADED),  # three technical failures in a row
        ("ttdtd", State.DEGRADED),  # declines neither count nor break a run
        ("ttsdt", State.OK),  # a success does
        ("sstttt", State.DEGRADED),  # 2/6 but n < 10: not DOWN on the rate
        ("ttttt", State.DOWN),  # five in a row
        ("sssstst", State.OK),  # 5/7 = 71 %
        ("sssttst", State.DEGRADED),  # 4/7 = 57 % < 70 % with n ≥ 5
        ("ssststst", State.DEGRADED),  # 4/8 = 50 % < 70 % with n ≥ 5
        ("ssssssssts", State.OK),  # 9/10 = 90 %
        ("ststststst", State.DEGRADED),  # 5/10 = 50 %: under 70, not under 40
        ("sttststtst", State.DEGRADED),  # 4/10 = 40 %: not under 40
        ("tsttsttstt", State.DOWN),  # 3/10 = 30 % < 40 % with n ≥ 10
    ],
)
def test_states_follow_the_rules(kinds, state):
    assert settle(kinds).health.state == state


def test_sssttst_is_degraded_by_the_rate_not_by_a_run():
    verdict = settle("sssttst")
    assert verdict.figures.consecutive == 1 and verdict.figures.rate == pytest.approx(4 / 7)
    assert "4 successes out of 7" in verdict.reason


def test_three_initiation_errors_within_five_minutes_are_down():
    verdict = settle("ttt", step=minutes(2), initiation=True)
    assert verdict.health.state == State.DOWN and "initiation errors" in verdict.reason


def test_three_initiation_errors_spread_over_more_than_five_minutes_are_degraded():
    verdict = settle("ttt", step=minutes(4), initiation=True)
    assert verdict.health.state == State.DEGRADED


def test_failures_older_than_the_window_are_forgotten():
    outcomes = run("ttttt")
    assert evaluate(Health(), outcomes, T0 + minutes(66), RULES).health.state == State.OK


def test_only_the_last_twenty_outcomes_count():
    outcomes = run("t" * 4 + "s" * 20, step=timedelta(seconds=30))
    verdict = evaluate(Health(), outcomes, outcomes[0].at, RULES)
    assert verdict.figures.considered == 20 and verdict.health.state == State.OK


def test_down_waits_15_minutes_then_probes_and_two_successes_bring_it_back():
    down = settle("ttttt").health
    at = down.since
    assert evaluate(down, [], at + minutes(14), RULES).health.state == State.DOWN
    probing = evaluate(down, [], at + minutes(15), RULES)
    assert probing.changed and probing.health.state == State.PROBING
    start = probing.health.since
    one = [Observed(start + minutes(1), Kind.SUCCESS)]
    assert evaluate(probing.health, one, start + minutes(1), RULES).health.state == State.PROBING
    two = [Observed(start + minutes(2), Kind.SUCCESS), *one]
    back = evaluate(probing.health, two, start + minutes(2), RULES)
    assert back.health.state == State.OK and back.health.backoff_step == 0
    # The failures before the recovery are not judged again.
    assert evaluate(back.health, two, start + minutes(3), RULES).health.state == State.OK


@pytest.mark.parametrize("step,wait", [(0, 30), (1, 60), (2, 60), (5, 60)])
def test_a_failure_while_probing_is_down_again_with_the_next_backoff(step, wait):
    probing = Health(State.PROBING, T0, backoff_step=step)
    failed = [Observed(T0 + minutes(1), Kind.TECHNICAL)]
    down = evaluate(probing, failed, T0 + minutes(1), RULES)
    assert down.health.state == State.DOWN and down.health.backoff_step == step + 1
    assert f"down for {wait} min" in down.reason
    later = down.health.since + minutes(wait)
    assert evaluate(down.health, failed, later - minutes(1), RULES).health.state == State.DOWN
    assert evaluate(down.health, failed, later, RULES).health.state == State.PROBING


def test_declines_while_probing_change_nothing():
    probing = Health(State.PROBING, T0, backoff_step=1)
    declines = [Observed(T0 + minutes(i), Kind.DECLINE) for i in range(5)]
    assert not evaluate(probing, declines, T0 + minutes(5), RULES).changed


def test_a_route_that_heals_goes_back_to_ok():
    degraded = settle("sttt").health
    healed = run("ssssssss", start=T0 + minutes(4)) + run("sttt")
    assert evaluate(degraded, healed, healed[0].at, RULES).health.state == State.OK


# --- choosing -------------------------------------------------------------------
def test_rank_puts_usable_healthy_routes_first_then_the_staff_pin_then_the_shop_order():
    ranked = rank(
        [
            Candidate(A, State.DOWN, order=0),
            Candidate(B, State.DEGRADED, order=1),
            Candidate(C, State.OK, order=2),
        ]
    )
    assert [c.route for c in ranked] == [C, B, A]
    pinned = rank([Candidate(A, order=0), Candidate(B, order=1, priority=10)])
    assert pinned[0].route == B


def test_exploration_sends_about_ten_percent_to_the_second_route_and_none_to_a_down_one():
    rng = random.Random(18)
    healthy = [Candidate(A, order=0), Candidate(B, order=1)]
    firsts = [choose(healthy, rng, RULES)[0] for _ in range(1000)]
    share = firsts.count(B) / 1000
    assert 0.08 <= share <= 0.12, share
    with_down = [Candidate(A, order=0), Candidate(B, State.DOWN, order=1)]
    assert all(choose(with_down, rng, RULES) == [A] for _ in range(1000))
    degraded_second = [Candidate(A, order=0), Candidate(B, State.DEGRADED, order=1)]
    assert all(choose(degraded_second, rng, RULES)[0] == A for _ in range(1000))


def test_exploration_is_deterministic_under_a_seed():
    healthy = [Candidate(A, order=0), Candidate(B, order=1)]
    one = [choose(healthy, random.Random(7), RULES) for _ in range(50)]
    two = [choose(healthy, random.Random(7), RULES) for _ in range(50)]
    assert one == two


def test_no_route_is_chosen_when_all_are_down_paused_or_fully_probed():
    candidates = [
        Candidate(A, State.DOWN),
        Candidate(B, paused=True),
        Candidate(C, State.PROBING, probe_full=True),
    ]
    assert choose(candidates, random.Random(1), RULES) == []


def test_the_least_bad_route_has_the_best_recent_rate_and_is_never_a_paused_one():
    candidates = [
        Candidate(A, State.DOWN, rate=0.2, order=0),
        Candidate(B, State.DOWN, rate=0.5, order=1),
        Candidate(C, State.DOWN, rate=0.9, paused=True, order=2),
    ]
    assert least_bad(candidates).route == B
    assert least_bad([Candidate(A, paused=True)]) is None


def test_percentiles():
    assert percentile([], 0.5) is None
    assert percentile([100, 200, 300, 400], 0.5) == 200
    assert percentile(list(range(1, 101)), 0.95) == 95

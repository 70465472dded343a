"""Route health in the shop (issue 18): outcomes recorded by the payment
engine move a route, the pay page lists wallets and follows their health,
a forged POST for a DOWN route is refused, the safe fallback starts the
next route once, and staff see and pause routes.

Providers answer through ``responses`` at their HTTP boundary; outcomes
come from the real engine (``apply_status``), their on-commit hook run."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import requests
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from urllib3.exceptions import MaxRetryError, NewConnectionError

from payments.models import Payment, PaymentStatus, RouteChange, RouteHealth, RouteOutcome
from payments.providers.base import Outcome, StatusResult
from payments.routing import Route
from payments.services import apply_status, health
from tests.support.backoffice import succeed
from tests.support.factories import at_once, hold, make_order, make_payment
from tests.support.kits.lygos import LygosKit
from tests.support.kits.novasend import NovasendKit
from tests.support.routes import set_state

pytestmark = pytest.mark.django_db

ML = {"country": "ML", "phone": "+22376123456"}
CI = {"country": "CI", "phone": "+2250701234567"}
ORANGE_ML = Route("novasend", "mobile_money", "Orange Money", "ML", "XOF")
NOVA_CI = Route("novasend", "mobile_money", "Orange Money", "CI", "XOF")
LYGOS_CI = Route("lygos", "hosted", "Orange Money", "CI", "XOF")
SLOW = "Paiements lents en ce moment avec Orange Money"
NOVASEND, LYGOS = NovasendKit(), LygosKit()


@pytest.fixture(autouse=True)
def _no_exploration(settings):
    settings.ROUTING_EXPLORE_SHARE = 0.0


def ended(kind: str, capture, where=ML, wallet="Orange Money") -> Payment:
    """One Novasend push attempt ended through the payment engine as
    ``kind``: "decline" (the vendor says failed), "technical" (still pending
    at our deadline) or "success"."""
    order = make_order(**where)
    payment = make_payment(
        order,
        provider="novasend",
        method="mobile_money",
        wallet=wallet,
        payer_phone=where["phone"],
        initiated_at=timezone.now(),
    )
    with capture(execute=True):
        if kind == "decline":
            apply_status(payment.pk, StatusResult(Outcome.FAILED, message="declined"), "poll")
        elif kind == "technical":
            Payment.objects.filter(pk=payment.pk).update(
                deadline=timezone.now() - timedelta(seconds=1)
            )
            apply_status(payment.pk, StatusResult(Outcome.PENDING), "poll")
        else:
            succeed(payment)
    payment.refresh_from_db()
    return payment


def state(route: Route) -> str:
    row = RouteHealth.objects.filter(key=route.key).first()
    return row.state if row else "ok"


def pay_page(client, order) -> str:
    hold(client, order)
    response = client.get(reverse("payments:pay", args=[order.token]))
    assert response.status_code == 200
    return response.content.decode()


def wallet_label(body: str, value: str) -> str:
    """The <label> of one wallet radio on the page."""
    start = body.rindex("<label", 0, body.index(f'value="{value}"'))
    return body[start : body.index("</label>", start)]


# --- what moves a route ---------------------------------------------------------------
def test_five_customer_declines_leave_the_route_ok(django_capture_on_commit_callbacks):
    for _ in range(5):
        payment = ended("decline", django_capture_on_commit_callbacks)
        assert payment.status == PaymentStatus.FAILED
    assert state(ORANGE_ML) == "ok"
    assert set(RouteOutcome.objects.values_list("kind", flat=True)) == {"decline"}
    assert not RouteChange.objects.exists()


def test_three_technical_failures_degrade_the_wallet_shown_lower_with_a_warning(
    client, django_capture_on_commit_callbacks
):
    for _ in range(3):
        assert ended("technical", django_capture_on_commit_callbacks).status == "expired"
    assert state(ORANGE_ML) == "degraded"

    body = pay_page(client, make_order(**ML))

    orange = wallet_label(body, "wallet:orange-money")
    assert SLOW in orange and "disabled" not in orange
    assert body.index('value="wallet:moov-money"') < body.index('value="wallet:orange-money"')
    assert body.count('value="wallet:orange-money"') == 1


def test_five_technical_failures_put_it_down_greyed_out_and_a_forged_post_is_refused(
    client, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.WARNING, logger="payments.services.health")
    for _ in range(6):
        ended("technical", django_capture_on_commit_callbacks)
    assert state(ORANGE_ML) == "down"
    downs = RouteChange.objects.filter(route__key=ORANGE_ML.key, new_state="down")
    assert downs.count() == 1, "one change, however many failures follow"
    assert sum("is DOWN" in r.message for r in caplog.records) == 1
    assert sum("staff alert: Payment route down" in r.message for r in caplog.records) == 1

    order = make_order(**ML)
    body = pay_page(client, order)
    orange = wallet_label(body, "wallet:orange-money")
    assert "disabled" in orange and "momentanément indisponible" in orange
    assert "checked" not in orange

    forged = client.post(
        reverse("payments:pay", args=[order.token]),
        {"choice": "wallet:orange-money", "payer_phone": ML["phone"]},
    )
    assert forged.status_code == 400
    assert "momentanément indisponible" in forged.content.decode()
    assert not order.payments.exists()


def test_a_down_route_probes_after_15_minutes_and_two_successes_bring_it_back(
    django_capture_on_commit_callbacks,
):
    for _ in range(5):
        ended("technical", django_capture_on_commit_callbacks)
    assert state(ORANGE_ML) == "down"
    row = RouteHealth.objects.get(key=ORANGE_ML.key)
    RouteHealth.objects.filter(pk=row.pk).update(since=row.since - timedelta(minutes=14))
    health.evaluate_all()
    assert state(ORANGE_ML) == "down"
    RouteHealth.objects.filter(pk=row.pk).update(since=row.since - timedelta(minutes=15))
    health.evaluate_all()  # the periodic sweep does this
    assert state(ORANGE_ML) == "probing"

    ended("success", django_capture_on_commit_callbacks)
    assert state(ORANGE_ML) == "probing"
    ended("success", django_capture_on_commit_callbacks)
    assert state(ORANGE_ML) == "ok"


def test_one_failure_while_probing_is_down_for_30_minutes(django_capture_on_commit_callbacks):
    for _ in range(5):
        ended("technical", django_capture_on_commit_callbacks)
    row = RouteHealth.objects.get(key=ORANGE_ML.key)
    RouteHealth.objects.filter(pk=row.pk).update(since=row.since - timedelta(minutes=15))
    health.evaluate_all()
    assert state(ORANGE_ML) == "probing"

    ended("technical", django_capture_on_commit_callbacks)

    row = RouteHealth.objects.get(key=ORANGE_ML.key)
    assert row.state == "down" and row.backoff_step == 1
    RouteHealth.objects.filter(pk=row.pk).update(since=row.since - timedelta(minutes=29))
    health.evaluate_all()
    assert state(ORANGE_ML) == "down"
    RouteHealth.objects.filter(pk=row.pk).update(since=row.since - timedelta(minutes=30))
    health.evaluate_all()
    assert state(ORANGE_ML) == "probing"


def test_the_sweep_moves_a_down_route_to_probing_on_time():
    from payments.services.sweep import sweep

    RouteHealth.objects.create(
        key=ORANGE_ML.key,
        provider="novasend",
        method="mobile_money",
        wallet="Orange Money",
        country="ML",
        currency="XOF",
        state="down",
        since=timezone.now() - timedelta(minutes=16),
    )
    assert sweep().routes_changed == 1
    assert state(ORANGE_ML) == "probing"


def test_the_sweep_forgets_failures_older_than_the_window(django_capture_on_commit_callbacks):
    from payments.services.sweep import sweep

    for _ in range(3):
        ended("technical", django_capture_on_commit_callbacks)
    assert state(ORANGE_ML) == "degraded"
    RouteOutcome.objects.update(at=timezone.now() - timedelta(minutes=61))

    assert sweep().routes_changed == 1
    assert state(ORANGE_ML) == "ok"


# --- the pay page -----------------------------------------------------------------
def test_the_pay_page_lists_each_wallet_once_with_how_paying_works(client):
    body = pay_page(client, make_order(**CI))

    for wallet in ("orange-money", "mtn-momo", "moov-money", "wave"):
        assert body.count(f'value="wallet:{wallet}"') == 1
    orange = wallet_label(body, "wallet:orange-money")
    assert "<strong>Orange Money</strong>" in orange
    assert "vous validez la demande sur votre téléphone" in orange or "page" in orange
    assert "Autres moyens" in body and 'value="lygos:hosted"' in body


def test_a_wallet_whose_every_route_is_down_is_greyed_out_but_one_with_a_healthy_route_is_not(
    client,
):
    set_state(NOVA_CI, "down")
    body = pay_page(client, make_order(**CI))
    assert "disabled" not in wallet_label(body, "wallet:orange-money"), "Lygos still carries it"
    set_state(LYGOS_CI, "down")
    body = pay_page(client, make_order(**CI))
    assert "disabled" in wallet_label(body, "wallet:orange-money")


def test_when_every_route_of_the_country_is_down_the_least_bad_is_offered_with_the_warning(
    client, rsps
):
    rates = {"Orange Money": 0.2, "Moov Money": 0.5, "Wave": 0.1, "MTN MoMo": 0.0}
    for wallet, rate in rates.items():
        set_state(Route("novasend", "mobile_money", wallet, "ML", "XOF"), "down", rate=rate)
    order = make_order(**ML)

    body = pay_page(client, order)

    assert 'id="all-down"' in body
    moov = wallet_label(body, "wallet:moov-money")
    assert "disabled" not in moov and "Paiements lents en ce moment avec Moov Money" in moov
    assert "disabled" in wallet_label(body, "wallet:orange-money")
    NOVASEND.mock_initiate_ok(rsps)
    answer = client.post(
        reverse("payments:pay", args=[order.token]),
        {"choice": "wallet:moov-money", "payer_phone": ML["phone"]},
    )
    assert answer.status_code == 302
    payment = order.payments.get()
    assert (payment.provider, payment.wallet) == ("novasend", "Moov Money")


def test_a_degraded_route_is_tried_after_the_healthy_one(client, rsps):
    set_state(NOVA_CI, "degraded")
    LYGOS.mock_initiate_ok(rsps)
    order = make_order(**CI)
    hold(client, order)

    answer = client.post(
        reverse("payments:pay", args=[order.token]),
        {"choice": "wallet:orange-money", "payer_phone": CI["phone"]},
    )

    assert answer.status_code == 302
    payment = order.payments.get()
    assert (payment.provider, payment.method, payment.wallet) == ("lygos", "hosted", "Orange Money")


def test_a_staff_pin_puts_a_route_first(client, rsps):
    health.set_priority(LYGOS_CI, 1)
    LYGOS.mock_initiate_ok(rsps)
    order = make_order(**CI)
    hold(client, order)
    client.post(
        reverse("payments:pay", args=[order.token]),
        {"choice": "wallet:orange-money", "payer_phone": CI["phone"]},
    )
    assert order.payments.get().provider == "lygos"


def test_an_aggregator_can_still_be_chosen_but_not_when_it_is_down(client, rsps):
    order = make_order(**CI)
    hold(client, order)
    url = reverse("payments:pay", args=[order.token])
    for wallet in ("Orange Money", "MTN MoMo", "Moov Money", "Wave"):
        set_state(Route("lygos", "hosted", wallet, "CI", "XOF"), "down")
    assert client.post(url, {"choice": "lygos:hosted"}).status_code == 400
    assert not order.payments.exists()
    NOVASEND.mock_initiate_ok(rsps)
    answer = client.post(url, {"choice": "novasend:mobile_money", "payer_phone": CI["phone"]})
    assert answer.status_code == 302 and order.payments.get().provider == "novasend"


def test_reading_health_on_the_pay_page_costs_no_query_per_route(client):
    order = make_order(**CI)
    hold(client, order)
    url = reverse("payments:pay", args=[order.token])

    def queries() -> int:
        health.forget_snapshot()
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    client.get(url)  # the session settles
    before = queries()
    for wallet in ("Orange Money", "MTN MoMo", "Moov Money", "Wave"):
        set_state(Route("lygos", "hosted", wallet, "CI", "XOF"), "degraded")
        set_state(Route("novasend", "mobile_money", wallet, "CI", "XOF"), "ok")
    assert queries() == before
    with CaptureQueriesContext(connection) as warm:
        client.get(url)
    assert len(warm) == before - 1, "a warm cache reads no health row at all"


@pytest.mark.parametrize("started,status", [(4, 302), (5, 400)])
def test_a_probing_route_takes_at_most_five_attempts(client, rsps, started, status):
    set_state(ORANGE_ML, "probing")
    for _ in range(started):
        make_payment(
            make_order(**ML),
            provider="novasend",
            method="mobile_money",
            wallet="Orange Money",
            status=PaymentStatus.FAILED,
        )
    NOVASEND.mock_initiate_ok(rsps)
    order = make_order(**ML)
    hold(client, order)

    answer = client.post(
        reverse("payments:pay", args=[order.token]),
        {"choice": "wallet:orange-money", "payer_phone": ML["phone"]},
    )

    assert answer.status_code == status
    assert order.payments.count() == (1 if status == 302 else 0)


# --- the safe fallback ------------------------------------------------------------
def choose_orange_ci(client, order):
    hold(client, order)
    return client.post(
        reverse("payments:pay", args=[order.token]),
        {"choice": "wallet:orange-money", "payer_phone": CI["phone"]},
    )


def test_a_hosted_page_whose_create_answers_503_falls_back_to_the_next_route_at_once(
    client, rsps, django_capture_on_commit_callbacks
):
    health.set_priority(LYGOS_CI, 1)  # Lygos first for Orange Money in CI
    LYGOS.mock_initiate_error(rsps, 503)
    NOVASEND.mock_initiate_ok(rsps)
    order = make_order(**CI)

    with django_capture_on_commit_callbacks(execute=True):
        answer = choose_orange_ci(client, order)

    second = order.payments.get(status=PaymentStatus.PENDING)
    assert second.provider == "novasend" and second.wallet == "Orange Money"
    assert answer.status_code == 302 and answer.url == second.redirect_url, "one step"
    first = order.payments.exclude(pk=second.pk).get()
    assert first.provider == "lygos" and first.status == PaymentStatus.CANCELLED
    assert first.initiation_unknown and first.watch_until is not None, "still watched"
    assert order.payments.count() == 2
    assert RouteOutcome.objects.get(payment=first).kind == "technical"
    assert second.events.filter(message="fallback attempt").count() == 1


def test_a_push_refused_before_any_connection_falls_back(
    client, rsps, django_capture_on_commit_callbacks
):
    refused = requests.ConnectionError(
        MaxRetryError(None, "/v1/payin/sessions", NewConnectionError(None, "refused"))
    )
    rsps.post(NOVASEND.initiate_url(), body=refused)
    LYGOS.mock_initiate_ok(rsps)
    order = make_order(**CI)

    with django_capture_on_commit_callbacks(execute=True):
        answer = choose_orange_ci(client, order)

    assert answer.status_code == 302 and "lygos" in answer.url
    first, second = order.payments.order_by("created_at", "pk")
    assert (first.provider, first.status) == ("novasend", PaymentStatus.FAILED)
    assert (second.provider, second.status) == ("lygos", PaymentStatus.PENDING)


def test_a_push_the_vendor_refused_outright_falls_back(client, rsps):
    rsps.post(NOVASEND.initiate_url(), json={"statusCode": 400, "error": "Bad Request"}, status=400)
    LYGOS.mock_initiate_ok(rsps)
    order = make_order(**CI)

    answer = choose_orange_ci(client, order)

    assert answer.status_code == 302
    assert [p.provider for p in order.payments.order_by("created_at", "pk")] == [
        "novasend",
        "lygos",
    ]


@pytest.mark.parametrize(
    "failure",
    [requests.ReadTimeout("read timed out"), 503, requests.ConnectionError("reset by peer")],
    ids=["timeout", "503", "reset-after-sending"],
)
def test_no_automatic_second_attempt_when_a_push_may_have_been_sent(client, rsps, failure):
    if isinstance(failure, int):
        NOVASEND.mock_initiate_error(rsps, failure)
    else:
        rsps.post(NOVASEND.initiate_url(), body=failure)
    order = make_order(**CI)

    answer = choose_orange_ci(client, order)

    assert answer.status_code == 200
    assert order.payments.count() == 1
    assert order.payments.get().provider == "novasend"
    assert not any(LYGOS.initiate_url() in call.request.url for call in rsps.calls)


def test_a_push_accepted_then_a_status_timeout_never_starts_a_second_attempt(
    client, rsps, settings
):
    NOVASEND.mock_initiate_ok(rsps)
    order = make_order(**CI)
    assert choose_orange_ci(client, order).status_code == 302
    payment = order.payments.get()
    rsps.get(NOVASEND.status_url(payment), body=requests.ReadTimeout("read timed out"))

    from payments.services import check_payment

    assert check_payment(payment.pk).status == PaymentStatus.PENDING
    settings.ROUTING_EXPLORE_SHARE = 1.0  # even if exploration drew the other route now
    again = choose_orange_ci(client, order)  # a second tap, or the same wallet again

    assert again.status_code == 302
    assert order.payments.count() == 1, "one tap, one prompt: never a second attempt"
    assert not any(LYGOS.initiate_url() in call.request.url for call in rsps.calls)


def test_another_wallet_on_the_same_route_is_another_attempt(client, rsps):
    NOVASEND.mock_initiate_ok(rsps)
    order = make_order(**CI)
    choose_orange_ci(client, order)
    orange = order.payments.get()
    NOVASEND.mock_status(rsps, orange, "pending")

    answer = client.post(
        reverse("payments:pay", args=[order.token]),
        {"choice": "wallet:wave", "payer_phone": CI["phone"]},
    )

    assert answer.status_code == 302
    orange.refresh_from_db()
    wave = order.payments.get(status=PaymentStatus.PENDING)
    assert (orange.status, wave.wallet, wave.provider) == ("cancelled", "Wave", "novasend")


def test_an_initiation_left_unknown_counts_at_once(
    client, rsps, django_capture_on_commit_callbacks
):
    NOVASEND.mock_initiate_error(rsps, 503)
    order = make_order(**CI)
    with django_capture_on_commit_callbacks(execute=True):
        choose_orange_ci(client, order)
    outcome = RouteOutcome.objects.get(payment=order.payments.get())
    assert outcome.kind == "technical" and outcome.initiation_error
    assert outcome.route == NOVA_CI.key


def test_three_initiation_errors_within_five_minutes_put_a_route_down(
    client, rsps, django_capture_on_commit_callbacks
):
    for _ in range(3):
        NOVASEND.mock_initiate_error(rsps, 503)
        with django_capture_on_commit_callbacks(execute=True):
            choose_orange_ci(client, make_order(**CI))
    assert state(NOVA_CI) == "down"
    LYGOS.mock_initiate_ok(rsps)
    order = make_order(**CI)
    choose_orange_ci(client, order)
    assert order.payments.get().provider == "lygos", "the next shopper is moved aside"


# --- staff ------------------------------------------------------------------------------
def caisse(django_user_model):
    user = django_user_model.objects.create_user("caisse", is_staff=True)
    user.groups.add(Group.objects.get(name="Caisse"))
    return user


def test_staff_see_route_health_and_pause_and_resume_a_route_recorded(
    client, django_user_model, settings
):
    client.force_login(caisse(django_user_model))
    assert "Santé des paiements" in client.get(reverse("backoffice:dashboard")).content.decode()
    page = client.get(reverse("backoffice:route_health"))
    assert page.status_code == 200
    assert f'data-route="{ORANGE_ML.key}"' in page.content.decode()

    action = reverse("backoffice:route_health_action")
    client.post(action, {"route": ORANGE_ML.key, "action": "pause", "note": "panne Orange"})

    change = RouteChange.objects.get(route__key=ORANGE_ML.key)
    assert (change.new_state, change.by, change.reason) == ("paused", "caisse", "panne Orange")
    shopper = client_for_shopper()
    assert "disabled" in wallet_label(pay_page(shopper, make_order(**ML)), "wallet:orange-money")
    client.post(action, {"route": ORANGE_ML.key, "action": "resume"})
    assert not RouteHealth.objects.get(key=ORANGE_ML.key).paused
    assert RouteChange.objects.filter(route__key=ORANGE_ML.key).count() == 2
    body = pay_page(shopper, make_order(**ML))
    assert "disabled" not in wallet_label(body, "wallet:orange-money")
    assert "panne Orange" in client.get(reverse("backoffice:route_health")).content.decode()


def client_for_shopper():
    from django.test import Client

    return Client()


def test_staff_without_the_caisse_permissions_get_403(client, django_user_model):
    user = django_user_model.objects.create_user("catalogue", is_staff=True)
    user.groups.add(Group.objects.get(name="Catalogue"))
    client.force_login(user)
    assert client.get(reverse("backoffice:route_health")).status_code == 403
    action = reverse("backoffice:route_health_action")
    assert client.post(action, {"route": ORANGE_ML.key, "action": "pause"}).status_code == 403


def test_the_sandbox_switch_makes_one_create_answer_503(client, settings):
    from payments.sandbox.core import create_fails, fail_create

    settings.PAYMENTS_SANDBOX = True
    settings.ROOT_URLCONF = "tests.support.sandbox_urls"
    assert not create_fails("lygos")
    fail_create("lygos")
    body = json.dumps({"order_id": "x", "amount": 1000})
    answer = client.post("/sandbox/lygos/gateway", body, content_type="application/json")
    assert answer.status_code == 503 and create_fails("lygos") and not create_fails("novasend")
    fail_create("lygos", False)
    assert not create_fails("lygos")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_evaluations_at_once_record_a_move_to_down_once(caplog):
    """Two final outcomes committed together each evaluate the route: the
    conditional UPDATE lets one of them record the change (one alert)."""
    caplog.set_level(logging.WARNING, logger="payments.services.health")
    for _ in range(5):
        payment = make_payment(make_order(**ML), provider="novasend", method="mobile_money")
        RouteOutcome.objects.create(
            payment=payment, route=ORANGE_ML.key, kind="technical", at=timezone.now()
        )

    verdicts = at_once(lambda: health.evaluate_route(ORANGE_ML), times=8)

    assert len(verdicts) == 8 and state(ORANGE_ML) == "down"
    assert RouteChange.objects.filter(route__key=ORANGE_ML.key, new_state="down").count() == 1
    assert sum("is DOWN" in r.message for r in caplog.records) == 1

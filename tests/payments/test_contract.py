"""The shared contract suite: the callback, money, provider-fault
and bad-input rows, run against every provider through its kit (payloads
from the vendor docs, ``responses`` at the HTTP boundary only)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from payments import services
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.providers import PROVIDER_CLASSES, get_provider
from payments.redaction import mask_phones_in_body
from shop.models import Order, Product
from tests.support.factories import assert_stock_invariant, hold, make_order, make_product
from tests.support.kits import all_kits

KITS = all_kits()
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=KITS, ids=lambda kit: kit.id)
def kit(request, settings):
    kit = request.param
    kit.configure(settings)
    return kit


@pytest.mark.django_db(transaction=False)
def test_every_registered_provider_has_a_kit():
    assert {kit.code for kit in KITS} == set(PROVIDER_CLASSES)
    assert len({kit.id for kit in KITS}) == len(KITS)


def order_for(kit, price=15000, stock=5, quantity=1) -> Order:
    product = make_product(price=price, stock=stock)
    return make_order((product, quantity), country=kit.country, phone=kit.phone)


def start(kit, order) -> Payment:
    return services.start_payment(
        order, kit.code, kit.method, payer_phone=kit.payer_phone or kit.phone, otp=kit.otp
    )


def started(kit, rsps, **order_kwargs) -> Payment:
    kit.mock_initiate_ok(rsps)
    return start(kit, order_for(kit, **order_kwargs))


def post_callback(
    client, kit, body: bytes, headers: dict | None = None, content_type="application/json"
):
    return client.post(
        reverse("payments:callback", args=[kit.code]),
        data=body,
        content_type=content_type,
        **(headers or {}),
    )


def stock_of(order: Order) -> int:
    return Product.objects.get(pk=order.lines.get().product_id).stock


def paid_emails(order: Order) -> int:
    return sum(1 for m in mail.outbox if order.email in m.to)


# --- initiation ----------------------------------------------------------------
def test_start_payment_stores_provider_reference_and_schedules_a_check(kit, rsps):
    payment = started(kit, rsps)
    assert payment.status == PaymentStatus.PENDING
    assert payment.provider_reference
    assert payment.redirect_url or payment.instructions
    assert payment.next_check_at and payment.deadline > timezone.now()
    assert payment.events.filter(kind=PaymentEvent.Kind.REQUEST).exists()


def test_secrets_never_reach_payment_events(kit, rsps):
    payment = started(kit, rsps)
    kit.mock_status(rsps, payment, "succeeded")
    services.check_payment(payment.pk)
    journal = json.dumps(
        list(PaymentEvent.objects.values("data", "headers", "message")), default=str
    )
    for key, value in settings.PAYMENT_PROVIDERS[kit.code].items():
        if (
            key not in ("base_url", "status_path", "status_fallback_path")
            and isinstance(value, str)
            and value
        ):
            assert value not in journal, key


def test_duplicate_submit_gives_one_attempt_and_one_provider_call(kit, rsps):
    kit.mock_initiate_ok(rsps)
    order = order_for(kit)
    first = start(kit, order)
    second = start(kit, order)
    assert first.pk == second.pk
    assert Payment.objects.filter(order=order).count() == 1
    assert sum(1 for call in rsps.calls if call.request.url.startswith(kit.initiate_url())) == 1


def test_initiation_timeout_is_unknown_and_retry_reuses_the_attempt(kit, rsps):
    order = order_for(kit)
    rsps.add("POST", kit.initiate_url(), body=requests.exceptions.ReadTimeout())
    with pytest.raises(services.PaymentStartError) as excinfo:
        start(kit, order)
    payment = Payment.objects.get(order=order)
    assert payment.status == PaymentStatus.PENDING and payment.initiation_unknown
    assert "Réessayez" in str(excinfo.value.message)
    rsps.reset()
    kit.mock_initiate_ok(rsps)
    retried = start(kit, order)
    assert retried.pk == payment.pk, "a retry must not create a second attempt"
    assert Payment.objects.filter(order=order).count() == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_provider_5xx_on_initiation_is_an_unknown_outcome_and_stock_stays_reserved(
    kit, rsps, client, status
):
    order = order_for(kit, stock=3)
    kit.mock_initiate_error(rsps, status)
    hold(client, order)
    response = client.post(
        reverse("payments:pay", args=[order.token]),
        {
            "choice": f"{kit.code}:{kit.method}",
            "payer_phone": kit.payer_phone or kit.phone,
            "otp": kit.otp,
        },
    )
    assert response.status_code in (200, 400)
    assert b"msg error" in response.content and "débité deux fois" in response.content.decode()
    order.refresh_from_db()
    assert order.stock_reserved and stock_of(order) == 2
    # The vendor may have acted before failing: the attempt stays open, its
    # outcome unknown, until the status API or a retry settles it.
    payment = Payment.objects.get(order=order)
    assert payment.status == PaymentStatus.PENDING and payment.initiation_unknown


@pytest.mark.parametrize("total", [0])
def test_money_boundary_is_refused_before_any_provider_call(kit, rsps, total):
    order = order_for(kit)
    Order.objects.filter(pk=order.pk).update(total=total)
    order.refresh_from_db()
    with pytest.raises(services.PaymentStartError):
        start(kit, order)
    assert len(rsps.calls) == 0


# --- status and money ------------------------------------------------------------
def test_success_marks_order_paid_once_and_sends_one_email(kit, rsps, queued_mail):
    payment = started(kit, rsps)
    kit.mock_status(rsps, payment, "succeeded")
    services.check_payment(payment.pk)
    services.check_payment(payment.pk)
    services.check_payment(payment.pk, source="return")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and not payment.needs_review
    order = payment.order
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert queued_mail.names() == ["send_order_confirmation"] and queued_mail.run()
    assert paid_emails(order) == 1
    assert (
        payment.events.filter(
            kind=PaymentEvent.Kind.DECISION, message__startswith="succeeded"
        ).count()
        == 1
    )


@pytest.mark.parametrize("delta", [-1, 1, 10000])
def test_amount_mismatch_is_not_paid_and_needs_review(kit, rsps, delta, queued_mail):
    payment = started(kit, rsps)
    kit.mock_status(rsps, payment, "succeeded", amount=payment.amount + delta)
    services.check_payment(payment.pk)
    payment.refresh_from_db()
    assert payment.needs_review and payment.status != PaymentStatus.SUCCEEDED
    payment.order.refresh_from_db()
    assert payment.order.status != Order.Status.PAID
    assert "alert_staff" in queued_mail.names() and queued_mail.run()
    assert any("needs review" in m.subject for m in mail.outbox), "staff alert"


def test_currency_mismatch_is_not_paid(kit, rsps):
    if not kit.reports_currency:
        pytest.skip(f"{kit.code}'s status answer carries no currency")
    payment = started(kit, rsps)
    kit.mock_status(rsps, payment, "succeeded", currency="GNF" if kit.currency != "GNF" else "XOF")
    services.check_payment(payment.pk)
    payment.refresh_from_db()
    assert payment.status != PaymentStatus.SUCCEEDED
    payment.order.refresh_from_db()
    assert payment.order.status != Order.Status.PAID


@pytest.mark.parametrize("outcome", ["failed", "expired"])
def test_negative_final_status_releases_stock_once(kit, rsps, outcome):
    payment = started(kit, rsps, stock=4, quantity=2)
    assert stock_of(payment.order) == 2
    kit.mock_status(rsps, payment, outcome)
    services.check_payment(payment.pk)
    services.check_payment(payment.pk)
    payment.refresh_from_db()
    assert payment.status in (PaymentStatus.FAILED, PaymentStatus.EXPIRED)
    assert stock_of(payment.order) == 4
    payment.order.refresh_from_db()
    assert not payment.order.stock_reserved and payment.order.is_payable


def test_late_failure_after_success_changes_nothing(kit, rsps):
    payment = started(kit, rsps)
    kit.mock_status(rsps, payment, "succeeded")
    services.check_payment(payment.pk)
    from payments.providers.base import Outcome, StatusResult

    services.apply_status(
        payment.pk, StatusResult(Outcome.FAILED, message="late"), source="callback"
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    payment.order.refresh_from_db()
    assert payment.order.status == Order.Status.PAID and payment.order.stock_reserved


@pytest.mark.parametrize(
    "body,content_type",
    [
        ("<html><body>502 Bad Gateway</body></html>", "text/html"),
        ('{"status": "compl', "application/json"),
        ("{}", "application/json"),
        ("null", "application/json"),
    ],
)
def test_malformed_status_answer_is_unknown_never_success(kit, rsps, body, content_type):
    if kit.callback_is_truth:
        pytest.skip("no status API")
    payment = started(kit, rsps)
    rsps.upsert(kit.status_method, kit.status_url(payment), body=body, content_type=content_type)
    services.check_payment(payment.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert payment.check_count == 1 and payment.next_check_at > timezone.now()


def test_status_5xx_twice_then_success_ends_paid(kit, rsps):
    if kit.callback_is_truth:
        pytest.skip("no status API")
    payment = started(kit, rsps)
    rsps.add(kit.status_method, kit.status_url(payment), status=500, body="oops")
    rsps.add(kit.status_method, kit.status_url(payment), status=503, body="busy")
    for _ in range(2):
        services.check_payment(payment.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING and payment.check_count == 2
    rsps.reset()
    kit.mock_status(rsps, payment, "succeeded")
    services.check_payment(payment.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_429_waits_at_least_retry_after(kit, rsps):
    if kit.callback_is_truth:
        pytest.skip("no status API")
    payment = started(kit, rsps)
    rsps.add(
        kit.status_method,
        kit.status_url(payment),
        status=429,
        headers={"Retry-After": "120"},
        body="slow down",
    )
    before = timezone.now()
    services.check_payment(payment.pk)
    payment.refresh_from_db()
    assert payment.next_check_at >= before + timedelta(seconds=119)


def test_still_pending_past_the_deadline_expires_and_releases_stock(kit, rsps):
    payment = started(kit, rsps, stock=2)
    Payment.objects.filter(pk=payment.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    if not kit.callback_is_truth:
        kit.mock_status(rsps, payment, "pending")
    services.check_payment(payment.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    assert stock_of(payment.order) == 2


def test_unknown_status_at_the_deadline_expires_with_review(kit, rsps):
    if kit.callback_is_truth:
        pytest.skip("no status API")
    payment = started(kit, rsps, stock=2)
    Payment.objects.filter(pk=payment.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    rsps.add(kit.status_method, kit.status_url(payment), body=requests.exceptions.ConnectionError())
    services.check_payment(payment.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED and payment.needs_review
    assert stock_of(payment.order) == 2


def test_success_after_expiry_is_flagged_not_lost(kit, rsps):
    payment = started(kit, rsps, stock=2)
    services.cancel_payment(payment.pk, "test")
    from payments.providers.base import Outcome, StatusResult

    services.apply_status(
        payment.pk,
        StatusResult(Outcome.SUCCEEDED, amount=payment.amount, currency=payment.currency),
        source="callback",
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED and payment.needs_review


# --- the return view ------------------------------------------------------------
def test_force_browsing_the_return_url_never_marks_paid(kit, rsps, client):
    payment = started(kit, rsps)
    if not kit.callback_is_truth:
        kit.mock_status(rsps, payment, "pending")
    url = (
        reverse("payments:return", args=[payment.reference])
        + "?status=success&statut=SUCCESS&ref="
        + str(payment.reference)
    )
    for _ in range(5):
        response = client.get(url)
        assert response.status_code in (200, 302)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    payment.order.refresh_from_db()
    assert payment.order.status == Order.Status.PENDING_PAYMENT


def test_return_view_applies_the_providers_answer(kit, rsps, client):
    payment = started(kit, rsps)
    kit.mock_status(rsps, payment, "succeeded")
    hold(client, payment.order)
    response = client.get(reverse("payments:return", args=[payment.reference]))
    assert response.status_code == 302 and response["Location"] == payment.order.get_absolute_url()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_return_for_unknown_reference_is_404(client):
    assert client.get(reverse("payments:return", args=[uuid.uuid4()])).status_code == 404


# --- callbacks ----------------------------------------------------------------------
def test_callback_is_stored_then_processed_by_a_status_check(kit, rsps, client):
    payment = started(kit, rsps)
    body, headers = kit.callback(payment, "succeeded")
    response = post_callback(client, kit, body, headers)
    assert response.status_code == 200
    event = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK, payment=payment)
    # Stored as it came, phone numbers masked in place.
    assert bytes(event.body) == mask_phones_in_body(body) and event.valid
    if not kit.callback_is_truth:
        kit.mock_status(rsps, payment, "succeeded")
    services.process_callback(event.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_callback_saying_paid_is_not_trusted_when_the_status_api_says_pending(kit, rsps, client):
    if kit.callback_is_truth:
        pytest.skip("the callback is the only truth for this provider")
    payment = started(kit, rsps)
    body, headers = kit.callback(payment, "succeeded")
    post_callback(client, kit, body, headers)
    kit.mock_status(rsps, payment, "pending")
    event = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK, payment=payment)
    services.process_callback(event.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    payment.order.refresh_from_db()
    assert payment.order.status == Order.Status.PENDING_PAYMENT


def test_replayed_callback_is_acknowledged_and_changes_nothing(kit, rsps, client, queued_mail):
    payment = started(kit, rsps)
    if not kit.callback_is_truth:
        kit.mock_status(rsps, payment, "succeeded")
    body, headers = kit.callback(payment, "succeeded")
    first = post_callback(client, kit, body, headers)
    second = post_callback(client, kit, body, headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {"status": "received"}, (
        "a replay looks like any delivery"
    )
    assert (
        PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK, payment=payment).deliveries == 2
    )
    for event in PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK, payment=payment):
        services.process_callback(event.pk)
    payment.refresh_from_db()
    assert (
        payment.events.filter(
            kind=PaymentEvent.Kind.DECISION, message__startswith="succeeded"
        ).count()
        == 1
    )
    assert queued_mail.names() == ["send_order_confirmation"] and queued_mail.run()
    assert paid_emails(payment.order) == 1


def test_form_and_json_deliveries_are_one_event(kit, rsps, client):
    if not hasattr(kit, "form_callback"):
        pytest.skip("the vendor sends one encoding only")
    payment = started(kit, rsps)
    form_body, form_headers = kit.form_callback(payment, "succeeded")
    body, headers = kit.callback(payment, "succeeded")
    form_type = form_headers.pop("CONTENT_TYPE", "application/x-www-form-urlencoded")
    assert (
        post_callback(client, kit, form_body, form_headers, content_type=form_type).status_code
        == 200
    )
    assert post_callback(client, kit, body, headers).status_code == 200
    assert (
        PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK, payment=payment).deliveries == 2
    )


def test_callback_for_an_unknown_reference_is_acknowledged_and_creates_nothing(kit, rsps, client):
    payment = started(kit, rsps)
    body, headers = kit.callback(payment, "succeeded")
    Payment.objects.filter(pk=payment.pk).update(
        reference=uuid.uuid4(), provider_reference="someone-else"
    )
    orders_before = Order.objects.count()
    response = post_callback(client, kit, body, headers)
    assert response.status_code == 200 and response.json()["status"] == "received", (
        "no existence oracle"
    )
    assert (
        PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK, payment__isnull=True).count()
        == 1
    )
    assert Order.objects.count() == orders_before


@pytest.mark.parametrize(
    "body", [b"{not-json", b"", b"[]", b'"text"', b'{"amount": NaN}', b"\xff\xfe"]
)
def test_malformed_callback_is_stored_refused_and_changes_nothing(kit, rsps, client, body):
    payment = started(kit, rsps)
    response = post_callback(client, kit, body)
    assert 400 <= response.status_code < 500
    event = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
    assert event.valid is False
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_oversized_callback_is_refused_without_reading_it(kit, client):
    body = b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    response = post_callback(client, kit, body)
    assert response.status_code == 413
    assert PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK).valid is False


def test_callback_wrong_method_or_content_type(kit, client):
    url = reverse("payments:callback", args=[kit.code])
    assert client.get(url).status_code == 405
    assert client.put(url, data=b"{}", content_type="application/json").status_code == 405
    response = client.post(url, data=b'{"a": 1}', content_type="text/plain")
    assert response.status_code in (400, 415)


def test_callback_for_unknown_provider_is_404(client):
    assert (
        client.post(
            "/payments/callback/paypal/", data=b"{}", content_type="application/json"
        ).status_code
        == 404
    )


def test_forged_callbacks_are_stored_and_refused(kit, rsps, client):
    if not kit.signs_callbacks:
        pytest.skip(f"{kit.id} does not sign its callbacks")
    payment = started(kit, rsps)
    body, headers = kit.callback(payment, "succeeded")
    tampered = body.replace(str(payment.amount).encode(), str(payment.amount * 10).encode(), 1)
    cases = [(body, {}), (body, kit.forged(body, headers)), (tampered, headers)]
    cases += [(body, {k: bad for k in headers}) for bad in ("bad_header", "", "t=,v1=")]
    for case_body, case_headers in cases:
        response = post_callback(client, kit, case_body, case_headers)
        assert 400 <= response.status_code < 500
    assert PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK, valid=False).count() == len(
        cases
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert not mail.outbox


def test_get_provider_is_configured_in_tests(kit):
    assert get_provider(kit.code).is_configured()


@pytest.fixture(autouse=True)
def _stock_invariant():
    """checked after every test of this module."""
    yield
    assert_stock_invariant()

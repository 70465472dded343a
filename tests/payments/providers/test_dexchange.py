"""DEXCHANGE: wire format (the vendor docs named in
payments/providers/dexchange.py), status mapping, webhook parsing,
accept-then-verify through the services, and the sandbox emulator. The
vendor's published samples themselves are the judge in
test_dexchange_samples.py."""

from __future__ import annotations

import json
import re

import pytest
import requests
from responses import matchers

from payments import services
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.providers.base import (
    CallbackRejected,
    Outcome,
    PaymentRequest,
    PaymentView,
    ProviderError,
)
from payments.providers.dexchange import DexchangeProvider
from payments.sandbox import dexchange as emulator
from payments.sandbox.core import settle
from payments.sandbox.models import SandboxPayment
from tests.support.factories import make_order, make_payment, make_product
from tests.support.kits.dexchange import DexchangeKit

BASE = "https://dexchange.test"
CREATE = BASE + "/api/v1/transaction/merchant/get-link"
KEY = "test-dex-key-6HW"
REFERENCE = "6f1c2a7e-1111-4c2b-9d7e-0a1b2c3d4e5f"
TID = "MID123456789"
LINK = "https://pay.dexchange.sn/process/" + TID
CREATED = {
    "success": True,
    "transactionId": TID,
    "PaymentUrl": LINK,
    "externalTransactionId": REFERENCE,
    "Status": "PENDING",
}


def payment_request(**overrides) -> PaymentRequest:
    values = {
        "reference": REFERENCE,
        "amount": 15000,
        "currency": "XOF",
        "description": "Commande A-1 — Ashtech Store",
        "items": (),
        "customer_name": "Ndèye Fàtou Sarr",
        "customer_email": "fatou@example.sn",
        "customer_phone": "+221771234567",
        "country": "SN",
        "method": "hosted",
        "return_url": f"https://shop.test/payments/return/{REFERENCE}/",
        "cancel_url": f"https://shop.test/payments/cancel/{REFERENCE}/",
        "callback_url": "https://shop.test/payments/callback/dexchange/",
    }
    values.update(overrides)
    return PaymentRequest(**values)


def view(provider_reference: str = TID) -> PaymentView:
    return PaymentView(
        reference=REFERENCE,
        provider_reference=provider_reference,
        amount=15000,
        currency="XOF",
        method="hosted",
    )


def status_url(transaction_id: str = TID) -> str:
    return f"{BASE}/api/v1/transaction/merchant/{transaction_id}"


def status_body(status="SUCCESS", amount=15000) -> dict:
    return {
        "message": "Transaction fetched successfully",
        "transaction": {
            "Merchant": "Ashtech Store",
            "ItemName": "Commande A-1",
            "Amount": amount,
            "Number": "771234567",
            "Status": status,
            "Initiated_at": "2024-03-20T10:30:00Z",
            "Completed_at": "2024-03-20T10:35:00Z",
            "SuccessUrl": "https://shop.test/",
        },
    }


# --- initiation --------------------------------------------------------------------
def test_payment_link_request_is_built_exactly_as_documented(rsps):
    rsps.post(
        CREATE,
        json=CREATED,
        status=201,
        match=[
            matchers.header_matcher(
                {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
            ),
            matchers.json_params_matcher(
                {
                    "externalTransactionId": REFERENCE,
                    "ItemName": "Commande A-1 — Ashtech Store",
                    "ItemPrice": 15000,
                    "customData": json.dumps({"reference": REFERENCE}),
                    "callBackURL": "https://shop.test/payments/callback/dexchange/",
                    "successUrl": f"https://shop.test/payments/return/{REFERENCE}/",
                    "failureUrl": f"https://shop.test/payments/cancel/{REFERENCE}/",
                    "ClientName": "Ndèye Fàtou Sarr",
                    "ClientPhone": "771234567",
                    "Email": "fatou@example.sn",
                },
                strict_match=True,
            ),
        ],
    )
    DexchangeProvider().initiate(payment_request())
    sent = json.loads(rsps.calls[0].request.body)
    assert type(sent["ItemPrice"]) is int
    assert isinstance(sent["customData"], str)


def test_foreign_number_is_sent_with_its_country_code(rsps):
    rsps.post(
        CREATE,
        json=CREATED,
        status=201,
        match=[matchers.json_params_matcher({"ClientPhone": "22670123456"}, strict_match=False)],
    )
    DexchangeProvider().initiate(payment_request(customer_phone="+22670123456"))


def test_created_answer_redirects_to_the_payment_link(rsps):
    rsps.post(CREATE, json=CREATED, status=201)
    initiation = DexchangeProvider().initiate(payment_request())
    assert (initiation.provider_reference, initiation.redirect_url, initiation.outcome) == (
        TID,
        LINK,
        Outcome.PENDING,
    )


def test_created_answer_nested_in_transaction_is_read(rsps):
    rsps.post(
        CREATE,
        json={"message": "Transaction initiated successfully", "transaction": CREATED},
        status=201,
    )
    assert DexchangeProvider().initiate(payment_request()).redirect_url == LINK


def test_missing_payment_url_falls_back_to_the_documented_link_format(rsps):
    rsps.post(CREATE, json={**CREATED, "PaymentUrl": None}, status=201)
    assert DexchangeProvider().initiate(payment_request()).redirect_url == LINK


def test_answer_for_another_external_id_is_not_trusted(rsps):
    rsps.post(CREATE, json={**CREATED, "externalTransactionId": "ORDER-001"}, status=201)
    with pytest.raises(ProviderError) as caught:
        DexchangeProvider().initiate(payment_request())
    assert caught.value.unknown is True


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, "rejected"), (401, "config"), (403, "maintenance"), (422, "rejected")],
)
def test_documented_errors_are_known_refusals_of_their_kind(rsps, status, kind):
    rsps.post(CREATE, json={"message": ["Error description"], "success": False}, status=status)
    with pytest.raises(ProviderError) as caught:
        DexchangeProvider().initiate(payment_request())
    assert (caught.value.kind, caught.value.status_code, caught.value.unknown) == (
        kind,
        status,
        False,
    )


def test_maintenance_is_retryable_but_a_bad_request_is_not(rsps):
    rsps.post(CREATE, json={"message": ["API en maintenance"], "success": False}, status=403)
    rsps.post(
        CREATE, json={"message": ["ItemPrice must be at least 100"], "success": False}, status=400
    )
    provider = DexchangeProvider()
    with pytest.raises(ProviderError) as maintenance:
        provider.initiate(payment_request())
    with pytest.raises(ProviderError) as invalid:
        provider.initiate(payment_request())
    assert (maintenance.value.retryable, invalid.value.retryable) == (True, False)


@pytest.mark.parametrize(
    "body",
    [
        {"message": ["External transaction ID already used"], "success": False},
        # Even a body that looks like a transaction is not trusted: a 409 is
        # documented as an error, and no lookup by externalTransactionId exists.
        {"message": "Transaction already exists", "transaction": CREATED},
    ],
)
def test_409_leaves_the_outcome_unknown_and_claims_no_link(rsps, body):
    rsps.post(CREATE, json=body, status=409)
    with pytest.raises(ProviderError) as caught:
        DexchangeProvider().initiate(payment_request())
    assert (
        caught.value.kind,
        caught.value.status_code,
        caught.value.unknown,
        caught.value.retryable,
    ) == ("duplicate", 409, True, False)
    assert len(rsps.calls) == 1


@pytest.mark.django_db
def test_409_on_a_retry_keeps_the_attempt_pending_and_unknown_without_a_link(rsps):
    order = make_order((make_product(price=15000), 1), country="SN", phone="+221771234567")
    rsps.post(CREATE, body=requests.exceptions.ReadTimeout())
    with pytest.raises(services.PaymentStartError):
        services.start_payment(order, "dexchange", "hosted")
    rsps.reset()
    rsps.post(
        CREATE,
        json={"message": ["External transaction ID already used"], "success": False},
        status=409,
    )
    with pytest.raises(services.PaymentStartError):
        services.start_payment(order, "dexchange", "hosted")
    payment = Payment.objects.get(order=order)
    assert (
        payment.status,
        payment.initiation_unknown,
        payment.redirect_url,
        payment.provider_reference,
    ) == (PaymentStatus.PENDING, True, "", "")


def test_documented_payment_page_host_is_the_only_redirect_allowed(settings):
    settings.PAYMENTS_SANDBOX = False
    settings.DEBUG = False
    provider = DexchangeProvider()
    assert provider.redirect_hosts == ("pay.dexchange.sn",)
    assert provider.allowed_redirect(LINK)
    assert not provider.allowed_redirect("http://pay.dexchange.sn/process/" + TID)
    assert not provider.allowed_redirect("https://pay.dexchange.sn.evil.test/process/" + TID)
    assert not provider.allowed_redirect("https://api-m.dexchange.sn/process/" + TID)


@pytest.mark.django_db
def test_a_link_on_another_host_is_never_shown_to_the_shopper(rsps):
    order = make_order((make_product(price=15000), 1), country="SN", phone="+221771234567")
    rsps.post(
        CREATE,
        json={
            **CREATED,
            "PaymentUrl": "https://pay.evil.test/process/" + TID,
            "externalTransactionId": None,
        },
        status=201,
    )
    with pytest.raises(services.PaymentStartError):
        services.start_payment(order, "dexchange", "hosted")
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.redirect_url) == (PaymentStatus.FAILED, "")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(rsps, status):
    rsps.post(CREATE, body="<html>Bad gateway</html>", status=status)
    with pytest.raises(ProviderError) as caught:
        DexchangeProvider().initiate(payment_request())
    assert caught.value.retryable is True


def test_read_timeout_leaves_the_outcome_unknown(rsps):
    rsps.post(CREATE, body=requests.exceptions.ReadTimeout())
    with pytest.raises(ProviderError) as caught:
        DexchangeProvider().initiate(payment_request())
    assert (caught.value.kind, caught.value.unknown) == ("timeout", True)


def test_connect_timeout_is_known_not_sent(rsps):
    rsps.post(CREATE, body=requests.exceptions.ConnectTimeout())
    with pytest.raises(ProviderError) as caught:
        DexchangeProvider().initiate(payment_request())
    assert (caught.value.unknown, caught.value.retryable) == (False, True)


@pytest.mark.parametrize(
    "body",
    [
        "<html>Maintenance</html>",
        '{"success": true, "transac',
        "{}",
        "[]",
        '{"success": true, "transactionId": 42}',
    ],
)
def test_unreadable_created_answer_leaves_the_outcome_unknown(rsps, body):
    rsps.post(CREATE, body=body, status=201, content_type="application/json")
    with pytest.raises(ProviderError) as caught:
        DexchangeProvider().initiate(payment_request())
    assert caught.value.unknown is True


def test_exchanges_are_recorded_without_the_api_key_or_phone(rsps):
    rsps.post(CREATE, json=CREATED, status=201)
    provider = DexchangeProvider()
    provider.initiate(payment_request())
    recorded = json.dumps(provider.exchanges)
    assert KEY not in recorded
    assert "771234567" not in recorded


# --- status --------------------------------------------------------------------------
def test_status_is_a_bearer_get_by_transaction_id(rsps):
    rsps.get(
        status_url(),
        json=status_body(),
        match=[matchers.header_matcher({"Authorization": f"Bearer {KEY}"})],
    )
    result = DexchangeProvider().fetch_status(view())
    assert (result.outcome, result.amount, result.currency, result.provider_reference) == (
        Outcome.SUCCEEDED,
        15000,
        "XOF",
        TID,
    )


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("SUCCESS", Outcome.SUCCEEDED),
        ("PENDING", Outcome.PENDING),
        ("PROCESSING", Outcome.PENDING),
        ("FAILED", Outcome.FAILED),
        ("CANCELLED", Outcome.FAILED),
        ("EXPIRED", Outcome.EXPIRED),
        ("success", Outcome.SUCCEEDED),
        ("COMPLETED", Outcome.UNKNOWN),
        ("", Outcome.UNKNOWN),
        (None, Outcome.UNKNOWN),
        (2, Outcome.UNKNOWN),
    ],
)
def test_status_mapping_table(rsps, status, outcome):
    rsps.get(status_url(), json=status_body(status))
    assert DexchangeProvider().fetch_status(view()).outcome == outcome


def test_top_level_status_answer_is_read(rsps):
    rsps.get(status_url(), json=status_body()["transaction"])
    assert DexchangeProvider().fetch_status(view()).outcome == Outcome.SUCCEEDED


def fallback_url(transaction_id: str = TID) -> str:
    return f"{BASE}/api/v1/transaction/{transaction_id}"


def test_merchant_endpoint_404_falls_back_to_the_general_status_endpoint(rsps):
    rsps.get(status_url(), json={"message": ["No transaction found"], "success": False}, status=404)
    general = {
        "message": "Transaction fetched successfully",
        "transaction": {"Amount": 15000, "Number": "771234567", "Status": "CANCELLED"},
    }
    rsps.get(
        fallback_url(),
        json=general,
        match=[matchers.header_matcher({"Authorization": f"Bearer {KEY}"})],
    )
    result = DexchangeProvider().fetch_status(view())
    assert (result.outcome, result.amount) == (Outcome.FAILED, 15000)
    assert [call.request.url for call in rsps.calls] == [status_url(), fallback_url()]


def test_both_status_endpoints_404_is_unknown(rsps):
    rsps.get(status_url(), json={"message": ["No transaction found"], "success": False}, status=404)
    rsps.get(
        fallback_url(), json={"message": ["No transaction found"], "success": False}, status=404
    )
    result = DexchangeProvider().fetch_status(view())
    assert result.outcome == Outcome.UNKNOWN
    assert "No transaction found" in result.message


@pytest.mark.parametrize("status", [200, 401, 403])
def test_no_fallback_unless_the_merchant_endpoint_says_404(rsps, status):
    rsps.get(
        status_url(),
        json=status_body("PENDING") if status == 200 else {"message": ["x"], "success": False},
        status=status,
    )
    DexchangeProvider().fetch_status(view())
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("amount", [None, "abc", 15000.5, -15000, "Infinity"])
def test_success_without_a_usable_amount_is_unknown(rsps, amount):
    rsps.get(status_url(), json=status_body(amount=amount))
    assert DexchangeProvider().fetch_status(view()).outcome == Outcome.UNKNOWN


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("<html>oops</html>", 200),
        ('{"message": "Transaction fetched", "transac', 200),
        ("{}", 200),
        ("[]", 200),
        ('{"message": ["No transaction found"], "success": false}', 404),
        ('{"message": ["API en maintenance"], "success": false}', 403),
    ],
)
def test_malformed_or_refused_status_answers_are_unknown(rsps, body, status):
    rsps.get(status_url(), body=body, status=status, content_type="application/json")
    rsps.get(fallback_url(), body=body, status=status, content_type="application/json")
    assert DexchangeProvider().fetch_status(view()).outcome == Outcome.UNKNOWN


def test_no_transaction_id_yet_is_unknown_without_a_call(rsps):
    assert DexchangeProvider().fetch_status(view(provider_reference="")).outcome == Outcome.UNKNOWN
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.ReadTimeout(),
        requests.exceptions.ConnectTimeout(),
        requests.exceptions.ConnectionError(),
    ],
)
def test_status_call_failures_raise_a_retryable_provider_error(rsps, error):
    rsps.get(status_url(), body=error)
    with pytest.raises(ProviderError) as caught:
        DexchangeProvider().fetch_status(view())
    assert caught.value.retryable is True


# --- webhook --------------------------------------------------------------------------
WEBHOOK = {
    "id": TID,
    "externalTransactionId": REFERENCE,
    "transactionType": "MERCHANT",
    "AMOUNT": 15000,
    "FEE": 150,
    "PHONE_NUMBER": "771234567",
    "STATUS": "SUCCESS",
    "CUSTOM_DATA": json.dumps({"reference": REFERENCE}),
    "COMPLETED_AT": "2024-03-20T10:35:00Z",
    "BALANCE": 114850,
    "PREVIOUS_BALANCE": 100000,
    "CURRENT_BALANCE": 114850,
}


def parse(body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return DexchangeProvider().parse_callback(raw, {})


def test_webhook_is_a_hint_with_both_references():
    info = parse(WEBHOOK)
    assert (
        info.reference,
        info.provider_reference,
        info.event_id,
        info.authentic,
        info.result,
    ) == (REFERENCE, TID, f"{TID}:SUCCESS", None, None)


def test_webhook_with_a_numeric_id_or_only_our_reference_is_read():
    assert parse({**WEBHOOK, "id": 987654}).provider_reference == "987654"
    info = parse({k: v for k, v in WEBHOOK.items() if k != "id"})
    assert (info.reference, info.provider_reference, info.event_id) == (
        REFERENCE,
        "",
        f"{REFERENCE}:SUCCESS",
    )


def test_webhook_without_external_id_finds_our_reference_in_custom_data():
    info = parse({**WEBHOOK, "externalTransactionId": None})
    assert (info.reference, info.provider_reference) == (REFERENCE, TID)
    assert (
        parse({**WEBHOOK, "externalTransactionId": "", "CUSTOM_DATA": "not json"}).reference == ""
    )


@pytest.mark.parametrize(
    "status", ["SUCCESS", "COMPLETED", "FAILED", "EXPIRED", "PROCESSING", "SOMETHING_NEW"]
)
def test_any_webhook_status_is_only_a_hint(status):
    info = parse({**WEBHOOK, "STATUS": status})
    assert (info.result, info.authentic) == (None, None)


def test_each_status_change_is_a_distinct_event():
    assert parse({**WEBHOOK, "STATUS": "PENDING"}).event_id != parse(WEBHOOK).event_id


@pytest.mark.parametrize(
    "body",
    [
        b"{not-json",
        b"",
        b"[]",
        b"null",
        json.dumps(
            {
                k: v
                for k, v in WEBHOOK.items()
                if k not in ("id", "externalTransactionId", "CUSTOM_DATA")
            }
        ).encode(),
        json.dumps({**WEBHOOK, "id": "", "externalTransactionId": "", "CUSTOM_DATA": ""}).encode(),
        json.dumps({**WEBHOOK, "id": ["MID1"]}).encode(),
        json.dumps({**WEBHOOK, "externalTransactionId": {"a": 1}}).encode(),
        json.dumps({**WEBHOOK, "id": True}).encode(),
        json.dumps({k: v for k, v in WEBHOOK.items() if k != "STATUS"}).encode(),
        json.dumps({**WEBHOOK, "STATUS": 1}).encode(),
        json.dumps({**WEBHOOK, "AMOUNT": "abc"}).encode(),
        json.dumps({**WEBHOOK, "AMOUNT": -1}).encode(),
        b'{"id": "MID1", "externalTransactionId": "x", "STATUS": "SUCCESS", "AMOUNT": NaN}',
        b'{"id": "MID1", "externalTransactionId": "x", "STATUS": "SUCCESS", "AMOUNT": 1e309}',
    ],
)
def test_malformed_webhooks_are_rejected_with_400(body):
    with pytest.raises(CallbackRejected) as caught:
        parse(body)
    assert caught.value.status_code == 400


def test_kit_webhook_parses():
    payment = Payment(provider="dexchange", provider_reference=TID, amount=15000, currency="XOF")
    body, headers = DexchangeKit().callback(payment, "expired")
    info = DexchangeProvider().parse_callback(body, headers)
    assert (info.provider_reference, info.reference) == (TID, str(payment.reference))


# --- through the services -----------------------------------------------------------------
def sn_payment() -> Payment:
    order = make_order((make_product(price=15000), 1), country="SN", phone="+221771234567")
    return make_payment(order, provider="dexchange", method="hosted", provider_reference=TID)


def post_webhook(client, payment: Payment, status: str = "SUCCESS"):
    body = {**WEBHOOK, "externalTransactionId": str(payment.reference), "STATUS": status}
    return client.post(
        "/payments/callback/dexchange/", data=json.dumps(body), content_type="application/json"
    )


@pytest.mark.django_db
def test_start_payment_sends_our_reference_and_stores_the_link(rsps):
    order = make_order((make_product(price=15000), 1), country="SN", phone="+221771234567")
    DexchangeKit().mock_initiate_ok(rsps)
    payment = services.start_payment(order, "dexchange", "hosted")
    sent = json.loads(rsps.calls[0].request.body)
    assert sent["externalTransactionId"] == str(payment.reference)
    assert (payment.provider_reference, payment.redirect_url, payment.status) == (
        TID,
        LINK,
        PaymentStatus.PENDING,
    )


@pytest.mark.django_db
def test_orders_below_the_100_fcfa_minimum_never_reach_dexchange(rsps):
    order = make_order((make_product(price=50), 1), country="SN", phone="+221771234567")
    with pytest.raises(services.PaymentStartError):
        services.start_payment(order, "dexchange", "hosted")
    assert len(rsps.calls) == 0
    assert not Payment.objects.filter(order=order).exists()


@pytest.mark.django_db
def test_webhook_success_is_verified_with_the_status_api(client, rsps, queued_callbacks):
    payment = sn_payment()
    rsps.get(status_url(), json=status_body("SUCCESS", 15000))
    assert post_webhook(client, payment).json() == {"status": "received"}
    assert services.process_callback(queued_callbacks[0]).status == PaymentStatus.SUCCEEDED


@pytest.mark.django_db
def test_webhook_says_success_but_status_api_says_pending_stays_pending(
    client, rsps, queued_callbacks
):
    payment = sn_payment()
    rsps.get(status_url(), json=status_body("PENDING", 15000))
    post_webhook(client, payment)
    payment = services.process_callback(queued_callbacks[0])
    assert (payment.status, payment.needs_review) == (PaymentStatus.PENDING, False)


@pytest.mark.django_db
def test_status_api_success_with_another_amount_needs_review(client, rsps, queued_callbacks):
    payment = sn_payment()
    rsps.get(status_url(), json=status_body("SUCCESS", 1500))
    post_webhook(client, payment)
    payment = services.process_callback(queued_callbacks[0])
    assert (payment.status, payment.needs_review) == (PaymentStatus.PENDING, True)


@pytest.mark.django_db
def test_webhook_completed_is_re_queried_never_paid(client, rsps, queued_callbacks):
    payment = sn_payment()
    rsps.get(status_url(), json=status_body("COMPLETED", 15000))
    assert post_webhook(client, payment, "COMPLETED").status_code == 200
    payment = services.process_callback(queued_callbacks[0])
    assert payment.status == PaymentStatus.PENDING


@pytest.mark.django_db
def test_webhook_without_trailing_slash_is_accepted_not_redirected(client, rsps, queued_callbacks):
    payment = sn_payment()
    body = {**WEBHOOK, "externalTransactionId": str(payment.reference)}
    response = client.post(
        "/payments/callback/dexchange", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200
    assert len(queued_callbacks) == 1


@pytest.mark.django_db
def test_webhook_before_the_create_answer_is_kept_and_linked_at_initiation(
    client, rsps, queued_callbacks
):
    order = make_order((make_product(price=15000), 1), country="SN", phone="+221771234567")
    early = {**WEBHOOK, "externalTransactionId": "", "CUSTOM_DATA": ""}
    response = client.post(
        "/payments/callback/dexchange/", data=json.dumps(early), content_type="application/json"
    )
    assert response.status_code == 200
    event = PaymentEvent.objects.get(provider="dexchange", kind="callback")
    assert (event.valid, event.payment_id) == (True, None)
    DexchangeKit().mock_initiate_ok(rsps)
    payment = services.start_payment(order, "dexchange", "hosted")
    event.refresh_from_db()
    assert event.payment_id == payment.pk


@pytest.mark.django_db
def test_expired_link_expires_the_payment(rsps):
    payment = sn_payment()
    rsps.get(status_url(), json=status_body("EXPIRED", 15000))
    assert services.check_payment(payment.pk, source="poll").status == PaymentStatus.EXPIRED


@pytest.mark.django_db
def test_malformed_webhook_is_stored_invalid_and_refused(client, queued_callbacks):
    response = client.post(
        "/payments/callback/dexchange/",
        data=b'{"id": "MID1", "STATUS": "SUCCESS", "AMOUNT": "abc"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert (
        PaymentEvent.objects.filter(provider="dexchange", kind="callback", valid=False).count() == 1
    )
    assert queued_callbacks == []


# --- sandbox emulator ----------------------------------------------------------------------
SANDBOX = "/sandbox/dexchange"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {KEY}"}
SANDBOX_LINK = {
    "externalTransactionId": REFERENCE,
    "ItemName": "Commande A-1",
    "ItemPrice": 15000,
    "customData": json.dumps({"reference": REFERENCE}),
    "callBackURL": "https://shop.test/payments/callback/dexchange/",
    "successUrl": f"https://shop.test/payments/return/{REFERENCE}/",
    "failureUrl": f"https://shop.test/payments/cancel/{REFERENCE}/",
    "ClientName": "Ndèye Fàtou Sarr",
    "ClientPhone": "771234567",
    "Email": "fatou@example.sn",
}


def get_link(client, body=None, **headers):
    return client.post(
        SANDBOX + "/api/v1/transaction/merchant/get-link",
        data=json.dumps(body or SANDBOX_LINK),
        content_type="application/json",
        **{**AUTH, **headers},
    )


def forward_to_sandbox(rsps, client) -> None:
    """Answer the provider's calls to https://dexchange.test with the emulator."""

    def answer(request):
        path = SANDBOX + request.path_url
        headers = {"HTTP_AUTHORIZATION": request.headers.get("Authorization", "")}
        if request.method == "POST":
            response = client.post(
                path, data=request.body, content_type="application/json", **headers
            )
        else:
            response = client.get(path, **headers)
        return response.status_code, {}, response.content

    for method in ("GET", "POST"):
        rsps.add_callback(
            method,
            re.compile(re.escape(BASE) + "/.*"),
            callback=answer,
            content_type="application/json",
        )


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_creates_a_link_to_its_hosted_page(client, settings):
    response = get_link(client)
    assert response.status_code == 201
    transaction = response.json()["transaction"]
    sp = SandboxPayment.objects.get(provider="dexchange")
    assert transaction == {
        "success": True,
        "transactionId": sp.token,
        "PaymentUrl": f"{settings.SITE_URL}/sandbox/page/dexchange/{sp.token}/",
        "externalTransactionId": REFERENCE,
        "Status": "PENDING",
    }
    assert (sp.merchant_reference, sp.amount, sp.currency) == (REFERENCE, 15000, "XOF")


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
@pytest.mark.parametrize("authorization", ["", "Bearer wrong", f"Basic {KEY}", KEY])
def test_sandbox_refuses_a_wrong_key_with_401(client, authorization):
    response = get_link(client, HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert response.json() == {"message": ["Invalid API key"], "success": False}


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
@pytest.mark.parametrize(
    "change",
    [
        {"ItemPrice": 99},
        {"ItemPrice": 0},
        {"ItemPrice": "15000"},
        {"ItemPrice": 150.5},
        {"externalTransactionId": ""},
        {"ItemName": None},
        {"callBackURL": ""},
        {"successUrl": None},
        {"failureUrl": 3},
    ],
)
def test_sandbox_refuses_invalid_requests_with_400(client, change):
    response = get_link(client, {**SANDBOX_LINK, **change})
    assert response.status_code == 400
    assert response.json()["success"] is False


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_refuses_a_reused_external_id_with_409(client):
    assert get_link(client).status_code == 201
    response = get_link(client)
    assert response.status_code == 409
    assert response.json() == {
        "message": ["External transaction ID already used"],
        "success": False,
    }
    assert SandboxPayment.objects.filter(provider="dexchange").count() == 1


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_status_follows_the_hosted_page(client):
    token = get_link(client).json()["transaction"]["transactionId"]
    url = f"{SANDBOX}/api/v1/transaction/merchant/{token}"
    assert client.get(url, **AUTH).json()["transaction"]["Status"] == "PENDING"
    response = client.post(f"/sandbox/page/dexchange/{token}/", {"action": "pay"})
    assert response.status_code == 302
    assert response["Location"] == SANDBOX_LINK["successUrl"]
    transaction = client.get(url, **AUTH).json()["transaction"]
    assert (transaction["Status"], transaction["Amount"], transaction["Number"]) == (
        "SUCCESS",
        15000,
        "771234567",
    )
    assert client.get(url, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get(f"{SANDBOX}/api/v1/transaction/merchant/MIDNOPE", **AUTH).status_code == 404


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_refusal_sends_the_shopper_to_the_failure_url(client):
    token = get_link(client).json()["transaction"]["transactionId"]
    response = client.post(f"/sandbox/page/dexchange/{token}/", {"action": "refuse"})
    assert response["Location"] == SANDBOX_LINK["failureUrl"]


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_webhook_has_the_documented_fields(client):
    token = get_link(client).json()["transaction"]["transactionId"]
    sp = settle(SandboxPayment.objects.get(token=token), SandboxPayment.Status.EXPIRED)
    url, body, headers = emulator.callback_request(sp)
    data = json.loads(body)
    assert url == SANDBOX_LINK["callBackURL"]
    assert set(data) == {
        "id",
        "externalTransactionId",
        "transactionType",
        "AMOUNT",
        "FEE",
        "PHONE_NUMBER",
        "STATUS",
        "CUSTOM_DATA",
        "COMPLETED_AT",
        "BALANCE",
        "PREVIOUS_BALANCE",
        "CURRENT_BALANCE",
    }
    assert (data["id"], data["externalTransactionId"], data["STATUS"], data["AMOUNT"]) == (
        token,
        REFERENCE,
        "EXPIRED",
        15000,
    )
    assert DexchangeProvider().parse_callback(body, headers).provider_reference == token


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_provider_and_sandbox_agree_end_to_end(client, rsps):
    forward_to_sandbox(rsps, client)
    provider = DexchangeProvider()
    initiation = provider.initiate(payment_request())
    sp = SandboxPayment.objects.get(provider="dexchange")
    assert sp.token == initiation.provider_reference
    assert initiation.redirect_url.endswith(f"/sandbox/page/dexchange/{sp.token}/")
    assert provider.fetch_status(view(sp.token)).outcome == Outcome.PENDING
    settle(sp, SandboxPayment.Status.SUCCEEDED)
    result = provider.fetch_status(view(sp.token))
    assert (result.outcome, result.amount, result.currency) == (Outcome.SUCCEEDED, 15000, "XOF")
    # A retry with the same reference is refused by the emulator: never a second link.
    with pytest.raises(ProviderError) as caught:
        provider.initiate(payment_request())
    assert caught.value.kind == "duplicate"
    assert SandboxPayment.objects.filter(provider="dexchange").count() == 1


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_can_answer_flat_and_the_provider_reads_both_shapes(client, rsps, settings):
    settings.SANDBOX_DEXCHANGE_SHAPE = "flat"
    forward_to_sandbox(rsps, client)
    provider = DexchangeProvider()
    initiation = provider.initiate(payment_request())
    sp = SandboxPayment.objects.get(provider="dexchange")
    created = json.loads(rsps.calls[0].response.content)
    assert (
        "transaction" not in created
        and created["transactionId"] == sp.token == initiation.provider_reference
    )
    settle(sp, SandboxPayment.Status.FAILED)
    answer = client.get(f"{SANDBOX}/api/v1/transaction/merchant/{sp.token}", **AUTH).json()
    assert (answer["Status"], answer["Amount"]) == ("FAILED", 15000)
    assert provider.fetch_status(view(sp.token)).outcome == Outcome.FAILED


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_general_status_endpoint_answers_the_fallback(client):
    token = get_link(client).json()["transaction"]["transactionId"]
    settle(SandboxPayment.objects.get(token=token), SandboxPayment.Status.SUCCEEDED)
    response = client.get(f"{SANDBOX}/api/v1/transaction/{token}", **AUTH)
    transaction = response.json()["transaction"]
    assert (response.status_code, transaction["Status"], transaction["Amount"]) == (
        200,
        "SUCCESS",
        15000,
    )
    assert (
        client.get(
            f"{SANDBOX}/api/v1/transaction/{token}", HTTP_AUTHORIZATION="Bearer wrong"
        ).status_code
        == 401
    )
    missing = client.get(f"{SANDBOX}/api/v1/transaction/TIDNOPE", **AUTH)
    assert (missing.status_code, missing.json()) == (
        404,
        {"message": ["No transaction found"], "success": False},
    )

"""Novasend: wire format (vendor text = docs.novasend.app), status mapping,
``X-Signature-Value`` webhooks, redirect hosts, the emulator. The vendor's own
samples are judged in test_novasend_samples.py."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import requests
from django.conf import settings
from django.urls import reverse

from payments.models import PaymentEvent
from payments.providers.base import (
    CallbackRejected,
    Outcome,
    PaymentRequest,
    PaymentView,
    ProviderError,
)
from payments.providers.novasend import NovasendProvider
from payments.sandbox import novasend as emulator
from payments.sandbox.core import page_url, settle
from payments.sandbox.models import SandboxPayment
from tests.support.factories import make_payment
from tests.support.kits.novasend import (
    SECRETS,
    SESSION_REFERENCE,
    post_webhook,
    session_body,
    sign,
    status_body,
    webhook_body,
)
from tests.support.transport import sandbox_transport

BASE = "https://novasend.test"
SESSIONS = BASE + "/v1/payin/sessions"
REFERENCE = "ef76fb64-af0b-4c37-8729-bf61d85721fd"
CONFIG = settings.PAYMENT_PROVIDERS["novasend"]
BASIC = "Basic " + base64.b64encode(f"{CONFIG['api_key']}:{CONFIG['api_client']}".encode()).decode()
SANDBOX = "https://shop.test/sandbox/novasend"


def payment_request(**overrides) -> PaymentRequest:
    values = {
        "reference": REFERENCE,
        "amount": 300,
        "currency": "XOF",
        "description": "Commande A-1 — Ashtech Store",
        "items": (),
        "customer_name": "John Doe",
        "customer_email": "john@example.ci",
        "customer_phone": "+2250749929598",
        "country": "CI",
        "method": "mobile_money",
        "return_url": f"https://shop.test/payments/return/{REFERENCE}/",
        "cancel_url": f"https://shop.test/payments/cancel/{REFERENCE}/",
        "callback_url": "https://shop.test/payments/callback/novasend/",
        "payer_phone": "+2250702968786",
    }
    values.update(overrides)
    return PaymentRequest(**values)


def view(
    provider_reference: str = SESSION_REFERENCE, reference: str = REFERENCE, amount: int = 300
) -> PaymentView:
    return PaymentView(
        reference=reference,
        provider_reference=provider_reference,
        amount=amount,
        currency="XOF",
        method="mobile_money",
    )


def provider(**config) -> NovasendProvider:
    return NovasendProvider(config={**CONFIG, **config})


def status_url(key: str = SESSION_REFERENCE) -> str:
    return f"{BASE}/v1/payin/{key}"


# --- initiation ------------------------------------------------------------------
def test_initiation_posts_the_documented_session_request(rsps):
    rsps.post(SESSIONS, json=session_body(REFERENCE), status=201)
    provider().initiate(payment_request())
    call = rsps.calls[0]
    assert call.request.method == "POST" and call.request.url == SESSIONS
    assert call.request.headers["Authorization"] == BASIC
    assert call.request.headers["X-Idempotency-Key"] == REFERENCE
    assert call.request.headers["Content-Type"] == "application/json"
    body = json.loads(call.request.body)
    assert body == {
        "reference": REFERENCE,
        "accountId": "merchant_test01",
        "amount": 300,
        "msisdn": "+2250702968786",
        "customerName": "John Doe",
        "country": "CI",
    }
    assert type(body["amount"]) is int


def test_msisdn_falls_back_to_the_customer_phone_and_country_follows_the_number(rsps):
    rsps.post(SESSIONS, json=session_body(REFERENCE), status=201)
    provider().initiate(
        payment_request(payer_phone="", customer_phone="+221771234567", country="CI")
    )
    body = json.loads(rsps.calls[0].request.body)
    assert body["msisdn"] == "+221771234567" and body["country"] == "SN"


def test_a_retry_sends_the_same_idempotency_key(rsps):
    rsps.post(SESSIONS, json=session_body(REFERENCE), status=201)
    first = provider().initiate(payment_request())
    second = provider().initiate(payment_request())
    keys = {call.request.headers["X-Idempotency-Key"] for call in rsps.calls}
    assert keys == {REFERENCE} and first.provider_reference == second.provider_reference


def test_confirmation_link_becomes_the_redirect(rsps):
    rsps.post(SESSIONS, json=session_body(REFERENCE), status=201)
    initiation = provider().initiate(payment_request())
    assert initiation.provider_reference == SESSION_REFERENCE
    assert initiation.redirect_url == "https://link.novasend.app/link/Xk2p9Q"
    assert initiation.outcome == Outcome.PENDING


@pytest.mark.parametrize(
    "changes",
    [
        {"confirmationRequired": False},
        {"paymentUrl": None},
        {"paymentUrl": "javascript:alert(1)"},
        {"confirmationRequired": "true"},
    ],
)
def test_without_a_usable_confirmation_link_the_flow_is_push(rsps, changes):
    rsps.post(SESSIONS, json={**session_body(REFERENCE), **changes}, status=201)
    initiation = provider().initiate(payment_request())
    assert initiation.redirect_url == ""
    assert initiation.instructions == {"flow": "push", "method": "mobile_money"}


@pytest.mark.parametrize(
    "changes",
    [{"confirmationStatus": "declined"}, {"confirmationStatus": "expired"}, {"status": "expired"}],
)
def test_a_session_refused_at_once_ends_the_attempt(rsps, changes):
    rsps.post(SESSIONS, json={**session_body(REFERENCE), **changes}, status=201)
    assert provider().initiate(payment_request()).outcome == Outcome.FAILED


@pytest.mark.parametrize(
    "body,content_type",
    [
        ("<html><body>Bad gateway</body></html>", "text/html"),
        ('{"reference": "tr_', "application/json"),
        ("{}", "application/json"),
        ("[]", "application/json"),
        (
            json.dumps({**session_body(REFERENCE), "customerReference": str(uuid.uuid4())}),
            "application/json",
        ),
    ],
)
def test_unreadable_session_answer_is_an_unknown_outcome(rsps, body, content_type):
    rsps.post(SESSIONS, body=body, content_type=content_type, status=201)
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.kind == "malformed" and excinfo.value.unknown


@pytest.mark.parametrize(
    "status,body",
    [
        (
            400,
            {"statusCode": 400, "message": "country is not supported", "error": "Bad Request"},
        ),
        (
            401,
            {"statusCode": 401, "message": "unauthenticated", "error": "Unauthorized"},
        ),
        (
            403,
            {"statusCode": 403, "message": "WALLET.BALANCE_REACH_LIMIT", "error": "Forbidden"},
        ),
        (
            404,
            {"statusCode": 404, "message": "wallet does not exist", "error": "Not Found"},
        ),
        (
            422,
            {
                "statusCode": 422,
                "message": "Validation error",
                "error": "Unprocessable Entity",
                "subErrors": ["msisdn must be a valid phone number"],
            },
        ),
        (418, {"statusCode": 418}),
    ],
)
def test_error_answers_become_final_rejections_with_the_vendors_words_journalled(
    rsps, status, body
):
    rsps.post(
        SESSIONS,
        json={**body, "correlationId": "d84caf0f-0941-4998-8376-68c7c9ab7913"},
        status=status,
    )
    novasend = provider()
    with pytest.raises(ProviderError) as excinfo:
        novasend.initiate(payment_request())
    assert excinfo.value.kind == "rejected" and excinfo.value.status_code == status
    assert not excinfo.value.retryable and not excinfo.value.unknown
    assert str(excinfo.value) == f"novasend: HTTP {status} {body.get('error', '')}".strip()
    assert novasend.exchanges[-1]["response"] == {
        **body,
        "correlationId": "d84caf0f-0941-4998-8376-68c7c9ab7913",
    }


def test_conflict_on_a_known_reference_reuses_the_existing_session(rsps):
    rsps.post(
        SESSIONS,
        json={"statusCode": 409, "error": "Conflict", "message": "payment already exists"},
        status=409,
    )
    rsps.get(status_url(REFERENCE), json=status_body(REFERENCE, "pending", 300))
    initiation = provider().initiate(payment_request())
    assert initiation.provider_reference == SESSION_REFERENCE
    assert initiation.instructions == {"flow": "push", "method": "mobile_money"}


@pytest.mark.parametrize(
    "lookup",
    [
        {"status": 404, "json": {"statusCode": 404, "error": "Not Found"}},
        {"json": status_body(str(uuid.uuid4()), "pending", 300)},
    ],
)
def test_conflict_that_is_not_our_session_is_refused(rsps, lookup):
    message = "payment can not processed, recipient not match with selected service PAYIN_ORANGE_CI"
    rsps.post(
        SESSIONS, json={"statusCode": 409, "error": "Conflict", "message": message}, status=409
    )
    rsps.get(status_url(REFERENCE), **lookup)
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.kind == "rejected" and excinfo.value.status_code == 409
    assert not excinfo.value.unknown, "the vendor said no: the attempt ends"


def test_conflict_whose_lookup_times_out_is_unknown_not_failed(rsps):
    rsps.post(
        SESSIONS,
        json={"statusCode": 409, "error": "Conflict", "message": "payment already exists"},
        status=409,
    )
    rsps.get(status_url(REFERENCE), body=requests.exceptions.ReadTimeout())
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.unknown and excinfo.value.retryable


@pytest.mark.parametrize(
    "error,unknown",
    [(requests.exceptions.ReadTimeout(), True), (requests.exceptions.ConnectTimeout(), False)],
)
def test_timeouts_are_retryable_and_a_read_timeout_is_unknown(rsps, error, unknown):
    rsps.post(SESSIONS, body=error)
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert (
        excinfo.value.kind == "timeout"
        and excinfo.value.retryable
        and excinfo.value.unknown is unknown
    )


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(rsps, status):
    rsps.post(
        SESSIONS, json={"statusCode": status, "error": "Internal Server Error"}, status=status
    )
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.retryable and excinfo.value.status_code == status


def test_recorded_exchanges_hold_no_credential(rsps):
    rsps.post(SESSIONS, json=session_body(REFERENCE), status=201)
    novasend = provider()
    novasend.initiate(payment_request())
    journal = json.dumps(novasend.exchanges)
    for secret in (CONFIG["api_key"], CONFIG["api_client"], CONFIG["account_id"], BASIC):
        assert secret not in journal
    assert "+2250702968786" not in journal


# --- status ------------------------------------------------------------------------
def test_status_asks_by_novasends_reference_with_basic_auth(rsps):
    rsps.get(status_url(), json=status_body(REFERENCE, "succeeded", 300))
    result = provider().fetch_status(view())
    call = rsps.calls[0]
    assert call.request.method == "GET" and call.request.url == status_url()
    assert call.request.headers["Authorization"] == BASIC
    assert result.outcome == Outcome.SUCCEEDED and result.amount == 300 and result.currency == "XOF"
    assert result.provider_reference == SESSION_REFERENCE


def test_documented_example_maps_to_success_with_the_transaction_amount(rsps):
    rsps.get(status_url(), json=status_body(REFERENCE, "succeeded", 153))
    result = provider().fetch_status(view(amount=153))
    assert (result.outcome, result.amount, result.currency) == (Outcome.SUCCEEDED, 153, "XOF")


def test_without_novasends_reference_status_asks_by_ours_and_needs_it_echoed(rsps):
    rsps.get(status_url(REFERENCE), json=status_body(REFERENCE, "succeeded", 300))
    assert provider().fetch_status(view(provider_reference="")).outcome == Outcome.SUCCEEDED
    rsps.upsert(
        "GET",
        status_url(REFERENCE),
        json={**status_body(REFERENCE, "succeeded", 300), "customerReference": None},
    )
    assert provider().fetch_status(view(provider_reference="")).outcome == Outcome.UNKNOWN


def _with_transaction(**changes) -> dict:
    body = status_body(REFERENCE, "succeeded", 300)
    body["transaction"] = {**body["transaction"], **changes}
    return body


@pytest.mark.parametrize(
    "body,expected",
    [
        # transaction.status is the final truth
        (status_body(REFERENCE, "succeeded", 300), Outcome.SUCCEEDED),
        (status_body(REFERENCE, "failed", 300), Outcome.FAILED),
        (_with_transaction(status="pending"), Outcome.PENDING),
        (_with_transaction(status="COMPLETED"), Outcome.SUCCEEDED),
        (_with_transaction(status="reversed"), Outcome.UNKNOWN),
        # a success contradicted by the session is not trusted
        (
            {**status_body(REFERENCE, "succeeded", 300), "confirmationStatus": "declined"},
            Outcome.UNKNOWN,
        ),
        ({**status_body(REFERENCE, "succeeded", 300), "status": "expired"}, Outcome.UNKNOWN),
        ({**status_body(REFERENCE, "succeeded", 300), "failure": {"code": "X"}}, Outcome.UNKNOWN),
        # transaction pending or absent: the session decides
        ({**_with_transaction(status="pending"), "confirmationStatus": "declined"}, Outcome.FAILED),
        (
            {**status_body(REFERENCE, "pending", 300), "confirmationStatus": "declined"},
            Outcome.FAILED,
        ),
        (
            {**status_body(REFERENCE, "pending", 300), "confirmationStatus": "expired"},
            Outcome.EXPIRED,
        ),
        (status_body(REFERENCE, "expired", 300), Outcome.EXPIRED),
        (
            {
                **status_body(REFERENCE, "pending", 300),
                "failure": {"code": "PAYMENT.CAN_NOT_PROCESS", "message": "…"},
            },
            Outcome.FAILED,
        ),
        (status_body(REFERENCE, "pending", 300), Outcome.PENDING),
        (
            {
                **status_body(REFERENCE, "pending", 300),
                "status": "processed",
                "confirmationStatus": "accepted",
            },
            Outcome.PENDING,
        ),
        ({**status_body(REFERENCE, "pending", 300), "transaction": {}}, Outcome.PENDING),
        # "processed" alone is not success
        (
            {**status_body(REFERENCE, "pending", 300), "status": "processed", "transaction": None},
            Outcome.PENDING,
        ),
        # anything else
        ({**status_body(REFERENCE, "pending", 300), "status": "settled"}, Outcome.UNKNOWN),
        ({**status_body(REFERENCE, "pending", 300), "status": None}, Outcome.UNKNOWN),
        ({**status_body(REFERENCE, "succeeded", 300), "transaction": "completed"}, Outcome.UNKNOWN),
        ({**status_body(REFERENCE, "succeeded", 300), "type": "payout"}, Outcome.UNKNOWN),
        (
            {**status_body(REFERENCE, "succeeded", 300), "customerReference": str(uuid.uuid4())},
            Outcome.UNKNOWN,
        ),
        ({}, Outcome.UNKNOWN),
    ],
)
def test_status_mapping_table(rsps, body, expected):
    rsps.get(status_url(), json=body)
    assert provider().fetch_status(view()).outcome == expected


@pytest.mark.parametrize(
    "amount", [None, "", "abc", "NaN", "Infinity", "-300", "300.50", True, [300]]
)
def test_success_without_a_usable_amount_is_unknown(rsps, amount):
    rsps.get(status_url(), json=_with_transaction(amount=amount))
    result = provider().fetch_status(view())
    assert result.outcome == Outcome.UNKNOWN and result.amount is None


def test_currency_comes_from_the_transaction(rsps):
    rsps.get(status_url(), json=_with_transaction(currency="xaf"))
    assert provider().fetch_status(view()).currency == "XAF"
    rsps.upsert("GET", status_url(), json=_with_transaction(currency=None))
    result = provider().fetch_status(view())
    assert result.outcome == Outcome.SUCCEEDED and result.currency is None  # the services flag it


@pytest.mark.parametrize(
    "body,content_type",
    [
        ("<html><body>502 Bad Gateway</body></html>", "text/html"),
        ('{"status": "processed", "transaction": {"status": "compl', "application/json"),
        ("[]", "application/json"),
        ("null", "application/json"),
    ],
)
def test_malformed_status_answer_is_unknown(rsps, body, content_type):
    rsps.get(status_url(), body=body, content_type=content_type)
    assert provider().fetch_status(view()).outcome == Outcome.UNKNOWN


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_status_error_answers_are_unknown(rsps, status):
    rsps.get(
        status_url(), json={"statusCode": status, "error": "Nope", "message": "…"}, status=status
    )
    result = provider().fetch_status(view())
    assert result.outcome == Outcome.UNKNOWN and str(status) in result.message


def test_status_timeout_and_5xx_raise_retryable_errors(rsps):
    rsps.get(status_url(), body=requests.exceptions.ReadTimeout())
    with pytest.raises(ProviderError) as excinfo:
        provider().fetch_status(view())
    assert excinfo.value.retryable
    rsps.upsert("GET", status_url(), status=503, body="busy")
    with pytest.raises(ProviderError):
        provider().fetch_status(view())


def test_polling_is_at_most_every_ten_seconds():
    assert NovasendProvider.min_poll_interval == 10


# --- webhook -----------------------------------------------------------------------------
def signed_headers(body: bytes, secret: str = SECRETS[0]) -> dict:
    return {"X-Signature-Value": sign(body, secret), "Content-Type": "application/json"}


def docs_webhook(
    reference: str = REFERENCE,
    status: str = "processing",
    confirmation: str = "none",
    amount: int = 300,
    **extra,
) -> bytes:
    """A webhook in the docs.novasend.app/webhook shape (the transaction object)."""
    body = {
        "id": SESSION_REFERENCE,
        "fees": 6,
        "type": "payin",
        "amount": amount,
        "status": status,
        "failure": None,
        "currency": "XOF",
        "customer": {"name": "John Doe", "phoneNumber": "+2250749929598"},
        "createdAt": "2025-08-22T01:34:48.189Z",
        "reference": reference,
        "paymentUrl": "https://link.novasend.app/link/Xk2p9Q",
        "chargedAmount": amount + 6,
        "confirmationStatus": confirmation,
        "confirmationRequired": True,
        **extra,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def test_documented_webhook_signed_with_the_current_secret_is_a_trigger_only():
    body = docs_webhook()
    info = provider().parse_callback(body, signed_headers(body))
    assert info.authentic is True
    assert info.reference == REFERENCE and info.provider_reference == SESSION_REFERENCE
    assert info.result is None  # a trigger: the status API decides


@pytest.mark.parametrize(
    "status,confirmation",
    [
        ("processing", "none"),
        ("processing", "accepted"),
        ("processed", "accepted"),
        ("processed", "declined"),
    ],
)
def test_final_and_non_final_webhooks_alike_only_name_the_payment(status, confirmation):
    body = docs_webhook(status=status, confirmation=confirmation)
    info = provider().parse_callback(body, signed_headers(body))
    assert (info.reference, info.provider_reference, info.result) == (
        REFERENCE,
        SESSION_REFERENCE,
        None,
    )


@pytest.mark.parametrize("secret", SECRETS)
def test_every_active_secret_is_accepted_during_a_rotation(secret):
    body = docs_webhook()
    assert provider().parse_callback(body, signed_headers(body, secret)).authentic is True


def test_signature_header_name_and_hex_case_are_tolerated():
    body = docs_webhook()
    assert (
        provider().parse_callback(body, {"x-signature-value": sign(body).upper()}).authentic is True
    )


def test_the_compact_reserialisation_the_docs_sample_hashes_is_accepted():
    """docs.novasend.app/webhook verifies ``JSON.stringify(body)``: a body sent
    pretty-printed but signed compact still verifies; any other change does not."""
    compact = docs_webhook()
    pretty = json.dumps(json.loads(compact), indent=2).encode()
    assert provider().parse_callback(pretty, {"X-Signature-Value": sign(compact)}).authentic is True
    other = docs_webhook(amount=301)
    with pytest.raises(CallbackRejected):
        provider().parse_callback(
            json.dumps(json.loads(other), indent=2).encode(), {"X-Signature-Value": sign(compact)}
        )


def test_modified_body_is_refused():
    headers = signed_headers(docs_webhook(amount=1500))
    with pytest.raises(CallbackRejected) as excinfo:
        provider().parse_callback(docs_webhook(amount=15000), headers)
    assert excinfo.value.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Signature-Value": ""},
        {"X-Signature-Value": "bad_header"},
        {"X-Signature-Value": "t=,v1="},
        {"X-Signature-Value": "ab" * 31},
        {"X-Signature-Value": "zz" * 32},
        {"X-Signature-Value": "sha256=placeholder"},
        {"X-Signature-Value": "placeholder,placeholder"},
        # the old v1.0 API's header, and an integrator's guess: not this API's
        {"x-novasend-signature": "placeholder"},
        {"x-webhook-signature": "placeholder"},
    ],
)
def test_missing_malformed_or_old_api_signature_is_refused(headers):
    body = docs_webhook()
    headers = {k: v.replace("placeholder", sign(body)) for k, v in headers.items()}
    with pytest.raises(CallbackRejected) as excinfo:
        provider().parse_callback(body, headers)
    assert excinfo.value.status_code == 401


def test_signature_from_another_secret_is_refused():
    body = docs_webhook()
    with pytest.raises(CallbackRejected) as excinfo:
        provider().parse_callback(body, signed_headers(body, "ws_lnuhgwp1pur9o99z3s"))
    assert excinfo.value.status_code == 401


def test_without_configured_secrets_the_webhook_is_an_unsigned_hint():
    body = docs_webhook()
    info = provider(webhook_secrets=[]).parse_callback(body, {"X-Signature-Value": "bad_header"})
    assert info.authentic is None and info.reference == REFERENCE


@pytest.mark.parametrize(
    "body",
    [
        b"{not-json",
        b"",
        b"[]",
        b'{"type": "payin", "status": "processing"}',
        b'{"id": 12, "status": "processing"}',
        b'{"id": "tr_x", "reference": ["a"]}',
        b'{"id": "tr_x", "status": 1}',
        b'{"id": "tr_x", "amount": "abc"}',
        b'{"id": "tr_x", "amount": NaN}',
        b'{"id": "tr_x", "amount": 1e309}',
        b'{"id": "tr_x", "chargedAmount": -5}',
    ],
)
def test_malformed_signed_webhook_is_refused_with_400(body):
    with pytest.raises(CallbackRejected) as excinfo:
        provider().parse_callback(body, signed_headers(body))
    assert excinfo.value.status_code == 400


@pytest.mark.parametrize(
    "fields,expected",
    [
        ({"id": "tr_a1", "reference": "TRX-69806a329d1b9"}, ("TRX-69806a329d1b9", "tr_a1")),
        ({"reference": "tr_a1", "customerReference": REFERENCE}, (REFERENCE, "tr_a1")),
        ({"id": "tr_a1"}, ("", "tr_a1")),
        ({"reference": REFERENCE}, (REFERENCE, "")),
    ],
)
def test_references_are_read_by_their_documented_roles(fields, expected):
    body = json.dumps(fields).encode()
    info = provider().parse_callback(body, signed_headers(body))
    assert (info.reference, info.provider_reference) == expected


def test_a_later_state_of_the_same_transaction_is_a_new_event():
    def event(body: bytes) -> str:
        return provider().parse_callback(body, signed_headers(body)).event_id

    first, confirmed, settled = (
        docs_webhook(),
        docs_webhook(confirmation="accepted"),
        docs_webhook(status="processed", confirmation="accepted"),
    )
    assert len({event(first), event(confirmed), event(settled)}) == 3
    assert event(docs_webhook()) == event(first)  # a redelivery of the same state is a duplicate
    with_id = docs_webhook(eventId="evt_01")
    assert event(with_id) == "evt_01"


@pytest.mark.django_db
def test_webhook_signed_with_the_new_secret_is_accepted_by_the_view(client):
    payment = make_payment(
        provider="novasend", method="mobile_money", provider_reference=SESSION_REFERENCE
    )
    body = webhook_body(payment)
    response = post_webhook(client, body, SECRETS[1])
    assert response.status_code == 200
    event = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
    assert event.valid and event.payment == payment


@pytest.mark.django_db
def test_forged_webhook_is_stored_and_refused_by_the_view(client):
    payment = make_payment(
        provider="novasend", method="mobile_money", provider_reference=SESSION_REFERENCE
    )
    body = webhook_body(payment)
    for headers in (
        {"HTTP_X_SIGNATURE_VALUE": sign(body, "x")},
        {"HTTP_X_NOVASEND_SIGNATURE": sign(body)},
    ):
        response = client.post(
            reverse("payments:callback", args=["novasend"]),
            data=body,
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 401
    assert list(
        PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK).values_list("valid", flat=True)
    ) == [False, False]


# --- redirects ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url,allowed",
    [
        ("https://link.novasend.app/link/Xk2p9Q", True),
        ("https://pay.wave.com/c/cos-22rs5qhyr2ej6?a=306&c=XOF", True),
        ("http://link.novasend.app/link/Xk2p9Q", False),
        ("https://link.novasend.app.evil.test/link/Xk2p9Q", False),
        ("https://business.novasend.app/link/Xk2p9Q", False),
        ("https://user@link.novasend.app/link/Xk2p9Q", False),
    ],
)
def test_only_novasend_confirmation_pages_are_followed(url, allowed):
    assert provider().allowed_redirect(url) is allowed


def test_a_configured_host_list_replaces_the_default():
    assert not provider(redirect_hosts=["pay.example.ci"]).allowed_redirect(
        "https://link.novasend.app/link/Xk2p9Q"
    )
    assert provider(redirect_hosts=["pay.example.ci"]).allowed_redirect("https://pay.example.ci/x")


# --- the sandbox emulator ------------------------------------------------------------------


def create(
    client,
    body: dict | None = None,
    key: str | None = REFERENCE,
    auth: str = BASIC,
    key_header: str = "X-Idempotency-Key",
):
    body = body or {
        "reference": REFERENCE,
        "accountId": "merchant_test01",
        "amount": 300,
        "msisdn": "+2250702968786",
        "customerName": "John Doe",
        "country": "CI",
    }
    headers = {"Authorization": auth}
    if key is not None:
        headers[key_header] = key
    return client.post(
        "/sandbox/novasend/v1/payin/sessions",
        data=json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
class TestEmulator:
    def test_refuses_wrong_credentials_with_the_vendor_body(self, client):
        response = create(client, auth="Basic " + base64.b64encode(b"nope:nope").decode())
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized" and response.json()["statusCode"] == 401
        assert not SandboxPayment.objects.exists()

    def test_requires_the_idempotency_key(self, client):
        assert create(client, key=None).status_code == 400

    def test_answers_the_documented_session(self, client):
        response = create(client)
        assert response.status_code == 201
        data = response.json()
        sp = SandboxPayment.objects.get()
        assert data["reference"] == sp.token and data["reference"].startswith("tr_")
        assert (
            data["customerReference"] == REFERENCE
            and data["amount"] == 300
            and data["currency"] == "XOF"
        )
        assert (
            data["confirmationRequired"] is True
            and data["confirmationStatus"] == "none"
            and data["status"] == "processing"
        )
        assert data["paymentUrl"] == page_url(sp)
        assert sp.callback_url == "https://shop.test/payments/callback/novasend/"

    def test_same_idempotency_key_replays_the_same_session(self, client):
        first = create(client).json()
        second = create(client).json()
        assert first == second and SandboxPayment.objects.count() == 1

    def test_the_old_apis_idempotence_header_is_not_this_apis(self, client):
        assert create(client, key_header="X-Idempotence-Key").status_code == 400
        assert not SandboxPayment.objects.exists()

    def test_same_key_for_another_payment_is_a_conflict(self, client):
        create(client)
        other = {
            "reference": str(uuid.uuid4()),
            "accountId": "merchant_test01",
            "amount": 300,
            "msisdn": "+2250702968786",
            "customerName": "J",
            "country": "CI",
        }
        assert create(client, body=other).status_code == 409

    def test_reused_reference_under_a_new_key_is_a_conflict(self, client):
        create(client)
        assert create(client, key=str(uuid.uuid4())).status_code == 409
        assert SandboxPayment.objects.count() == 1

    def test_validates_the_body(self, client):
        response = create(
            client,
            body={
                "reference": REFERENCE,
                "accountId": "merchant_test01",
                "amount": "300",
                "msisdn": "0702968786",
                "customerName": "",
                "country": "ci",
            },
        )
        assert response.status_code == 422
        assert len(response.json()["subErrors"]) == 4

    def test_unknown_account_is_404(self, client):
        body = {
            "reference": REFERENCE,
            "accountId": "merchant_other",
            "amount": 300,
            "msisdn": "+2250702968786",
            "customerName": "J",
            "country": "CI",
        }
        assert create(client, body=body).status_code == 404

    def test_status_follows_the_shoppers_decision(self, client):
        token = create(client).json()["reference"]
        url = f"/sandbox/novasend/v1/payin/{token}"
        pending = client.get(url, headers={"Authorization": BASIC}).json()
        assert pending["status"] == "processing" and pending["transaction"] is None
        settle(SandboxPayment.objects.get(), SandboxPayment.Status.SUCCEEDED)
        paid = client.get(url, headers={"Authorization": BASIC}).json()
        assert (
            paid["status"] == "processed"
            and paid["transaction"]["status"] == "completed"
            and paid["transaction"]["amount"] == "300.00"
        )
        assert client.get(url).status_code == 401
        assert (
            client.get(
                "/sandbox/novasend/v1/payin/tr_unknown", headers={"Authorization": BASIC}
            ).status_code
            == 404
        )

    def test_a_paid_session_sends_a_non_final_then_a_final_webhook_signed_with_the_first_secret(
        self, client
    ):
        create(client)
        sp = settle(SandboxPayment.objects.get(), SandboxPayment.Status.SUCCEEDED)
        deliveries = emulator.callback_request(sp)
        states = []
        for url, body, headers in deliveries:
            assert url == "https://shop.test/payments/callback/novasend/"
            assert headers["X-Signature-Value"] == sign(
                body, SECRETS[0]
            ) and "x-novasend-signature" not in {k.lower() for k in headers}
            data = json.loads(body)
            assert body == json.dumps(data, separators=(",", ":")).encode()  # compact
            assert data["id"] == sp.token and data["reference"] == REFERENCE
            states.append((data["status"], data["confirmationStatus"]))
            info = provider().parse_callback(body, headers)
            assert (info.reference, info.provider_reference, info.result) == (
                REFERENCE,
                sp.token,
                None,
            )
        assert states == [("processing", "accepted"), ("processed", "accepted")]

    @pytest.mark.parametrize(
        "status,expected",
        [
            (SandboxPayment.Status.FAILED, [("processed", "declined")]),
            (SandboxPayment.Status.EXPIRED, [("expired", "expired")]),
        ],
    )
    def test_an_unpaid_session_sends_one_webhook(self, client, status, expected):
        create(client)
        sp = settle(SandboxPayment.objects.get(), status)
        deliveries = emulator.callback_request(sp)
        assert [
            (json.loads(body)["status"], json.loads(body)["confirmationStatus"])
            for _, body, _ in deliveries
        ] == expected

    def test_no_webhook_while_pending(self, client):
        create(client)
        assert emulator.callback_request(SandboxPayment.objects.get()) is None

    @pytest.mark.parametrize(
        "action,status",
        [("pay", SandboxPayment.Status.SUCCEEDED), ("refuse", SandboxPayment.Status.FAILED)],
    )
    def test_hosted_page_does_not_send_the_shopper_back(self, client, action, status):
        token = create(client).json()["reference"]
        response = client.post(f"/sandbox/page/novasend/{token}/", {"action": action})
        assert response.status_code == 200 and "Location" not in response
        assert SandboxPayment.objects.get().status == status
        assert emulator.browser_target(SandboxPayment.objects.get()) == ""

    def test_provider_and_emulator_agree_end_to_end(self, client, rsps):
        sandbox_transport(rsps, client, SANDBOX)
        novasend = provider(base_url=SANDBOX)
        initiation = novasend.initiate(payment_request())
        again = novasend.initiate(payment_request())  # a retry after a timeout
        sp = SandboxPayment.objects.get()
        assert initiation.provider_reference == again.provider_reference == sp.token
        assert initiation.redirect_url == page_url(sp)
        assert novasend.fetch_status(view(sp.token)).outcome == Outcome.PENDING
        client.post(f"/sandbox/page/novasend/{sp.token}/", {"action": "pay"})
        result = novasend.fetch_status(view(sp.token))
        assert (result.outcome, result.amount, result.currency) == (Outcome.SUCCEEDED, 300, "XOF")

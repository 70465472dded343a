"""Lygos: wire format (Lygos API docs), status mapping, the gateway read for
money, the signed webhooks (docs.lygosapp.com/modules/webhooks), and the
emulator. The vendor's quoted samples are the judge in test_lygos_samples.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from payments import services
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.providers.base import (
    CallbackRejected,
    Outcome,
    PaymentRequest,
    PaymentView,
    ProviderError,
)
from payments.providers.lygos import LygosProvider
from payments.sandbox import lygos as emulator
from payments.sandbox.core import page_url, settle
from payments.sandbox.models import SandboxPayment
from tests.support.factories import make_order, make_product
from tests.support.kits.lygos import (
    GATEWAY_ID,
    SECRETS,
    LygosKit,
    gateway_body,
    post_gateway,
    sign,
    signed_headers,
    webhook,
)
from tests.support.transport import sandbox_transport

BASE = "https://lygos.test/v1"
GATEWAYS = BASE + "/gateway"
REFERENCE = "55a4e677-5700-4ed0-9a2a-9300db894ddb"
PAYIN = f"{BASE}/gateway/payin/{REFERENCE}"
GATEWAY = f"{BASE}/gateway/{GATEWAY_ID}"
KEY = settings.PAYMENT_PROVIDERS["lygos"]["api_key"]
SANDBOX = "https://shop.test/sandbox/lygos"


def payment_request(**overrides) -> PaymentRequest:
    values = {
        "reference": REFERENCE,
        "amount": 15000,
        "currency": "XOF",
        "description": "Commande A-7 — Ashtech Store",
        "items": (),
        "customer_name": "Élodie Ouédraogo",
        "customer_email": "elodie@example.bf",
        "customer_phone": "+22670123456",
        "country": "BF",
        "method": "hosted",
        "return_url": f"https://shop.test/payments/return/{REFERENCE}/",
        "cancel_url": f"https://shop.test/payments/cancel/{REFERENCE}/",
        "callback_url": "https://shop.test/payments/callback/lygos/",
    }
    values.update(overrides)
    return PaymentRequest(**values)


def view(provider_reference: str = GATEWAY_ID, amount: int = 15000) -> PaymentView:
    return PaymentView(
        reference=REFERENCE,
        provider_reference=provider_reference,
        amount=amount,
        currency="XOF",
        method="hosted",
    )


def provider(**config) -> LygosProvider:
    return LygosProvider(config={**settings.PAYMENT_PROVIDERS["lygos"], **config})


def gateway_read(amount: int = 15000, currency: str = "XOF", order_id: str = REFERENCE) -> dict:
    body = gateway_body(order_id, amount, currency)
    body.pop("user_id")
    body["user_country"] = {"name": "Burkina Faso", "iso_code": "BFA"}
    return body


# --- initiation ------------------------------------------------------------------
def test_initiation_posts_the_documented_gateway_request(rsps):
    rsps.post(GATEWAYS, json=gateway_body(REFERENCE, 15000))
    initiation = provider().initiate(payment_request())
    call = rsps.calls[0]
    assert call.request.method == "POST" and call.request.url == GATEWAYS
    assert call.request.headers["api-key"] == KEY
    body = json.loads(call.request.body)
    assert body == {
        "amount": 15000,
        "shop_name": settings.SHOP_NAME,
        "order_id": REFERENCE,
        "message": "Commande A-7 — Ashtech Store",
        "success_url": f"https://shop.test/payments/return/{REFERENCE}/",
        "failure_url": f"https://shop.test/payments/cancel/{REFERENCE}/",
    }
    assert type(body["amount"]) is int
    assert initiation.provider_reference == GATEWAY_ID
    assert initiation.redirect_url == f"https://pay.lygosapp.com/link/{GATEWAY_ID}"
    assert initiation.outcome == Outcome.PENDING


def test_one_hosted_redirect_method_and_a_minimum_of_100():
    lygos = provider()
    assert [(m.code, m.flow.value, m.needs_phone) for m in lygos.methods] == [
        ("hosted", "redirect", False)
    ]
    assert lygos.minimum_amount == 100 and lygos.currencies == ("XOF", "XAF")


@pytest.mark.parametrize(
    "status,body,expected",
    [
        (
            401,
            {"detail": {"message": "No API Key.", "type": "NO_API_KEY_PROVIDED"}},
            "NO_API_KEY_PROVIDED",
        ),
        (
            404,
            {"detail": {"message": "API Key not found", "type": "API_KEY_NOT_FOUND"}},
            "API_KEY_NOT_FOUND",
        ),
        (
            400,
            {"detail": {"message": "User not found or inactive", "type": "GATEWAY_USER_NOT_FOUND"}},
            "GATEWAY_USER_NOT_FOUND",
        ),
        (
            422,
            {
                "detail": [
                    {
                        "loc": ["body", "amount"],
                        "msg": "Input should be a valid integer",
                        "type": "int_type",
                    }
                ]
            },
            "VALIDATION_ERROR amount: Input should be a valid integer",
        ),
        (
            402,
            {
                "detail": [
                    {"loc": ["body", "shop_name"], "msg": "Field required", "type": "missing"}
                ]
            },
            "VALIDATION_ERROR shop_name: Field required",
        ),
        (403, {"detail": {"message": "Forbidden", "type": "FORBIDDEN"}}, "HTTP 403 FORBIDDEN"),
        (
            400,
            {"detail": {"message": "Bad request", "type": "X"}},
            "lygos: HTTP 400 X",
        ),
        (418, "I'm a teapot", "lygos: HTTP 418"),
    ],
)
def test_error_answers_become_rejections_naming_the_problem(rsps, status, body, expected):
    if isinstance(body, str):
        rsps.post(GATEWAYS, body=body, status=status, content_type="text/plain")
    else:
        rsps.post(GATEWAYS, json=body, status=status)
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.kind == "rejected" and excinfo.value.status_code == status
    assert not excinfo.value.unknown
    assert expected in str(excinfo.value)  # what staff read in the payment's last error


def test_a_reused_order_id_reuses_the_existing_gateway(rsps):
    rsps.post(GATEWAYS, json={"detail": {"message": "Conflict", "type": "CONFLICT"}}, status=409)
    other = gateway_body(str(uuid.uuid4()), 500, gateway_id=str(uuid.uuid4()))
    rsps.get(GATEWAYS, json=[other, gateway_body(REFERENCE, 15000)])
    initiation = provider().initiate(payment_request())
    assert initiation.provider_reference == GATEWAY_ID
    assert [c.request.method for c in rsps.calls] == ["POST", "GET"]


@pytest.mark.parametrize(
    "listing",
    [
        {"json": []},
        {"json": {"detail": "x"}},
        {"body": "<html>", "content_type": "text/html"},
        {"status": 401, "json": {}},
    ],
)
def test_a_conflict_without_our_gateway_in_the_list_is_an_unknown_outcome(rsps, listing):
    rsps.post(GATEWAYS, json={"detail": {"message": "Conflict", "type": "CONFLICT"}}, status=409)
    rsps.get(GATEWAYS, **listing)
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.status_code == 409 and excinfo.value.unknown


def test_a_conflict_whose_lookup_times_out_is_unknown_not_failed(rsps):
    rsps.post(GATEWAYS, json={"detail": {}}, status=409)
    rsps.get(GATEWAYS, body=requests.exceptions.ReadTimeout())
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.unknown and excinfo.value.retryable


@pytest.mark.parametrize(
    "error,unknown",
    [(requests.exceptions.ReadTimeout(), True), (requests.exceptions.ConnectTimeout(), False)],
)
def test_timeouts_are_retryable_and_a_read_timeout_is_unknown(rsps, error, unknown):
    rsps.post(GATEWAYS, body=error)
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.kind == "timeout" and excinfo.value.unknown is unknown


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retryable(rsps, status):
    rsps.post(GATEWAYS, body="upstream error", status=status)
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.retryable


@pytest.mark.parametrize(
    "body,content_type",
    [
        ("<html><body>Oops</body></html>", "text/html"),
        ('{"id": "3c90', "application/json"),
        ("{}", "application/json"),
        ("[]", "application/json"),
        (
            json.dumps({**gateway_body(REFERENCE, 15000), "link": "javascript:alert(1)"}),
            "application/json",
        ),
        (json.dumps({**gateway_body(REFERENCE, 15000), "id": None}), "application/json"),
        (json.dumps(gateway_body(str(uuid.uuid4()), 15000)), "application/json"),
    ],
)
def test_unreadable_gateway_answer_is_an_unknown_outcome(rsps, body, content_type):
    rsps.post(GATEWAYS, body=body, content_type=content_type)
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.kind == "malformed" and excinfo.value.unknown


def test_a_gateway_in_another_currency_is_refused(rsps):
    rsps.post(GATEWAYS, json=gateway_body(REFERENCE, 15000, currency="XAF"))
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.kind == "rejected" and not excinfo.value.unknown
    assert "'XAF'" in str(excinfo.value) and "XOF" in str(excinfo.value)


def test_a_gateway_with_another_amount_is_refused(rsps):
    rsps.post(GATEWAYS, json=gateway_body(REFERENCE, 1500))
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.kind == "rejected"


def test_recorded_exchanges_hold_no_api_key(rsps):
    rsps.post(GATEWAYS, json=gateway_body(REFERENCE, 15000))
    lygos = provider()
    lygos.initiate(payment_request())
    assert KEY not in json.dumps(lygos.exchanges)


# --- status ------------------------------------------------------------------------
def test_status_asks_by_our_order_id_then_reads_the_gateway_for_money(rsps):
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": "success"})
    rsps.get(GATEWAY, json=gateway_read())
    result = provider().fetch_status(view())
    assert [c.request.url for c in rsps.calls] == [PAYIN, GATEWAY]
    assert all(c.request.headers["api-key"] == KEY for c in rsps.calls)
    assert (result.outcome, result.amount, result.currency) == (Outcome.SUCCEEDED, 15000, "XOF")
    assert result.provider_reference == GATEWAY_ID
    assert result.raw["payin"]["status"] == "success" and result.raw["gateway"]["amount"] == 15000


@pytest.mark.parametrize(
    "status,expected",
    [
        ("success", Outcome.SUCCEEDED),
        ("SUCCESS", Outcome.SUCCEEDED),
        ("paid", Outcome.SUCCEEDED),
        ("successful", Outcome.SUCCEEDED),
        ("Successful", Outcome.SUCCEEDED),
        ("failed", Outcome.FAILED),
        ("pending", Outcome.PENDING),
        (" Pending ", Outcome.PENDING),
        ("completed", Outcome.UNKNOWN),
        ("succeeded", Outcome.UNKNOWN),
        ("cancelled", Outcome.UNKNOWN),
        ("expired", Outcome.UNKNOWN),
        ("", Outcome.UNKNOWN),
        (None, Outcome.UNKNOWN),
        (1, Outcome.UNKNOWN),
    ],
)
def test_status_mapping_table(rsps, status, expected):
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": status})
    rsps.get(GATEWAY, json=gateway_read())
    assert provider().fetch_status(view()).outcome == expected


@pytest.mark.parametrize("status", ["failed", "pending", "mystery"])
def test_only_a_success_reads_the_gateway(rsps, status):
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": status})
    result = provider().fetch_status(view())
    assert len(rsps.calls) == 1 and result.amount is None


def test_answer_for_another_order_is_unknown(rsps):
    rsps.get(PAYIN, json={"order_id": "someone-else", "status": "success"})
    assert provider().fetch_status(view()).outcome == Outcome.UNKNOWN
    assert len(rsps.calls) == 1


def test_no_payin_yet_is_pending(rsps):
    rsps.get(
        PAYIN,
        json={"detail": {"message": "Payin not found", "type": "PAYIN_NOT_FOUND"}},
        status=404,
    )
    assert provider().fetch_status(view()).outcome == Outcome.PENDING


@pytest.mark.parametrize(
    "status,body",
    [
        (404, {"detail": {"message": "No API Key.", "type": "NO_API_KEY_PROVIDED"}}),
        (404, {"detail": {"message": "API Key not found", "type": "API_KEY_NOT_FOUND"}}),
        (401, {"detail": {"message": "No API Key.", "type": "NO_API_KEY_PROVIDED"}}),
        (422, {"detail": [{"loc": ["path", "order_id"], "msg": "bad", "type": "x"}]}),
        (
            400,
            {"detail": {"message": "User not found or inactive", "type": "GATEWAY_USER_NOT_FOUND"}},
        ),
    ],
)
def test_status_error_answers_are_unknown(rsps, status, body):
    rsps.get(PAYIN, json=body, status=status)
    result = provider().fetch_status(view())
    assert result.outcome == Outcome.UNKNOWN and str(status) in result.message


@pytest.mark.parametrize(
    "body,content_type",
    [
        ("<html><body>502 Bad Gateway</body></html>", "text/html"),
        ('{"order_id": "55a4", "status": "succ', "application/json"),
        ("{}", "application/json"),
        ("[]", "application/json"),
        ("null", "application/json"),
    ],
)
def test_malformed_status_answer_is_unknown(rsps, body, content_type):
    rsps.get(PAYIN, body=body, content_type=content_type)
    assert provider().fetch_status(view()).outcome == Outcome.UNKNOWN


def test_status_timeout_and_5xx_raise_retryable_errors(rsps):
    rsps.get(PAYIN, body=requests.exceptions.ReadTimeout())
    with pytest.raises(ProviderError):
        provider().fetch_status(view())
    rsps.upsert("GET", PAYIN, status=502, body="bad gateway")
    with pytest.raises(ProviderError) as excinfo:
        provider().fetch_status(view())
    assert excinfo.value.retryable


@pytest.mark.parametrize(
    "failure", [requests.exceptions.ReadTimeout(), requests.exceptions.ConnectionError()]
)
def test_success_whose_gateway_read_fails_for_now_is_unknown(rsps, failure):
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": "success"})
    rsps.get(GATEWAY, body=failure)
    result = provider().fetch_status(view())
    assert result.outcome == Outcome.UNKNOWN and result.amount is None


def test_success_whose_gateway_answers_5xx_is_unknown(rsps):
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": "success"})
    rsps.get(GATEWAY, status=503, body="busy")
    assert provider().fetch_status(view()).outcome == Outcome.UNKNOWN


@pytest.mark.parametrize(
    "gateway",
    [
        {
            "status": 404,
            "json": {
                "detail": {"message": "Payment Gateway Not found", "type": "GATEWAY_NOT_FOUND"}
            },
        },
        {"body": "<html>", "content_type": "text/html"},
        {"json": {**gateway_read(), "amount": None}},
        {"json": {**gateway_read(), "amount": "15000.5"}},
        {"json": {**gateway_read(), "amount": "NaN"}},
        {"json": gateway_read(order_id="another-order")},
    ],
)
def test_success_without_a_trustworthy_gateway_amount_has_none(rsps, gateway):
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": "success"})
    rsps.get(GATEWAY, **gateway)
    result = provider().fetch_status(view())
    assert (
        result.outcome == Outcome.SUCCEEDED and result.amount is None
    )  # the services flag it for review


def test_success_without_a_gateway_id_has_no_amount_and_no_gateway_call(rsps):
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": "success"})
    result = provider().fetch_status(view(provider_reference=""))
    assert result.outcome == Outcome.SUCCEEDED and result.amount is None and len(rsps.calls) == 1


def test_gateway_currency_is_reported_for_the_money_check(rsps):
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": "paid"})
    rsps.get(GATEWAY, json=gateway_read(currency="xaf"))
    assert provider().fetch_status(view()).currency == "XAF"


@pytest.mark.parametrize("status", ["SUCCESS", "Paid", "refunded", "processing", 7])
def test_every_raw_status_value_is_journalled(rsps, status):
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": status})
    rsps.get(GATEWAY, json=gateway_read())
    result = provider().fetch_status(view())
    assert repr(str(status)) in result.message
    assert result.raw["payin"]["status"] == status
    if result.outcome == Outcome.UNKNOWN:
        assert "not in the Lygos status table" in result.message


# --- webhooks ---------------------------------------------------------------------------
def headers_of(body: bytes, timestamp: str | None = None, secret: str = SECRETS[0]) -> dict:
    """The webhook's headers as the callback view hands them over."""
    test_client_headers = signed_headers(body, timestamp, secret)
    return {
        "Content-Type": "application/json",
        "X-Timestamp": test_client_headers["HTTP_X_TIMESTAMP"],
        "X-Signature": test_client_headers["HTTP_X_SIGNATURE"],
    }


def now_ms(offset_seconds: float = 0) -> str:
    return str(int((time.time() + offset_seconds) * 1000))


BODY = webhook(REFERENCE, "success", 15000)


def test_a_signed_webhook_names_our_order_and_decides_nothing():
    info = provider().parse_callback(BODY, headers_of(BODY))
    assert info.reference == REFERENCE and info.authentic is True
    assert info.result is None, "a webhook only triggers a status check"
    assert info.event_id


@pytest.mark.parametrize("secret", SECRETS)
def test_every_configured_secret_is_accepted_for_a_rotation(secret):
    assert provider().parse_callback(BODY, headers_of(BODY, secret=secret)).reference == REFERENCE


def test_secrets_may_come_as_a_comma_separated_string():
    lygos = provider(webhook_secrets=f" {SECRETS[1]} , ")
    assert lygos.parse_callback(BODY, headers_of(BODY, secret=SECRETS[1])).reference == REFERENCE
    with pytest.raises(CallbackRejected):
        lygos.parse_callback(BODY, headers_of(BODY, secret=SECRETS[0]))


@pytest.mark.parametrize("secrets", [[], None, "", [""]])
def test_no_secret_configured_refuses_every_webhook_with_a_clear_reason(secrets):
    with pytest.raises(CallbackRejected) as excinfo:
        provider(webhook_secrets=secrets).parse_callback(BODY, headers_of(BODY))
    assert excinfo.value.status_code == 401 and "LYGOS_WEBHOOK_SECRETS" in str(excinfo.value)


def test_the_signature_covers_body_then_timestamp():
    stamp = now_ms()
    expected = hmac.new(SECRETS[0].encode(), BODY + stamp.encode(), hashlib.sha256)
    assert sign(BODY, stamp) == expected.hexdigest()
    for signature in (
        expected.hexdigest(),
        expected.hexdigest().upper(),
        base64.b64encode(expected.digest()).decode(),
    ):
        info = provider().parse_callback(BODY, {"X-Timestamp": stamp, "x-signature": signature})
        assert info.reference == REFERENCE
    swapped = hmac.new(SECRETS[0].encode(), stamp.encode() + BODY, hashlib.sha256).hexdigest()
    with pytest.raises(CallbackRejected):
        provider().parse_callback(BODY, {"X-Timestamp": stamp, "X-Signature": swapped})


@pytest.mark.parametrize(
    "case",
    [
        "no headers",
        "no signature",
        "no timestamp",
        "wrong secret",
        "other timestamp",
        "tampered body",
        "garbage",
        "timestamp not digits",
        "seconds not ms",
    ],
)
def test_forged_or_malformed_signatures_are_refused_with_401(case):
    stamp = now_ms()
    good = headers_of(BODY, stamp)
    body = BODY
    headers = {
        "no headers": {},
        "no signature": {"X-Timestamp": stamp},
        "no timestamp": {"X-Signature": good["X-Signature"]},
        "wrong secret": headers_of(BODY, stamp, "whsec-of-an-attacker"),
        "other timestamp": {**good, "X-Timestamp": str(int(stamp) + 1)},
        "tampered body": good,
        "garbage": {"X-Timestamp": stamp, "X-Signature": "t=,v1="},
        "timestamp not digits": {
            "X-Timestamp": "2025-01-01T00:00:00Z",
            "X-Signature": sign(BODY, "2025-01-01T00:00:00Z"),
        },
        "seconds not ms": headers_of(BODY, str(int(time.time()))),
    }[case]
    if case == "tampered body":
        body = BODY.replace(b"15000", b"150000")
    with pytest.raises(CallbackRejected) as excinfo:
        provider().parse_callback(body, headers)
    assert excinfo.value.status_code == 401


@pytest.mark.parametrize(
    "offset,accepted",
    [(-299, True), (-301, False), (-3600, False), (29, True), (31, False), (0, True)],
)
def test_freshness_window_is_five_minutes_back_and_thirty_seconds_ahead(offset, accepted):
    now = time.time()
    stamp = str(int((now + offset) * 1000))
    headers = headers_of(BODY, stamp)
    if accepted:
        assert provider().parse_callback(BODY, headers, now=now).reference == REFERENCE
    else:
        with pytest.raises(CallbackRejected) as excinfo:
            provider().parse_callback(BODY, headers, now=now)
        assert excinfo.value.status_code == 401


@pytest.mark.parametrize(
    "payload,reference",
    [
        ({"order_id": REFERENCE, "status": "success"}, REFERENCE),
        (
            {"event": "payment.success", "data": {"order_id": REFERENCE, "status": "paid"}},
            REFERENCE,
        ),
        ({"type": "payout.done", "data": {"id": "x"}}, ""),
        ({"order_id": 12, "data": "text"}, ""),
        ({}, ""),
    ],
)
def test_order_id_is_read_at_the_top_level_or_in_data(payload, reference):
    body = json.dumps(payload).encode()
    info = provider().parse_callback(body, headers_of(body))
    assert info.reference == reference and info.result is None and info.authentic


def test_the_event_id_is_the_payload_so_a_re_signed_replay_is_one_event():
    first = provider().parse_callback(BODY, headers_of(BODY, now_ms(-10))).event_id
    again = provider().parse_callback(BODY, headers_of(BODY, now_ms())).event_id
    other = webhook(REFERENCE, "failed", 15000)
    assert first == again
    assert provider().parse_callback(other, headers_of(other)).event_id != first


@pytest.mark.parametrize("body", [b"{not-json", b"[]", b'"text"', b'{"amount": NaN}', b"\xff\xfe"])
def test_a_signed_but_malformed_body_is_refused_with_400(body):
    with pytest.raises(CallbackRejected) as excinfo:
        provider().parse_callback(body, headers_of(body))
    assert excinfo.value.status_code == 400


def callback_url(slash: bool = True) -> str:
    url = reverse("payments:callback", args=["lygos"])
    return url if slash else url.rstrip("/")


def post(client, body: bytes, headers: dict, slash: bool = True):
    return client.post(callback_url(slash), data=body, content_type="application/json", **headers)


@pytest.mark.django_db
@pytest.mark.parametrize("slash", [True, False])
def test_a_signed_webhook_is_stored_and_answered_200_with_or_without_slash(client, rsps, slash):
    kit = LygosKit()
    kit.mock_initiate_ok(rsps)
    order = make_order(
        (make_product(price=15000, stock=3), 1), country=kit.country, phone=kit.phone
    )
    payment = services.start_payment(order, "lygos", "hosted")
    body, headers = kit.callback(payment, "succeeded")
    response = post(client, body, headers, slash=slash)
    assert response.status_code == 200 and response.json()["status"] == "received"
    event = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
    assert event.valid and event.payment_id == payment.pk and event.data["signed"] is True
    kit.mock_status(rsps, payment, "failed")
    services.process_callback(event.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED, (
        "the status API, not the webhook's 'success', decided"
    )


@pytest.mark.django_db
def test_a_replayed_webhook_is_acknowledged_and_stored_once(client):
    headers = signed_headers(BODY)
    assert post(client, BODY, headers).status_code == post(client, BODY, headers).status_code == 200
    again = signed_headers(BODY, now_ms(-5))  # the same payload, re-signed by a retry
    assert post(client, BODY, again, slash=False).status_code == 200
    assert PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK, valid=True).count() == 1


@pytest.mark.django_db
def test_a_webhook_for_an_order_we_do_not_know_is_kept_and_acknowledged(client):
    body = webhook(str(uuid.uuid4()), "success", 15000)
    response = post(client, body, signed_headers(body))
    assert response.status_code == 200
    event = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
    assert event.valid and event.payment is None


@pytest.mark.django_db
def test_without_a_secret_the_view_refuses_and_stores_the_webhook(client, settings):
    settings.PAYMENT_PROVIDERS = {
        **settings.PAYMENT_PROVIDERS,
        "lygos": {**settings.PAYMENT_PROVIDERS["lygos"], "webhook_secrets": []},
    }
    response = post(client, BODY, signed_headers(BODY))
    assert response.status_code == 401 and "LYGOS_WEBHOOK_SECRETS" in response.json()["error"]
    event = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
    assert event.valid is False and bytes(event.body) == BODY


@pytest.mark.django_db
def test_a_stale_replay_is_refused_and_stored(client):
    response = post(client, BODY, signed_headers(BODY, now_ms(-301)))
    assert response.status_code == 401
    assert PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK).valid is False


# --- the sandbox emulator ------------------------------------------------------------------
def create(client, body: dict | None = None, key: str | None = KEY):
    body = body or {
        "amount": 15000,
        "shop_name": "Ashtech Store",
        "order_id": REFERENCE,
        "message": "Commande A-7",
        "success_url": f"https://shop.test/payments/return/{REFERENCE}/",
        "failure_url": f"https://shop.test/payments/cancel/{REFERENCE}/",
    }
    return post_gateway(client, body, key)


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
class TestEmulator:
    def test_refuses_a_missing_or_unknown_key_with_the_vendor_bodies(self, client):
        missing = create(client, key=None)
        assert missing.status_code == 401 and missing.json() == {
            "detail": {"message": "No API Key.", "type": "NO_API_KEY_PROVIDED"}
        }
        wrong = create(client, key="lygosapp-wrong")
        assert wrong.status_code == 404 and wrong.json()["detail"]["type"] == "API_KEY_NOT_FOUND"
        assert not SandboxPayment.objects.exists()

    def test_answers_the_documented_gateway(self, client):
        response = create(client)
        assert response.status_code == 200
        data = response.json()
        sp = SandboxPayment.objects.get()
        assert data["id"] == sp.token and str(uuid.UUID(data["id"])) == data["id"]
        assert data["link"] == page_url(sp)
        assert (data["amount"], data["currency"], data["order_id"]) == (15000, "XOF", REFERENCE)
        assert set(data) == {
            "id",
            "amount",
            "currency",
            "shop_name",
            "message",
            "user_id",
            "creation_date",
            "link",
            "order_id",
            "success_url",
            "failure_url",
        }

    def test_validation_errors_use_the_documented_shape(self, client):
        response = create(client, body={"amount": "15000", "order_id": REFERENCE})
        assert response.status_code == 422
        fields = {tuple(item["loc"]) for item in response.json()["detail"]}
        assert fields == {("body", "amount"), ("body", "shop_name")}

    def test_a_reused_order_id_is_a_conflict_and_the_list_shows_nothing(self, client):
        create(client)
        assert create(client).status_code == 409
        # Its key is public: the sandbox lists no payment (it would show every order).
        assert client.get("/sandbox/lygos/gateway", headers={"api-key": KEY}).json() == []

    def test_reads_one_gateway_with_its_country(self, client):
        gateway_id = create(client).json()["id"]
        data = client.get(f"/sandbox/lygos/gateway/{gateway_id}", headers={"api-key": KEY}).json()
        assert data["amount"] == 15000 and data["user_country"]["iso_code"] == "CIV"
        missing = client.get(f"/sandbox/lygos/gateway/{uuid.uuid4()}", headers={"api-key": KEY})
        assert (
            missing.status_code == 404 and missing.json()["detail"]["type"] == "GATEWAY_NOT_FOUND"
        )

    def test_payin_status_follows_the_hosted_page(self, client):
        create(client)
        url = f"/sandbox/lygos/gateway/payin/{REFERENCE}"
        assert client.get(url, headers={"api-key": KEY}).json() == {
            "order_id": REFERENCE,
            "status": "pending",
        }
        settle(SandboxPayment.objects.get(), SandboxPayment.Status.SUCCEEDED)
        assert client.get(url, headers={"api-key": KEY}).json()["status"] == "success"
        assert (
            client.get(
                f"/sandbox/lygos/gateway/payin/{uuid.uuid4()}", headers={"api-key": KEY}
            ).status_code
            == 404
        )

    @pytest.mark.parametrize("action,target", [("pay", "return"), ("refuse", "cancel")])
    def test_hosted_page_sends_the_shopper_to_success_or_failure_url(self, client, action, target):
        token = create(client).json()["id"]
        response = client.post(f"/sandbox/page/lygos/{token}/", {"action": action})
        assert (
            response.status_code == 302
            and response["Location"] == f"https://shop.test/payments/{target}/{REFERENCE}/"
        )

    @pytest.mark.parametrize(
        "status,word",
        [
            (SandboxPayment.Status.SUCCEEDED, "success"),
            (SandboxPayment.Status.FAILED, "failed"),
            (SandboxPayment.Status.EXPIRED, "failed"),
        ],
    )
    def test_sends_a_signed_webhook_to_the_shops_lygos_endpoint(self, client, status, word):
        create(client)
        sp = settle(SandboxPayment.objects.get(), status)
        url, body, headers = emulator.callback_request(sp)
        assert url == "https://shop.test/payments/callback/lygos/"
        assert headers["Content-Type"] == "application/json"
        stamp = headers["X-Timestamp"]
        assert stamp.isdigit() and abs(int(stamp) / 1000 - time.time()) < 5, (
            "Unix milliseconds, fresh"
        )
        assert headers["X-Signature"] == sign(body, stamp, SECRETS[0]), (
            "HMAC-SHA256(body + timestamp), first secret"
        )
        data = json.loads(body)
        assert (data["order_id"], data["status"], data["id"]) == (REFERENCE, word, sp.token)
        info = provider().parse_callback(body, headers)
        assert info.reference == REFERENCE and info.authentic and info.result is None

    def test_sends_nothing_while_pending_or_without_a_secret(self, client, settings):
        create(client)
        sp = SandboxPayment.objects.get()
        assert emulator.callback_request(sp) is None
        sp = settle(sp, SandboxPayment.Status.SUCCEEDED)
        settings.PAYMENT_PROVIDERS = {
            **settings.PAYMENT_PROVIDERS,
            "lygos": {**settings.PAYMENT_PROVIDERS["lygos"], "webhook_secrets": []},
        }
        assert emulator.callback_request(sp) is None

    def test_the_shop_answers_the_sandbox_webhook_200_and_asks_the_status(self, client, rsps):
        sandbox_transport(rsps, client, SANDBOX)
        lygos = provider(base_url=SANDBOX)
        order = make_order(
            (make_product(price=15000, stock=3), 1), country="BF", phone="+22670123456"
        )
        with self.settings_for(lygos):
            payment = services.start_payment(order, "lygos", "hosted")
        sp = SandboxPayment.objects.get(merchant_reference=str(payment.reference))
        client.post(f"/sandbox/page/lygos/{sp.token}/", {"action": "refuse"})
        url, body, headers = emulator.callback_request(SandboxPayment.objects.get(pk=sp.pk))
        response = client.post(
            urlsplit(url).path,
            data=body,
            content_type=headers["Content-Type"],
            HTTP_X_TIMESTAMP=headers["X-Timestamp"],
            HTTP_X_SIGNATURE=headers["X-Signature"],
        )
        assert response.status_code == 200 and response.json()["status"] == "received"
        event = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
        with self.settings_for(lygos):
            services.process_callback(event.pk)
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.FAILED

    @staticmethod
    def settings_for(lygos):
        from django.test import override_settings

        return override_settings(
            PAYMENT_PROVIDERS={**settings.PAYMENT_PROVIDERS, "lygos": lygos.config},
            PAYMENTS_SANDBOX=True,
        )

    def test_provider_and_emulator_agree_end_to_end(self, client, rsps):
        sandbox_transport(rsps, client, SANDBOX)
        lygos = provider(base_url=SANDBOX)
        initiation = lygos.initiate(payment_request())
        # A retry: 409, and the sandbox lists nothing (its key is public), so
        # the outcome is unknown, never failed: the status by order_id decides.
        with pytest.raises(ProviderError) as excinfo:
            lygos.initiate(payment_request())
        assert excinfo.value.unknown
        sp = SandboxPayment.objects.get()
        assert initiation.provider_reference == sp.token
        assert initiation.redirect_url == page_url(sp)
        assert lygos.fetch_status(view(sp.token)).outcome == Outcome.PENDING
        client.post(f"/sandbox/page/lygos/{sp.token}/", {"action": "pay"})
        result = lygos.fetch_status(view(sp.token))
        assert (result.outcome, result.amount, result.currency) == (Outcome.SUCCEEDED, 15000, "XOF")


# --- end to end: the sandbox's webhook through a real worker (keep last: the worker is module-
# scoped) ---
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "action,expected", [("pay", PaymentStatus.SUCCEEDED), ("refuse", PaymentStatus.FAILED)]
)
def test_the_webhook_alone_ends_the_payment_with_a_real_worker(
    sandbox_shop, settings, action, expected
):
    """No browser return, no scheduled poll: only the signed webhook (2xx)
    and the status check it triggers end the payment."""
    from tests.support.e2e import Route, act_in_sandbox, buy, final
    from tests.support.factories import wait_for

    settings.SHOP_CURRENCY = "XOF"
    product = make_product(price=2500, stock=1)
    s, payment, _ = buy(sandbox_shop, Route("lygos", "hosted", "BF", "+22670123456"), product)
    # Push the scheduled poll out of the test's reach: a poll runs only at its schedule.
    Payment.objects.filter(pk=payment.pk).update(
        next_check_at=timezone.now() + timedelta(minutes=30)
    )
    act_in_sandbox(s, sandbox_shop, payment, action, follow=False)
    payment = final(payment)
    assert payment.status == expected and not payment.needs_review
    webhook_rows = PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK, payment=payment)
    assert (
        webhook_rows.count() == 1
        and webhook_rows.get().valid
        and webhook_rows.get().data["signed"] is True
    )
    decision = payment.events.get(
        kind=PaymentEvent.Kind.DECISION, message__startswith=expected.value
    )
    assert decision.data["source"] == "callback", decision.message
    wait_for(
        lambda: (
            SandboxPayment.objects.get(merchant_reference=str(payment.reference)).callbacks_sent
            == 1
        )
    )

"""Lygos: wire format (shared/providers/lygos.txt), status mapping, the gateway
read for money, the absence of callbacks, and the emulator."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from django.conf import settings
from django.urls import reverse

from payments.models import PaymentEvent
from payments.providers.base import CallbackRejected, Outcome, PaymentRequest, PaymentView, ProviderError
from payments.providers.lygos import LygosProvider
from payments.sandbox import lygos as emulator
from payments.sandbox.core import page_url, settle
from payments.sandbox.models import SandboxPayment
from tests.payments.kits.lygos import GATEWAY_ID, gateway_body

from .test_novasend import sandbox_transport

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
    return PaymentView(reference=REFERENCE, provider_reference=provider_reference, amount=amount, currency="XOF", method="hosted")


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
    assert initiation.redirect_url == f"https://pay.lygosapp.com/checkout/{GATEWAY_ID}"
    assert initiation.outcome == Outcome.PENDING


def test_one_hosted_redirect_method_and_a_minimum_of_100():
    lygos = provider()
    assert [(m.code, m.flow.value, m.needs_phone) for m in lygos.methods] == [("hosted", "redirect", False)]
    assert lygos.minimum_amount == 100 and lygos.currencies == ("XOF", "XAF")


@pytest.mark.parametrize(
    "status,body,expected",
    [
        (401, {"detail": {"message": "No API Key.", "type": "NO_API_KEY_PROVIDED"}}, "Clé API Lygos absente ou invalide"),
        (404, {"detail": {"message": "API Key not found", "type": "API_KEY_NOT_FOUND"}}, "Clé API Lygos absente ou invalide"),
        (400, {"detail": {"message": "User not found or inactive", "type": "GATEWAY_USER_NOT_FOUND"}}, "Compte marchand Lygos introuvable ou inactif"),
        (
            422,
            {"detail": [{"loc": ["body", "amount"], "msg": "Input should be a valid integer", "type": "int_type"}]},
            "Données refusées par Lygos : amount: Input should be a valid integer",
        ),
        (
            402,
            {"detail": [{"loc": ["body", "shop_name"], "msg": "Field required", "type": "missing"}]},
            "Données refusées par Lygos : shop_name: Field required",
        ),
        (403, {"detail": {"message": "Forbidden", "type": "FORBIDDEN"}}, "Lygos refuse l'accès"),
        (400, {"detail": {"message": "Bad request", "type": "X"}}, "Lygos a refusé la demande (HTTP 400) Bad request"),
        (418, "I'm a teapot", "Lygos a refusé la demande (HTTP 418)"),
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
    assert expected in str(excinfo.value.user_message)


def test_a_reused_order_id_reuses_the_existing_gateway(rsps):
    rsps.post(GATEWAYS, json={"detail": {"message": "Conflict", "type": "CONFLICT"}}, status=409)
    other = gateway_body(str(uuid.uuid4()), 500, gateway_id=str(uuid.uuid4()))
    rsps.get(GATEWAYS, json=[other, gateway_body(REFERENCE, 15000)])
    initiation = provider().initiate(payment_request())
    assert initiation.provider_reference == GATEWAY_ID
    assert [c.request.method for c in rsps.calls] == ["POST", "GET"]


@pytest.mark.parametrize("listing", [{"json": []}, {"json": {"detail": "x"}}, {"body": "<html>", "content_type": "text/html"}, {"status": 401, "json": {}}])
def test_a_conflict_without_our_gateway_in_the_list_is_an_unknown_outcome(rsps, listing):
    rsps.post(GATEWAYS, json={"detail": {"message": "Conflict", "type": "CONFLICT"}}, status=409)
    rsps.get(GATEWAYS, **listing)
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.status_code == 409 and excinfo.value.unknown
    assert "déjà une demande" in str(excinfo.value.user_message)


def test_a_conflict_whose_lookup_times_out_is_unknown_not_failed(rsps):
    rsps.post(GATEWAYS, json={"detail": {}}, status=409)
    rsps.get(GATEWAYS, body=requests.exceptions.ReadTimeout())
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.unknown and excinfo.value.retryable


@pytest.mark.parametrize("error,unknown", [(requests.exceptions.ReadTimeout(), True), (requests.exceptions.ConnectTimeout(), False)])
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
        (json.dumps({**gateway_body(REFERENCE, 15000), "link": "javascript:alert(1)"}), "application/json"),
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
    assert excinfo.value.kind == "rejected"
    assert "XAF" in str(excinfo.value.user_message) and "XOF" in str(excinfo.value.user_message)


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
        ("failed", Outcome.FAILED),
        ("pending", Outcome.PENDING),
        (" Pending ", Outcome.PENDING),
        ("completed", Outcome.UNKNOWN),
        ("successful", Outcome.UNKNOWN),
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
    rsps.get(PAYIN, json={"detail": {"message": "Payin not found", "type": "PAYIN_NOT_FOUND"}}, status=404)
    assert provider().fetch_status(view()).outcome == Outcome.PENDING


@pytest.mark.parametrize(
    "status,body",
    [
        (404, {"detail": {"message": "No API Key.", "type": "NO_API_KEY_PROVIDED"}}),
        (404, {"detail": {"message": "API Key not found", "type": "API_KEY_NOT_FOUND"}}),
        (401, {"detail": {"message": "No API Key.", "type": "NO_API_KEY_PROVIDED"}}),
        (422, {"detail": [{"loc": ["path", "order_id"], "msg": "bad", "type": "x"}]}),
        (400, {"detail": {"message": "User not found or inactive", "type": "GATEWAY_USER_NOT_FOUND"}}),
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


@pytest.mark.parametrize("failure", [requests.exceptions.ReadTimeout(), requests.exceptions.ConnectionError()])
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
        {"status": 404, "json": {"detail": {"message": "Payment Gateway Not found", "type": "GATEWAY_NOT_FOUND"}}},
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
    assert result.outcome == Outcome.SUCCEEDED and result.amount is None  # the services flag it for review


def test_success_without_a_gateway_id_has_no_amount_and_no_gateway_call(rsps):
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": "success"})
    result = provider().fetch_status(view(provider_reference=""))
    assert result.outcome == Outcome.SUCCEEDED and result.amount is None and len(rsps.calls) == 1


def test_gateway_currency_is_reported_for_the_money_check(rsps):
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": "paid"})
    rsps.get(GATEWAY, json=gateway_read(currency="xaf"))
    assert provider().fetch_status(view()).currency == "XAF"


# --- callbacks -------------------------------------------------------------------------
def test_parse_callback_refuses_everything_with_404():
    with pytest.raises(CallbackRejected) as excinfo:
        provider().parse_callback(json.dumps({"order_id": REFERENCE, "status": "success"}).encode(), {})
    assert excinfo.value.status_code == 404


@pytest.mark.django_db
def test_a_posted_callback_is_stored_refused_and_changes_nothing(client):
    body = json.dumps({"order_id": REFERENCE, "status": "success"}).encode()
    response = client.post(reverse("payments:callback", args=["lygos"]), data=body, content_type="application/json")
    assert response.status_code == 404
    event = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
    assert event.valid is False and bytes(event.body) == body


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
    headers = {"api-key": key} if key is not None else {}
    return client.post("/sandbox/lygos/gateway", data=json.dumps(body), content_type="application/json", headers=headers)


@pytest.mark.django_db
@pytest.mark.urls("tests.payments.sandbox_urls")
class TestEmulator:
    def test_refuses_a_missing_or_unknown_key_with_the_vendor_bodies(self, client):
        missing = create(client, key=None)
        assert missing.status_code == 401 and missing.json() == {"detail": {"message": "No API Key.", "type": "NO_API_KEY_PROVIDED"}}
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
        assert set(data) == {"id", "amount", "currency", "shop_name", "message", "user_id", "creation_date", "link", "order_id", "success_url", "failure_url"}

    def test_validation_errors_use_the_documented_shape(self, client):
        response = create(client, body={"amount": "15000", "order_id": REFERENCE})
        assert response.status_code == 422
        fields = {tuple(item["loc"]) for item in response.json()["detail"]}
        assert fields == {("body", "amount"), ("body", "shop_name")}

    def test_a_reused_order_id_is_a_conflict_and_the_list_finds_it(self, client):
        first = create(client).json()
        assert create(client).status_code == 409
        listing = client.get("/sandbox/lygos/gateway", headers={"api-key": KEY}).json()
        assert [g["id"] for g in listing if g["order_id"] == REFERENCE] == [first["id"]]

    def test_reads_one_gateway_with_its_country(self, client):
        gateway_id = create(client).json()["id"]
        data = client.get(f"/sandbox/lygos/gateway/{gateway_id}", headers={"api-key": KEY}).json()
        assert data["amount"] == 15000 and data["user_country"]["iso_code"] == "CIV"
        missing = client.get(f"/sandbox/lygos/gateway/{uuid.uuid4()}", headers={"api-key": KEY})
        assert missing.status_code == 404 and missing.json()["detail"]["type"] == "GATEWAY_NOT_FOUND"

    def test_payin_status_follows_the_hosted_page(self, client):
        create(client)
        url = f"/sandbox/lygos/gateway/payin/{REFERENCE}"
        assert client.get(url, headers={"api-key": KEY}).json() == {"order_id": REFERENCE, "status": "pending"}
        settle(SandboxPayment.objects.get(), SandboxPayment.Status.SUCCEEDED)
        assert client.get(url, headers={"api-key": KEY}).json()["status"] == "success"
        assert client.get(f"/sandbox/lygos/gateway/payin/{uuid.uuid4()}", headers={"api-key": KEY}).status_code == 404

    @pytest.mark.parametrize("action,target", [("pay", "return"), ("refuse", "cancel")])
    def test_hosted_page_sends_the_shopper_to_success_or_failure_url(self, client, action, target):
        token = create(client).json()["id"]
        response = client.post(f"/sandbox/page/lygos/{token}/", {"action": action})
        assert response.status_code == 302 and response["Location"] == f"https://shop.test/payments/{target}/{REFERENCE}/"

    def test_sends_no_callback(self, client):
        create(client)
        sp = settle(SandboxPayment.objects.get(), SandboxPayment.Status.SUCCEEDED)
        assert emulator.callback_request(sp) is None

    def test_provider_and_emulator_agree_end_to_end(self, client, rsps):
        sandbox_transport(rsps, client, SANDBOX)
        lygos = provider(base_url=SANDBOX)
        initiation = lygos.initiate(payment_request())
        again = lygos.initiate(payment_request())  # a retry: 409, then found in the list
        sp = SandboxPayment.objects.get()
        assert initiation.provider_reference == again.provider_reference == sp.token
        assert initiation.redirect_url == page_url(sp)
        assert lygos.fetch_status(view(sp.token)).outcome == Outcome.PENDING
        client.post(f"/sandbox/page/lygos/{sp.token}/", {"action": "pay"})
        result = lygos.fetch_status(view(sp.token))
        assert (result.outcome, result.amount, result.currency) == (Outcome.SUCCEEDED, 15000, "XOF")

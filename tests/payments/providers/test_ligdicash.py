"""Ligdicash wire format: the vendor text as corrected by developers.ligdicash.com
(see ``payments.providers.ligdicash``); the documented payloads themselves are
judged in ``test_ligdicash_samples.py``."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
import requests

from payments import services
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.providers import get_provider
from payments.providers.base import (
    CallbackRejected,
    Outcome,
    PaymentRequest,
    PaymentView,
    ProviderError,
)
from tests.support.factories import make_order, make_payment, make_product

BASE = "https://ligdicash.test"
CREATE = BASE + "/pay/v01/redirect/checkout-invoice/create"
STRAIGHT = BASE + "/pay/v01/straight/checkout-invoice/create"
CONFIRM = BASE + "/pay/v01/redirect/checkout-invoice/confirm/"


def request(method="hosted", otp="") -> PaymentRequest:
    return PaymentRequest(
        reference="7d3f2c1e-0000-4000-8000-000000000001",
        amount=40000,
        currency="XOF",
        description="Commande AS-000001 — Ashtech Store",
        items=(
            {
                "name": "Mon super produit",
                "description": "x",
                "quantity": 3,
                "unit_price": 10000,
                "total_price": 30000,
            },
        ),
        customer_name="Cheik Cisse",
        customer_email="email@utilisateur.com",
        customer_phone="+22666068734",
        country="BF",
        method=method,
        return_url="https://shop.test/payments/return/r/",
        cancel_url="https://shop.test/payments/cancel/r/",
        callback_url="https://shop.test/payments/callback/ligdicash/",
        otp=otp,
    )


ACCEPTED = {
    "response_code": "00",
    "token": "eyJ0eXAiOiJKV1QiLCJ0eXNjYGRnsNe...tF3Z-fEJ9GSI-glQ",
    "response_text": "https://client.ligdicash.com/directpayment/invoice/eyJ0eXAiOi...SI-glQ",
    "description": "",
    "custom_data": {"order_id": "MonSiteOrder234", "transaction_id": "TRNS.36887"},
    "wiki": "https://client.ligdicash.com/wiki/createInvoice",
}


def test_hosted_payin_sends_the_documented_request(rsps):
    rsps.post(CREATE, json=ACCEPTED)
    initiation = get_provider("ligdicash").initiate(request())
    sent = rsps.calls[0].request
    assert sent.headers["Apikey"] == "test-ligdi-apikey-7Q2"
    assert sent.headers["Authorization"] == "Bearer test-ligdi-token-9XK"
    commande = json.loads(sent.body)["commande"]
    invoice = commande["invoice"]
    assert invoice["total_amount"] == 40000 and isinstance(invoice["total_amount"], int)
    assert invoice["devise"] == "XOF"
    assert invoice["customer"] == "" and invoice["otp"] == ""
    assert invoice["customer_firstname"] == "Cheik" and invoice["customer_lastname"] == "Cisse"
    assert commande["actions"] == {
        "cancel_url": "https://shop.test/payments/cancel/r/",
        "return_url": "https://shop.test/payments/return/r/",
        "callback_url": "https://shop.test/payments/callback/ligdicash/",
    }
    assert commande["custom_data"]["transaction_id"] == "7d3f2c1e-0000-4000-8000-000000000001"
    assert initiation.provider_reference == ACCEPTED["token"]
    assert initiation.redirect_url == ACCEPTED["response_text"]


def test_orange_otp_payin_goes_straight_with_the_number_and_otp(rsps):
    rsps.post(STRAIGHT, json=dict(ACCEPTED, response_text=""))
    initiation = get_provider("ligdicash").initiate(request("orange_bf", otp="697078"))
    invoice = json.loads(rsps.calls[0].request.body)["commande"]["invoice"]
    assert invoice["customer"] == "22666068734" and invoice["otp"] == "697078"
    assert initiation.redirect_url == "" and initiation.instructions["flow"] == "otp"


def test_moov_approval_payin_sends_no_otp(rsps):
    rsps.post(STRAIGHT, json=dict(ACCEPTED, response_text=""))
    initiation = get_provider("ligdicash").initiate(request("moov_bf"))
    invoice = json.loads(rsps.calls[0].request.body)["commande"]["invoice"]
    assert invoice["otp"] == "" and invoice["customer"] == "22666068734"
    assert initiation.instructions["flow"] == "push"


@pytest.mark.parametrize(
    "answer",
    [
        {"response_code": "01", "token": "", "response_text": "OTP_INVALID", "description": ""},
        {"response_code": "00", "token": "", "response_text": "https://x"},
        {"response_code": "00", "token": "abc", "response_text": "not-a-link"},
    ],
)
def test_refused_or_incomplete_creation_is_a_provider_error(rsps, answer):
    rsps.post(CREATE, json=answer)
    with pytest.raises(ProviderError) as excinfo:
        get_provider("ligdicash").initiate(request())
    assert not excinfo.value.retryable


def test_read_timeout_on_creation_is_an_unknown_outcome(rsps):
    rsps.post(CREATE, body=requests.exceptions.ReadTimeout())
    with pytest.raises(ProviderError) as excinfo:
        get_provider("ligdicash").initiate(request())
    assert excinfo.value.unknown and excinfo.value.retryable


def test_connect_timeout_is_not_unknown(rsps):
    rsps.post(CREATE, body=requests.exceptions.ConnectTimeout())
    with pytest.raises(ProviderError) as excinfo:
        get_provider("ligdicash").initiate(request())
    assert not excinfo.value.unknown


STATUS = {
    "date": "2023-10-29 09:46:27+00",
    "response_code": "00",
    "token": "tok",
    "description": "",
    "amount": "100",
    "response_text": None,
    "status": "completed",
    "custom_data": [
        {
            "id_invoice": 29505444,
            "keyof_customdata": "transaction_id",
            "valueof_customdata": "TRNS.36887",
        }
    ],
    "operator_name": "ORANGE BURKINA",
    "operator_id": "11",
    "customer": "",
    "transaction_id": "TRNS.36887",
    "external_id": None,
}
FAILED_01 = {"status": "notcompleted", "response_code": "01", "response_text": "Echec (Code05)"}


@pytest.mark.parametrize(
    "changes,outcome,amount",
    [
        ({}, Outcome.SUCCEEDED, 100),
        ({"status": "notcompleted"}, Outcome.FAILED, 100),
        ({"status": "nocompleted"}, Outcome.FAILED, 100),
        ({"status": "NotCompleted"}, Outcome.FAILED, 100),
        (FAILED_01, Outcome.FAILED, 100),
        ({"status": "nocompleted", "response_code": "01"}, Outcome.FAILED, 100),
        ({"status": "pending"}, Outcome.PENDING, 100),
        ({"status": "refunded"}, Outcome.UNKNOWN, 100),
        ({"status": None}, Outcome.UNKNOWN, 100),
        (
            {"status": None, "response_code": "01", "response_text": "Echec (Code04)"},
            Outcome.UNKNOWN,
            100,
        ),
        ({"status": ["completed"]}, Outcome.UNKNOWN, 100),
        ({"response_code": "01"}, Outcome.UNKNOWN, 100),
        ({"amount": None}, Outcome.SUCCEEDED, None),
        ({"amount": "1e3"}, Outcome.SUCCEEDED, 1000),
        ({"amount": "12.5"}, Outcome.SUCCEEDED, None),
        ({"amount": "NaN"}, Outcome.SUCCEEDED, None),
        ({"amount": "-100"}, Outcome.SUCCEEDED, None),
    ],
)
def test_status_mapping(rsps, changes, outcome, amount):
    rsps.get(CONFIRM, json=dict(STATUS, **changes))
    result = get_provider("ligdicash").fetch_status(
        PaymentView(reference="r", provider_reference="tok", amount=100, currency="XOF")
    )
    assert result.outcome == outcome
    assert result.amount == amount
    assert rsps.calls[0].request.params == {"invoiceToken": "tok"}


def test_01_without_a_status_is_only_a_reason_to_ask_again(rsps):
    rsps.get(
        CONFIRM,
        json={
            "response_code": "01",
            "token": "",
            "response_text": "Echec (Code04)",
            "description": "",
        },
    )
    result = get_provider("ligdicash").fetch_status(
        PaymentView(reference="r", provider_reference="tok", amount=100, currency="XOF")
    )
    assert result.outcome == Outcome.UNKNOWN and result.currency is None
    assert "Echec (Code04)" in result.message


def test_status_without_a_token_is_unknown_and_asks_nobody(rsps):
    result = get_provider("ligdicash").fetch_status(
        PaymentView(reference="r", provider_reference="", amount=100, currency="XOF")
    )
    assert result.outcome == Outcome.UNKNOWN and not rsps.calls


# --- callbacks ----------------------------------------------------------------------------
REF = "7d3f2c1e-0000-4000-8000-000000000001"
CUSTOM = [
    {"id_invoice": 1, "keyof_customdata": "order_id", "valueof_customdata": "Commande AS-000001"},
    {"id_invoice": 1, "keyof_customdata": "transaction_id", "valueof_customdata": REF},
    {
        "id_invoice": 1,
        "keyof_customdata": "hash",
        "valueof_customdata": "f918c54d54cdc334ade09f8c228a224b1d3df646250c84dcdd99af528ddcd450",
    },
    {
        "id_invoice": 1,
        "keyof_customdata": "logfile",
        "valueof_customdata": "2026050907202369fee03756652",
    },
]
CALLBACK = {
    "date": "2023-10-29 09:46:27+00",
    "method": "post",
    "response_code": "00",
    "response_text": None,
    "token": "",
    "montant": "100",
    "status": "completed",
    "custom_data": CUSTOM,
    "operator_name": "ORANGE BURKINA",
    "operator_id": "11",
    "transaction_id": REF,
    "external_id": None,
    "url": "https://shop.test/payments/callback/ligdicash/",
    "hash": "8bd5dc60ef2d75641fa311fbb44c5067e0040a17",
}
JSON_HEADERS = {"Content-Type": "application/json"}
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def as_form(body: dict) -> bytes:
    fields = [
        (k, json.dumps(v) if isinstance(v, (list, dict)) else str(v))
        for k, v in body.items()
        if v is not None
    ]
    return urlencode(fields).encode()


def parse(body: bytes, headers=JSON_HEADERS):
    return get_provider("ligdicash").parse_callback(body, headers)


def test_callback_content_types_are_json_and_form():
    assert set(get_provider("ligdicash").callback_content_types) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }


def test_json_callback_reads_our_reference_from_custom_data_not_the_token():
    info = parse(json.dumps(dict(CALLBACK, token="a-callback-token", transaction_id="")).encode())
    assert info.reference == REF
    assert info.provider_reference == "", "the callback token is never the creation token"
    assert info.authentic is None, "the hash is undocumented and never trusted"
    assert info.result is None, "the status API decides"


def test_form_callback_reads_custom_data_sent_as_a_json_string():
    info = parse(as_form(dict(CALLBACK, transaction_id="")), FORM_HEADERS)
    assert info.reference == REF and info.provider_reference == ""


def test_both_encodings_and_replays_of_one_event_share_an_event_id():
    json_info = parse(json.dumps(CALLBACK).encode())
    form_info = parse(as_form(CALLBACK), FORM_HEADERS)
    replay = parse(
        json.dumps(dict(CALLBACK, date="2023-10-29 09:50:00+00", custom_data=CUSTOM[::-1])).encode()
    )
    assert json_info.event_id == form_info.event_id == replay.event_id
    assert (
        parse(json.dumps(dict(CALLBACK, status="notcompleted")).encode()).event_id
        != json_info.event_id
    )


def test_top_level_transaction_id_is_the_fallback_when_custom_data_is_unreadable():
    assert parse(as_form(dict(CALLBACK, custom_data="{not json")), FORM_HEADERS).reference == REF
    assert (
        parse(
            json.dumps(dict(CALLBACK, custom_data={"transaction_id": "ref-dict"})).encode()
        ).reference
        == "ref-dict"
    )


@pytest.mark.parametrize(
    "body,headers",
    [
        (b"{}", JSON_HEADERS),
        (b'{"token": "t", "status": "completed"}', JSON_HEADERS),
        (b'{"transaction_id": "r", "status": []}', JSON_HEADERS),
        (b'{"transaction_id": "r", "montant": "abc"}', JSON_HEADERS),
        (json.dumps({"transaction_id": "r" * 65}).encode(), JSON_HEADERS),
        (b"[1]", JSON_HEADERS),
        (b"token=&status=completed", FORM_HEADERS),
        (b"transaction_id=r&montant=NaN", FORM_HEADERS),
        (b"transaction_id=r%00x", FORM_HEADERS),
        (b"\xff=1", FORM_HEADERS),
    ],
)
def test_malformed_callbacks_are_rejected(body, headers):
    with pytest.raises(CallbackRejected):
        parse(body, headers)


# --- through the shop: view, services, redirect hosts -----------------------------------------
def test_hosted_page_hosts_are_the_documented_ones():
    provider = get_provider("ligdicash")
    assert provider.allowed_redirect("https://client.ligdicash.com/directpayment/invoice/eyJ0")
    assert provider.allowed_redirect("https://app.ligdicash.com/pay/invoice/eyJ0")
    for url in (
        "http://client.ligdicash.com/x",
        "https://ligdicash.com.evil.test/x",
        "https://evil.test/client.ligdicash.com",
        "https://u:p@app.ligdicash.com/x",
    ):
        assert not provider.allowed_redirect(url), url


@pytest.mark.django_db
def test_a_create_answer_linking_elsewhere_fails_the_attempt(rsps):
    order = make_order((make_product(price=2500), 1), country="BF", phone="+22670123456")
    rsps.post(CREATE, json=dict(ACCEPTED, response_text="https://pay.evil.test/invoice/x"))
    with pytest.raises(services.PaymentStartError):
        services.start_payment(order, "ligdicash", "hosted")
    payment = Payment.objects.get(order=order)
    assert payment.status == PaymentStatus.FAILED and payment.redirect_url == ""


def known_payment() -> Payment:
    order = make_order((make_product(price=2500), 1), country="BF", phone="+22670123456")
    return make_payment(order, provider="ligdicash", provider_reference="creation-token")


def deliver(client, body: bytes, content_type: str, path="/payments/callback/ligdicash/"):
    return client.post(path, data=body, content_type=content_type)


@pytest.mark.django_db
def test_the_form_and_json_pair_is_one_recorded_event_then_confirm_decides(client, rsps):
    payment = known_payment()
    body = dict(CALLBACK, transaction_id=str(payment.reference), montant=str(payment.amount))
    body["custom_data"] = [
        dict(e, valueof_customdata=str(payment.reference))
        if e["keyof_customdata"] == "transaction_id"
        else e
        for e in CUSTOM
    ]
    first = deliver(client, as_form(body), "application/x-www-form-urlencoded")
    second = deliver(
        client, json.dumps(body).encode(), "application/json", path="/payments/callback/ligdicash"
    )
    assert (
        (first.status_code, first.json())
        == (second.status_code, second.json())
        == (200, {"status": "received"})
    )
    events = PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK, payment=payment)
    assert events.count() == 1, "the JSON twin is the same event: counted, not stored again"
    assert events.get().deliveries == 2 and events.get().dedup_key

    rsps.get(
        CONFIRM, json=dict(STATUS, token="creation-token", amount=str(payment.amount), **FAILED_01)
    )
    decided = services.process_callback(events.get().pk)
    assert rsps.calls[0].request.params == {"invoiceToken": "creation-token"}
    assert decided.status == PaymentStatus.FAILED


@pytest.mark.django_db
def test_a_callback_matching_only_by_token_is_not_linked(client):
    payment = known_payment()
    body = dict(CALLBACK, token="creation-token", transaction_id="", custom_data=[])
    body["transaction_id"] = "7d3f2c1e-0000-4000-8000-00000000ffff"
    response = deliver(client, json.dumps(body).encode(), "application/json")
    assert response.status_code == 200
    assert not PaymentEvent.objects.filter(
        kind=PaymentEvent.Kind.CALLBACK, payment=payment
    ).exists()

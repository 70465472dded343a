"""Ligdicash wire format, from shared/providers/ligdicash.md."""

from __future__ import annotations

import json

import pytest
import requests

from payments.providers import get_provider
from payments.providers.base import CallbackRejected, Outcome, PaymentRequest, PaymentView, ProviderError

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
        items=({"name": "Mon super produit", "description": "x", "quantity": 3, "unit_price": 10000, "total_price": 30000},),
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
    "custom_data": [{"id_invoice": 29505444, "keyof_customdata": "transaction_id", "valueof_customdata": "TRNS.36887"}],
    "operator_name": "ORANGE BURKINA",
    "operator_id": "11",
    "customer": "",
    "transaction_id": "TRNS.36887",
    "external_id": None,
}


@pytest.mark.parametrize(
    "changes,outcome,amount",
    [
        ({}, Outcome.SUCCEEDED, 100),
        ({"status": "nocompleted"}, Outcome.FAILED, 100),
        ({"status": "pending"}, Outcome.PENDING, 100),
        ({"status": "refunded"}, Outcome.UNKNOWN, 100),
        ({"status": None}, Outcome.UNKNOWN, 100),
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
    result = get_provider("ligdicash").fetch_status(PaymentView(reference="r", provider_reference="tok", amount=100, currency="XOF"))
    assert result.outcome == outcome
    assert result.amount == amount
    assert rsps.calls[0].request.params == {"invoiceToken": "tok"}


def test_status_without_a_token_is_unknown_and_asks_nobody(rsps):
    result = get_provider("ligdicash").fetch_status(PaymentView(reference="r", provider_reference="", amount=100, currency="XOF"))
    assert result.outcome == Outcome.UNKNOWN and not rsps.calls


def test_callback_reads_our_reference_from_custom_data():
    body = dict(STATUS, montant="100", hash="8bd5dc60ef2d75641fa311fbb44c5067e0040a17", method="post")
    body["custom_data"] = [{"id_invoice": 1, "keyof_customdata": "transaction_id", "valueof_customdata": "ref-1"}]
    info = get_provider("ligdicash").parse_callback(json.dumps(body).encode(), {})
    assert info.reference == "ref-1" and info.provider_reference == "tok"
    assert info.authentic is None, "the hash is undocumented and never trusted"
    assert info.result is None, "the status API decides"


@pytest.mark.parametrize("body", [b"{}", b'{"token": 5}', b'{"token": "t", "status": []}', b'{"token": "t", "montant": "abc"}', b"[1]"])
def test_malformed_callbacks_are_rejected(body):
    with pytest.raises(CallbackRejected):
        get_provider("ligdicash").parse_callback(body, {})

"""Ligdicash against its own documented payloads (tests/payments/vendor_samples/ligdicash/).

The vendor's samples are the judge: every file there is read here, the
answers and callbacks go through the real provider module (``responses`` at
the HTTP boundary only), our outgoing bodies are compared with the request
samples, and the sandbox's answers and callbacks are compared, key by key and
type by type, with the same samples, so the sandbox cannot drift from them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from payments import services
from payments.models import PaymentEvent, PaymentStatus
from payments.providers import get_provider
from payments.providers.base import CallbackRejected, Outcome, PaymentRequest, PaymentView
from payments.providers.ligdicash import LigdicashProvider
from payments.sandbox import ligdicash as emulator
from payments.sandbox.core import settle
from payments.sandbox.models import SandboxPayment
from tests.support.factories import make_order, make_product
from tests.support.samples import sample_files, shape

SAMPLES = Path(__file__).resolve().parent.parent / "vendor_samples" / "ligdicash"
raw, _ = sample_files(SAMPLES)
BASE = "https://ligdicash.test"
CREATE = BASE + "/pay/v01/redirect/checkout-invoice/create"
STRAIGHT = BASE + "/pay/v01/straight/checkout-invoice/create"
CONFIRM = BASE + "/pay/v01/redirect/checkout-invoice/confirm/"
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
CURRENCY_TYPOS = ("devises", "devis")  # the vendor text's other spellings of "devise"


# --- reading the samples -----------------------------------------------------------
def annotated_json(text: str) -> Any:
    """A sample as printed in the vendor text (``//`` notes, trailing and
    missing commas, a bare ``"commande": {…}``) read as the JSON it stands
    for. The recipe is the README's: notes removed outside strings, a comma
    added where a line ends a value and the next starts a key, trailing
    commas removed, a bare member wrapped in braces."""
    lines = [_without_note(line).rstrip() for line in text.splitlines()]
    kept = [line for line in lines if line.strip()]
    fixed = []
    for index, line in enumerate(kept):
        following = kept[index + 1].strip() if index + 1 < len(kept) else ""
        if not line.endswith((",", "{", "[")) and following.startswith('"'):
            line += ","
        fixed.append(line)
    body = re.sub(r",(\s*[}\]])", r"\1", "\n".join(fixed)).strip()
    if body.startswith('"'):
        body = "{" + body + "}"
    return json.loads(body)


def _without_note(line: str) -> str:
    in_string = escaped = False
    for index, char in enumerate(line):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif line.startswith("//", index):
            return line[:index]
    return line


def doc(name: str) -> Any:
    return annotated_json(raw(name).decode("utf-8"))


def form_twin(body: dict) -> bytes:
    """The README's recipe for the form-encoded delivery of a JSON callback:
    same keys in the same order, ``custom_data`` as compact JSON text, other
    values as text, nulls left out (PHP ``http_build_query``)."""
    fields = []
    for key, value in body.items():
        if value is None:
            continue
        fields.append(
            (
                key,
                json.dumps(value, separators=(",", ":"))
                if isinstance(value, (list, dict))
                else str(value),
            )
        )
    return urlencode(fields).encode()


def without_currency_typos(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            ("devise" if key in CURRENCY_TYPOS else key): without_currency_typos(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [without_currency_typos(item) for item in value]
    return value


# --- the folder itself ---------------------------------------------------------------
def test_every_sample_is_described_in_the_readme():
    readme = raw("README.md").decode()
    names = sorted(p.name for p in SAMPLES.iterdir() if p.name != "README.md")
    assert len(names) == 13
    for name in names:
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.jsonc")))
def test_samples_as_printed_are_not_json_but_stand_for_json(name):
    """Kept byte for byte: the vendor text prints notes and loose commas."""
    text = raw(name).decode("utf-8")
    with pytest.raises(ValueError):
        json.loads(text)
    assert isinstance(annotated_json(text), dict)


def test_derived_callback_files_follow_the_readme_recipe():
    derived = doc("callback.jsonc")
    assert json.loads(raw("callback.json")) == derived
    assert (
        raw("callback.json") == (json.dumps(derived, indent=2, ensure_ascii=False) + "\n").encode()
    )
    assert raw("callback.form") == form_twin(derived)


def test_the_vendor_text_spells_the_currency_three_ways():
    invoices = [
        doc(name)["commande"]["invoice"]
        for name in (
            "create_request_redirect.jsonc",
            "create_request_straight_otp.jsonc",
            "create_request_straight_approval.jsonc",
        )
    ]
    assert [next(k for k in invoice if k.startswith("devi")) for invoice in invoices] == [
        "devises",
        "devise",
        "devis",
    ]


# --- our requests against the request samples ------------------------------------------------
def payment_request(method: str = "hosted", otp: str = "") -> PaymentRequest:
    return PaymentRequest(
        reference="7d3f2c1e-0000-4000-8000-000000000001",
        amount=40000,
        currency="XOF",
        description="Commande AS-000001 — Ashtech Store",
        items=(
            {
                "name": "Mon super produit",
                "description": "Mon super produit",
                "quantity": 3,
                "unit_price": 10000,
                "total_price": 30000,
            },
            {
                "name": "Mon deuxième super produit",
                "description": "Mon deuxième super produit",
                "quantity": 2,
                "unit_price": 5000,
                "total_price": 10000,
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


@pytest.mark.parametrize(
    "sample,method,otp,url",
    [
        ("create_request_redirect.jsonc", "hosted", "", CREATE),
        ("create_request_straight_otp.jsonc", "orange_bf", "697078", STRAIGHT),
        ("create_request_straight_approval.jsonc", "moov_bf", "", STRAIGHT),
    ],
)
def test_our_create_request_has_the_samples_shape(rsps, sample, method, otp, url):
    answer = doc("create_answer.jsonc")
    if url == STRAIGHT:
        answer["response_text"] = ""
    rsps.post(url, json=answer)
    get_provider("ligdicash").initiate(payment_request(method, otp))
    sent = json.loads(rsps.calls[0].request.body)
    expected = without_currency_typos(doc(sample))
    assert shape(sent) == shape(expected)
    invoice, documented = sent["commande"]["invoice"], expected["commande"]["invoice"]
    assert invoice["devise"] == documented["devise"] == "XOF"
    assert (invoice["customer"] == "") == (documented["customer"] == "")
    assert (invoice["otp"] == "") == (documented["otp"] == "")
    assert sent["commande"]["actions"]["cancel_url"].startswith("https://") == expected["commande"][
        "actions"
    ]["cancel_url"].startswith("https://")


@pytest.mark.parametrize("sample", ["payout_client_request.jsonc", "payout_merchant_request.jsonc"])
def test_payout_samples_carry_the_min_amount_and_our_reference_key(sample):
    """The shop sends no payout yet; the samples stay here for refunds."""
    commande = doc(sample)["commande"]
    assert commande["amount"] >= 500 and commande["devise"] == "XOF"
    assert "transaction_id" in commande["custom_data"] and commande["callback_url"].startswith(
        "https://"
    )


# --- answers through the module ---------------------------------------------------------------
@pytest.mark.parametrize(
    "sample,host",
    [
        ("create_answer.jsonc", "client.ligdicash.com"),
        ("create_answer_quickstart.json", "app.ligdicash.com"),
    ],
)
def test_documented_create_answers_give_the_token_and_an_allowed_page(rsps, sample, host):
    answer = doc(sample) if sample.endswith(".jsonc") else json.loads(raw(sample))
    rsps.post(CREATE, json=answer)
    provider = get_provider("ligdicash")
    initiation = provider.initiate(payment_request())
    assert initiation.provider_reference == answer["token"]
    assert initiation.redirect_url == answer["response_text"]
    assert initiation.redirect_url.startswith(f"https://{host}/")
    assert provider.allowed_redirect(initiation.redirect_url)
    assert not provider.allowed_redirect(initiation.redirect_url.replace(host, "ligdicash.example"))


def test_documented_payout_answer_reads_like_a_create_answer(rsps):
    answer = doc("payout_answer.jsonc")
    rsps.post(STRAIGHT, json=answer)
    initiation = get_provider("ligdicash").initiate(payment_request("moov_bf"))
    assert initiation.provider_reference == answer["token"] and initiation.redirect_url == ""


def view(token: str) -> PaymentView:
    return PaymentView(
        reference="7d3f2c1e-0000-4000-8000-000000000001",
        provider_reference=token,
        amount=100,
        currency="XOF",
    )


@pytest.mark.parametrize(
    "changes,outcome",
    [
        ({}, Outcome.SUCCEEDED),
        ({"status": "nocompleted"}, Outcome.FAILED),  # as the vendor text spells it
        ({"status": "notcompleted"}, Outcome.FAILED),  # as the current docs spell it
        (
            {"status": "notcompleted", "response_code": "01", "response_text": "Echec (Code05)"},
            Outcome.FAILED,
        ),
        ({"status": "pending"}, Outcome.PENDING),
        (
            {"status": None, "response_code": "01", "response_text": "Echec (Code04)"},
            Outcome.UNKNOWN,
        ),
        ({"response_code": "01"}, Outcome.UNKNOWN),
    ],
)
def test_documented_status_answer_through_confirm(rsps, changes, outcome):
    answer = {**doc("status_answer_completed.jsonc"), **changes}
    rsps.get(CONFIRM, json=answer)
    result = get_provider("ligdicash").fetch_status(view(answer["token"]))
    assert rsps.calls[0].request.params == {"invoiceToken": answer["token"]}
    assert result.outcome == outcome
    assert result.amount == 100
    assert result.currency == ("XOF" if outcome == Outcome.SUCCEEDED else None)


def test_the_payer_wallet_is_the_documented_customer_field_as_reported(rsps):
    """``customer``: "NUMÉRO DU COMPTE LUDICASH DU CLIENT" in the vendor's
    status answer; a refund's payout goes back to it. The printed sample
    leaves it empty (then the shop falls back to the number the attempt was
    made with), so an empty value must stay empty, never be invented."""
    sample = doc("status_answer_completed.jsonc")
    rsps.get(CONFIRM, json=sample)
    assert get_provider("ligdicash").fetch_status(view(sample["token"])).payer == ""
    rsps.replace("GET", CONFIRM, json={**sample, "customer": "22670123456"})
    assert get_provider("ligdicash").fetch_status(view(sample["token"])).payer == "22670123456"


# --- callbacks through the module ------------------------------------------------------------
def test_documented_callback_as_printed_is_refused_as_malformed_json():
    """The printed sample has notes and a missing comma: no real delivery
    looks like it, and a body we cannot read must never reach a status check."""
    with pytest.raises(CallbackRejected):
        LigdicashProvider().parse_callback(raw("callback.jsonc"), {"Content-Type": JSON_TYPE})


def test_both_deliveries_of_the_documented_callback_are_one_event():
    provider = LigdicashProvider()
    as_json = provider.parse_callback(raw("callback.json"), {"Content-Type": JSON_TYPE})
    as_form = provider.parse_callback(raw("callback.form"), {"Content-Type": FORM_TYPE})
    assert as_json.reference == as_form.reference == "TRNS.36887"
    assert as_json.event_id == as_form.event_id
    assert (
        as_json.provider_reference == as_form.provider_reference == ""
    )  # never the callback's token
    assert as_json.authentic is as_form.authentic is None  # the hash is never trusted
    assert as_json.result is None  # the status API decides


def test_current_custom_data_with_hash_and_logfile_gives_our_reference():
    custom = annotated_json(raw("callback_custom_data_current.jsonc").decode())["custom_data"]
    body = {**doc("callback.jsonc"), "token": "", "custom_data": custom, "transaction_id": ""}
    provider = LigdicashProvider()
    for content_type, encoded in (
        (JSON_TYPE, json.dumps(body).encode()),
        (FORM_TYPE, form_twin(body)),
    ):
        info = provider.parse_callback(encoded, {"Content-Type": content_type})
        assert info.reference == "ART5A7044E5"


@pytest.mark.django_db
def test_the_documented_pair_is_answered_2xx_and_recorded_once(client):
    first = client.post(
        "/payments/callback/ligdicash/", data=raw("callback.form"), content_type=FORM_TYPE
    )
    second = client.post(
        "/payments/callback/ligdicash", data=raw("callback.json"), content_type=JSON_TYPE
    )
    assert (
        (first.status_code, first.json())
        == (second.status_code, second.json())
        == (200, {"status": "received"})
    )
    row = PaymentEvent.objects.get(provider="ligdicash", kind=PaymentEvent.Kind.CALLBACK)
    assert row.valid and row.payment is None  # kept until its payment is known
    assert (
        row.deliveries == 2
        and row.data["reference"] == "TRNS.36887"
        and row.data["provider_reference"] == ""
    )


# --- the sandbox against the same samples -------------------------------------------------------
SANDBOX = "/sandbox/ligdicash"
AUTH = {"HTTP_APIKEY": "test-ligdi-apikey-7Q2", "HTTP_AUTHORIZATION": "Bearer test-ligdi-token-9XK"}


def forward_to_sandbox(rsps, client) -> None:
    """Answer the provider's calls to https://ligdicash.test with the emulator."""

    def answer(request):
        headers = {
            "HTTP_APIKEY": request.headers.get("Apikey", ""),
            "HTTP_AUTHORIZATION": request.headers.get("Authorization", ""),
        }
        path = SANDBOX + request.path_url
        if request.method == "GET":
            response = client.get(path, **headers)
        else:
            response = client.post(path, data=request.body, content_type=JSON_TYPE, **headers)
        return response.status_code, {}, response.content

    for method in ("GET", "POST"):
        rsps.add_callback(
            method, re.compile(re.escape(BASE) + "/.*"), callback=answer, content_type=JSON_TYPE
        )


def sandbox_create(client, rsps, method: str = "hosted", otp: str = ""):
    """The real module's create call, answered by the emulator: (initiation, answer)."""
    forward_to_sandbox(rsps, client)
    initiation = LigdicashProvider().initiate(payment_request(method, otp))
    return initiation, initiation.raw


def sandbox_confirm(client, token: str):
    return client.get(
        SANDBOX + "/pay/v01/redirect/checkout-invoice/confirm/", {"invoiceToken": token}, **AUTH
    )


def entry_shape(custom: list) -> set:
    return {key for entry in custom for key in entry}


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_create_answer_has_the_samples_keys_and_types(client, rsps):
    initiation, answer = sandbox_create(client, rsps)
    assert json.loads(rsps.calls[0].response.content) == answer
    sample = doc("create_answer.jsonc")
    assert shape(answer) == shape(sample)
    assert answer["response_code"] == "00" and answer["token"] == initiation.provider_reference
    assert (
        SandboxPayment.objects.get(token=answer["token"]).merchant_reference
        == "7d3f2c1e-0000-4000-8000-000000000001"
    )


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_confirm_answer_has_the_samples_keys_and_types(client, rsps):
    token = sandbox_create(client, rsps)[0].provider_reference
    settle(SandboxPayment.objects.get(token=token), SandboxPayment.Status.SUCCEEDED)
    answer = sandbox_confirm(client, token).json()
    sample = doc("status_answer_completed.jsonc")
    assert list(answer) == list(sample)
    assert {k: type(v) for k, v in answer.items() if k != "custom_data"} == {
        k: type(v) for k, v in sample.items() if k != "custom_data"
    }
    assert entry_shape(answer["custom_data"]) == entry_shape(sample["custom_data"])
    assert (answer["status"], answer["response_code"], answer["token"]) == (
        "completed",
        "00",
        token,
    )
    assert LigdicashProvider.read_status(answer).outcome == Outcome.SUCCEEDED


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_confirms_a_refusal_as_notcompleted_with_01(client, rsps):
    token = sandbox_create(client, rsps)[0].provider_reference
    settle(SandboxPayment.objects.get(token=token), SandboxPayment.Status.FAILED)
    answer = sandbox_confirm(client, token).json()
    assert list(answer) == list(doc("status_answer_completed.jsonc"))
    assert (answer["status"], answer["response_code"]) == ("notcompleted", "01")
    assert answer["response_text"].startswith("Echec (Code")
    assert LigdicashProvider.read_status(answer).outcome == Outcome.FAILED


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
@pytest.mark.parametrize(
    "outcome,status",
    [
        (SandboxPayment.Status.SUCCEEDED, "completed"),
        (SandboxPayment.Status.FAILED, "notcompleted"),
    ],
)
def test_sandbox_sends_each_event_twice_like_the_samples(client, rsps, outcome, status):
    token = sandbox_create(client, rsps)[0].provider_reference
    sp = SandboxPayment.objects.get(token=token)
    assert emulator.callback_request(sp) is None  # nothing to say while pending
    deliveries = emulator.callback_request(settle(sp, outcome))
    assert [headers["Content-Type"] for _url, _body, headers in deliveries] == [
        FORM_TYPE,
        JSON_TYPE,
    ]
    assert {url for url, _body, _headers in deliveries} == {
        "https://shop.test/payments/callback/ligdicash/"
    }
    (_u, form_body, _h), (_u2, json_body, _h2) = deliveries

    sample = json.loads(raw("callback.json"))
    sent = json.loads(json_body)
    assert list(sent) == list(sample)
    assert {k: type(v) for k, v in sent.items() if k != "custom_data"} == {
        k: type(v) for k, v in sample.items() if k != "custom_data"
    }
    assert entry_shape(sent["custom_data"]) == entry_shape(sample["custom_data"])
    assert (sent["token"], sent["status"]) == ("", status)
    assert [e["keyof_customdata"] for e in sent["custom_data"]][-2:] == ["hash", "logfile"]

    form_fields = dict(parse_qsl(form_body.decode(), keep_blank_values=True))
    sample_fields = dict(parse_qsl(raw("callback.form").decode(), keep_blank_values=True))
    assert list(form_fields) == list(sample_fields)
    assert json.loads(form_fields["custom_data"]) == sent["custom_data"]
    assert form_body == form_twin(sent)

    provider = LigdicashProvider()
    infos = [provider.parse_callback(body, headers) for _url, body, headers in deliveries]
    assert infos[0].reference == infos[1].reference == "7d3f2c1e-0000-4000-8000-000000000001"
    assert infos[0].event_id == infos[1].event_id


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_pair_reaches_the_shop_as_one_event_then_confirm_decides(client, rsps, settings):
    """Provider, services and sandbox agree end to end: the hosted page is
    followed, the form delivery is taken, its JSON twin is counted as the same
    event, and the check asks confirm with the creation token."""
    settings.PAYMENTS_SANDBOX = True  # the sandbox's page is on the shop's own host
    forward_to_sandbox(rsps, client)
    order = make_order((make_product(price=2500), 1), country="BF", phone="+22670123456")
    payment = services.start_payment(order, "ligdicash", "hosted")
    assert payment.redirect_url.startswith("https://shop.test/sandbox/page/ligdicash/")
    sp = SandboxPayment.objects.get(token=payment.provider_reference)
    assert (sp.merchant_reference, sp.amount) == (str(payment.reference), 2500)

    deliveries = emulator.callback_request(settle(sp, SandboxPayment.Status.FAILED))
    answers = [
        client.post("/payments/callback/ligdicash/", data=b, content_type=h["Content-Type"]).json()
        for _u, b, h in deliveries
    ]
    assert answers == [{"status": "received"}, {"status": "received"}]
    event = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK, payment=payment)
    assert event.deliveries == 2 and event.headers.get("Content-Type") == FORM_TYPE

    calls_before = len(rsps.calls)
    payment = services.process_callback(event.pk)
    assert rsps.calls[calls_before].request.params == {"invoiceToken": sp.token}
    assert payment.status == PaymentStatus.FAILED


# --- refunds: the client payout, against "Payout client - Payload" / "Payout - Réponse" ---
PAYOUT_CREATE_URL = BASE + "/pay/v01/withdrawal/create"
PAYOUT_CONFIRM_URL = BASE + "/pay/v01/withdrawal/confirm/"


def refund(provider=None):
    provider = provider or get_provider("ligdicash")
    return provider.refund(
        "3c1b0d5e-0000-4000-8000-00000000000f",
        view("tok-payin"),
        40000,
        "+22666068734",
        "Remboursement",
    )


def test_our_payout_request_has_the_client_payout_samples_shape(rsps):
    rsps.post(PAYOUT_CREATE_URL, json=doc("payout_answer.jsonc"))
    refund()
    sent = json.loads(rsps.calls[0].request.body)
    assert shape(sent) == shape(doc("payout_client_request.jsonc"))
    commande = sent["commande"]
    assert commande["customer"] == "22666068734", (
        "the wallet number written as the sample writes it"
    )
    assert (
        commande["devise"] == "XOF" and commande["top_up_wallet"] == 1 and commande["amount"] >= 500
    )


def test_documented_payout_answer_gives_the_token_to_poll(rsps):
    answer = doc("payout_answer.jsonc")
    rsps.post(PAYOUT_CREATE_URL, json=answer)
    result = refund()
    assert (result.outcome, result.provider_reference) == (Outcome.PENDING, answer["token"])


def test_payout_status_is_read_with_the_documented_status_answer(rsps):
    answer = doc("status_answer_completed.jsonc")
    rsps.get(PAYOUT_CONFIRM_URL, json=answer)
    result = get_provider("ligdicash").refund_status("ref", "payout-token", view("tok-payin"))
    assert result.outcome == Outcome.SUCCEEDED
    assert rsps.calls[0].request.params == {"withdrawalToken": "payout-token"}


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_payout_answers_have_the_samples_keys_and_types(client, rsps, settings):
    settings.PAYMENTS_SANDBOX = True
    documented_request = doc("payout_client_request.jsonc")["commande"]
    sent = {"commande": {**documented_request, "callback_url": ""}}
    created = client.post(
        SANDBOX + "/pay/v01/withdrawal/create",
        data=json.dumps(sent),
        content_type="application/json",
        **AUTH,
    ).json()
    documented = doc("payout_answer.jsonc")
    # custom_data is "LES CUSTOM DATA QUE VOUS AVEZ RENSEIGNER": what was sent comes back.
    assert shape({**created, "custom_data": {}}) == shape({**documented, "custom_data": {}})
    assert created["custom_data"] == sent["commande"]["custom_data"]
    SandboxPayment.objects.filter(token=created["token"]).update(
        status=SandboxPayment.Status.SUCCEEDED
    )
    status = client.get(
        SANDBOX + "/pay/v01/withdrawal/confirm/", {"withdrawalToken": created["token"]}, **AUTH
    ).json()
    sample = doc("status_answer_completed.jsonc")
    assert set(status) <= set(sample) and {"status", "response_code", "token", "amount"} <= set(
        status
    )
    assert LigdicashProvider.read_status(status).outcome == Outcome.SUCCEEDED

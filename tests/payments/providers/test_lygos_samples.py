"""Lygos against the vendor's own samples (tests/payments/vendor_samples/lygos/,
copied byte for byte from the Lygos API docs; see its README).

Every sample file is read here. Answers go through the REAL provider module
with ``responses`` at the HTTP boundary; our outgoing request is compared with
the documented one; the sandbox is called through Django's test client and
its answers must have the samples' keys and value types, so the sandbox and
the vendor's docs cannot drift apart silently.

The docs print placeholders (``"<string>"``, ``123``). As printed, a sample
whose ``link`` is ``"<string>"`` or whose ``order_id`` is not ours must be
refused or read as unknown; ``fill`` replaces only the placeholders (same
keys, same types) to show what the module reads from a real answer.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from payments.providers.base import Outcome, PaymentRequest, PaymentView, ProviderError
from payments.providers.lygos import STATUS_MAP, LygosProvider
from payments.sandbox import lygos as emulator
from payments.sandbox.core import settle
from payments.sandbox.models import SandboxPayment
from tests.support.kits.lygos import post_gateway
from tests.support.samples import sample_files, shape

SAMPLES = Path(__file__).resolve().parents[1] / "vendor_samples" / "lygos"
raw, load = sample_files(SAMPLES)
BASE = settings.PAYMENT_PROVIDERS["lygos"]["base_url"]
KEY = settings.PAYMENT_PROVIDERS["lygos"]["api_key"]
REFERENCE = "55a4e677-5700-4ed0-9a2a-9300db894ddb"
PLACEHOLDER = "<string>"

QUOTED = {
    "list_answer_200.json",
    "list_answer_401.json",
    "list_answer_404.json",
    "list_answer_402.json",
    "create_request.php",
    "create_answer_200.json",
    "create_answer_401.json",
    "create_answer_404.json",
    "create_answer_422.json",
    "get_answer_200.json",
    "get_answer_400.json",
    "get_answer_401.json",
    "get_answer_404.json",
    "get_answer_422.json",
    "update_request.php",
    "update_answer_200.json",
    "update_answer_401.json",
    "update_answer_404.json",
    "update_answer_422.json",
    "delete_answer_200.json",
    "delete_answer_401.json",
    "delete_answer_404.json",
    "delete_answer_422.json",
    "payin_answer_200.json",
    "payin_answer_404.json",
    "payin_answer_422.json",
}
DERIVED = {"create_request.json", "update_request.json"}
ERRORS = sorted(name for name in QUOTED if re.fullmatch(r"\w+_answer_4\d\d\.json", name))


def fill(sample: dict, **values) -> dict:
    """The sample with its ``"<string>"`` placeholders replaced by ``values``;
    every other value and every key stays as printed."""
    filled = {}
    for key, value in sample.items():
        if value == PLACEHOLDER and key in values:
            filled[key] = values[key]
        else:
            filled[key] = value
    assert set(filled) == set(sample)
    return filled


def provider(**config) -> LygosProvider:
    return LygosProvider(config={**settings.PAYMENT_PROVIDERS["lygos"], **config})


def payment_request(amount: int = 123) -> PaymentRequest:
    return PaymentRequest(
        reference=REFERENCE,
        amount=amount,
        currency="XOF",
        description="Commande A-7",
        items=(),
        customer_name="Awa Traoré",
        customer_email="awa@example.com",
        customer_phone="+22670123456",
        country="BF",
        method="hosted",
        return_url=f"https://shop.test/payments/return/{REFERENCE}/",
        cancel_url=f"https://shop.test/payments/cancel/{REFERENCE}/",
        callback_url="https://shop.test/payments/callback/lygos/",
    )


def gateway_answer(name: str = "create_answer_200.json") -> dict:
    sample = load(name)
    return fill(
        sample,
        link=f"https://pay.lygosapp.com/link/{sample['id']}",
        currency="XOF",
        order_id=REFERENCE,
    )


def view(gateway_id: str, amount: int = 123) -> PaymentView:
    return PaymentView(
        reference=REFERENCE,
        provider_reference=gateway_id,
        amount=amount,
        currency="XOF",
        method="hosted",
    )


# --- the folder ------------------------------------------------------------------------
def test_every_sample_file_is_read_by_these_tests():
    present = {p.name for p in SAMPLES.iterdir() if p.name != "README.md"}
    assert present == QUOTED | DERIVED
    readme = (SAMPLES / "README.md").read_text()
    for name in present:
        assert name in readme or name.rsplit("_", 1)[0] in readme, (
            f"{name} undocumented in README.md"
        )


@pytest.mark.parametrize("name", sorted(n for n in QUOTED | DERIVED if n.endswith(".json")))
def test_every_json_sample_is_valid_json_as_printed(name):
    load(name)


@pytest.mark.parametrize(
    "php,derived",
    [("create_request.php", "create_request.json"), ("update_request.php", "update_request.json")],
)
def test_the_derived_request_is_what_the_php_sample_json_encodes(php, derived):
    pairs = re.findall(r"'(\w+)' => (\d+|'[^']*')", raw(php).decode())
    body = {key: int(value) if value.isdigit() else value.strip("'") for key, value in pairs}
    # PHP json_encode without flags: compact, array order, no trailing newline.
    assert json.dumps(body, separators=(",", ":")).encode() == raw(derived)


# --- our request -------------------------------------------------------------------------
def test_our_create_request_has_the_documented_keys_and_types(rsps):
    rsps.post(BASE + "/gateway", json=gateway_answer())
    provider().initiate(payment_request())
    sent = json.loads(rsps.calls[0].request.body)
    documented = load("create_request.json")
    assert shape(sent) == shape(documented)
    assert rsps.calls[0].request.headers["api-key"] == KEY
    assert rsps.calls[0].request.headers["Content-Type"] == "application/json"
    assert sent["order_id"] == REFERENCE, (
        "order_id is our payment reference: the status and the webhook name it"
    )


# --- create answers ----------------------------------------------------------------------
def test_the_create_answer_as_printed_is_never_followed(rsps):
    rsps.post(
        BASE + "/gateway", body=raw("create_answer_200.json"), content_type="application/json"
    )
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.kind == "malformed" and excinfo.value.unknown  # link "<string>" is no page


def test_the_create_answer_gives_the_gateway_id_and_its_link(rsps):
    answer = gateway_answer()
    rsps.post(BASE + "/gateway", json=answer)
    lygos = provider()
    initiation = lygos.initiate(payment_request(amount=answer["amount"]))
    assert initiation.provider_reference == load("create_answer_200.json")["id"]
    assert initiation.redirect_url == answer["link"] and initiation.outcome == Outcome.PENDING
    assert lygos.allowed_redirect(initiation.redirect_url)


def test_a_create_answer_with_another_amount_than_sent_is_refused(rsps):
    rsps.post(BASE + "/gateway", json=gateway_answer())  # amount 123
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request(amount=15000))
    assert excinfo.value.kind == "rejected"


# What the refusal names after "lygos: HTTP <status>" (the payment's last
# error, read by staff).
EXPECTED_REFUSAL = {
    "NO_API_KEY_PROVIDED": "NO_API_KEY_PROVIDED",
    "API_KEY_NOT_FOUND": "API_KEY_NOT_FOUND",
    "GATEWAY_USER_NOT_FOUND": "GATEWAY_USER_NOT_FOUND",
    "GATEWAY_NOT_FOUND": "GATEWAY_NOT_FOUND",
    None: "VALIDATION_ERROR <string>: <string>",
}


@pytest.mark.parametrize("name", ERRORS)
def test_every_documented_error_body_becomes_a_refusal_naming_it(rsps, name):
    status = int(name[-8:-5])
    rsps.post(BASE + "/gateway", body=raw(name), status=status, content_type="application/json")
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    detail = load(name)["detail"]
    expected = EXPECTED_REFUSAL[detail["type"] if isinstance(detail, dict) else None]
    assert excinfo.value.kind == "rejected" and excinfo.value.status_code == status
    assert str(excinfo.value) == f"lygos: HTTP {status} {expected}"


# --- the gateway list (after a 409) -----------------------------------------------------
def test_the_list_sample_finds_our_gateway_after_a_conflict(rsps):
    listing = load("list_answer_200.json")
    assert isinstance(listing, list)
    filled = [
        fill(
            item,
            link=f"https://pay.lygosapp.com/link/{item['id']}",
            currency="XOF",
            order_id=REFERENCE,
        )
        for item in listing
    ]
    rsps.post(
        BASE + "/gateway", json={"detail": {"message": "Conflict", "type": "CONFLICT"}}, status=409
    )
    rsps.get(BASE + "/gateway", json=filled)
    initiation = provider().initiate(payment_request())
    assert initiation.provider_reference == listing[0]["id"]


@pytest.mark.parametrize(
    "name",
    [
        "list_answer_200.json",
        "list_answer_401.json",
        "list_answer_404.json",
        "list_answer_402.json",
    ],
)
def test_a_list_without_our_gateway_leaves_the_conflict_unknown(rsps, name):
    status = int(name[-8:-5])
    rsps.post(
        BASE + "/gateway", json={"detail": {"message": "Conflict", "type": "CONFLICT"}}, status=409
    )
    rsps.get(BASE + "/gateway", body=raw(name), status=status, content_type="application/json")
    with pytest.raises(ProviderError) as excinfo:
        provider().initiate(payment_request())
    assert excinfo.value.unknown and excinfo.value.status_code == 409


# --- the payin status ------------------------------------------------------------------------
GATEWAY_ID = load("get_answer_200.json")["id"]
PAYIN = f"{BASE}/gateway/payin/{REFERENCE}"
GATEWAY = f"{BASE}/gateway/{GATEWAY_ID}"


def test_the_payin_sample_as_printed_is_unknown():
    result = provider().read_status(load("payin_answer_200.json"), REFERENCE)
    assert result.outcome == Outcome.UNKNOWN  # order_id "<string>" is not ours


@pytest.mark.parametrize("word", sorted(STATUS_MAP) + ["<string>", "completed", "refunded"])
def test_the_filled_payin_sample_follows_the_status_table(rsps, word):
    rsps.get(PAYIN, json=fill(load("payin_answer_200.json"), order_id=REFERENCE, status=word))
    rsps.get(
        GATEWAY,
        json=fill(
            load("get_answer_200.json"),
            currency="XOF",
            order_id=REFERENCE,
            link="https://pay.lygosapp.com/link/x",
        ),
    )
    result = provider().fetch_status(view(GATEWAY_ID))
    assert result.outcome == STATUS_MAP.get(word, Outcome.UNKNOWN)
    assert repr(word) in result.message, "the raw value is journalled"
    if result.outcome == Outcome.SUCCEEDED:
        assert (result.amount, result.currency) == (load("get_answer_200.json")["amount"], "XOF")


def test_the_gateway_sample_as_printed_gives_no_trustworthy_amount(rsps):
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": "success"})
    rsps.get(GATEWAY, body=raw("get_answer_200.json"), content_type="application/json")
    result = provider().fetch_status(view(GATEWAY_ID))
    assert (
        result.outcome == Outcome.SUCCEEDED and result.amount is None
    )  # order_id "<string>": review, not paid


@pytest.mark.parametrize(
    "name",
    ["get_answer_400.json", "get_answer_401.json", "get_answer_404.json", "get_answer_422.json"],
)
def test_a_success_whose_gateway_read_gets_a_documented_error_has_no_amount(rsps, name):
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": "success"})
    rsps.get(GATEWAY, body=raw(name), status=int(name[-8:-5]), content_type="application/json")
    result = provider().fetch_status(view(GATEWAY_ID))
    assert result.outcome == Outcome.SUCCEEDED and result.amount is None


@pytest.mark.parametrize("name", ["payin_answer_404.json", "payin_answer_422.json"])
def test_the_payin_error_samples_are_unknown_never_pending_or_paid(rsps, name):
    rsps.get(PAYIN, body=raw(name), status=int(name[-8:-5]), content_type="application/json")
    result = provider().fetch_status(view(GATEWAY_ID))
    assert result.outcome == Outcome.UNKNOWN


@pytest.mark.parametrize("name", ["update_answer_200.json", "delete_answer_200.json"])
def test_update_and_delete_answers_are_documented_but_never_asked_for(rsps, name):
    assert load(name) == "<any>"
    rsps.post(BASE + "/gateway", json=gateway_answer())
    rsps.get(PAYIN, json={"order_id": REFERENCE, "status": "success"})
    rsps.get(
        f"{BASE}/gateway/{load('create_answer_200.json')['id']}",
        json=fill(load("get_answer_200.json"), currency="XOF", order_id=REFERENCE),
    )
    lygos = provider()
    initiation = lygos.initiate(payment_request())
    lygos.fetch_status(view(initiation.provider_reference))
    assert {c.request.method for c in rsps.calls} <= {"POST", "GET"}


# --- the sandbox against the same samples -------------------------------------------------
def sandbox_create(client, key: str | None = KEY, **overrides):
    body = fill(
        load("create_request.json"),
        shop_name="Ashtech Store",
        message="Commande A-7",
        order_id=REFERENCE,
    )
    body.update(
        success_url=f"https://shop.test/payments/return/{REFERENCE}/",
        failure_url=f"https://shop.test/payments/cancel/{REFERENCE}/",
    )
    body.update(overrides)
    return post_gateway(client, body, key)


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
class TestSandboxAgainstTheSamples:
    def test_create_answer_has_the_samples_shape(self, client):
        response = sandbox_create(client)
        assert response.status_code == 200
        assert shape(response.json()) == shape(load("create_answer_200.json"))

    def test_list_answer_is_the_samples_type_but_lists_nothing(self, client):
        sandbox_create(client)
        response = client.get("/sandbox/lygos/gateway", headers={"api-key": KEY})
        # A JSON list like the sample, always empty: the sandbox's key is
        # public, so listing would show every sandbox order to anyone.
        assert isinstance(load("list_answer_200.json"), list) and response.json() == []

    def test_get_answer_has_the_samples_shape(self, client):
        gateway_id = sandbox_create(client).json()["id"]
        response = client.get(f"/sandbox/lygos/gateway/{gateway_id}", headers={"api-key": KEY})
        assert shape(response.json()) == shape(load("get_answer_200.json"))

    def test_payin_answer_has_the_samples_shape(self, client):
        sandbox_create(client)
        response = client.get(f"/sandbox/lygos/gateway/payin/{REFERENCE}", headers={"api-key": KEY})
        assert shape(response.json()) == shape(load("payin_answer_200.json"))
        assert response.json()["status"] in STATUS_MAP

    @pytest.mark.parametrize(
        "call,sample",
        [
            (lambda c: sandbox_create(c, key=None), "create_answer_401.json"),
            (lambda c: sandbox_create(c, key="lygosapp-wrong"), "create_answer_404.json"),
            (lambda c: c.get("/sandbox/lygos/gateway"), "list_answer_401.json"),
            (
                lambda c: c.get("/sandbox/lygos/gateway", headers={"api-key": "lygosapp-wrong"}),
                "list_answer_404.json",
            ),
            (
                lambda c: c.get(f"/sandbox/lygos/gateway/{uuid.uuid4()}", headers={"api-key": KEY}),
                "get_answer_404.json",
            ),
            (lambda c: c.get(f"/sandbox/lygos/gateway/{uuid.uuid4()}"), "get_answer_401.json"),
            (lambda c: c.get(f"/sandbox/lygos/gateway/payin/{REFERENCE}"), "payin_answer_404.json"),
        ],
    )
    def test_error_answers_are_the_documented_ones(self, client, call, sample):
        response = call(client)
        assert response.status_code == int(sample[-8:-5])
        assert response.json() == load(sample)

    def test_validation_errors_have_the_samples_shape(self, client):
        response = sandbox_create(client, amount="123")
        assert response.status_code == 422
        assert shape(response.json()) == shape(load("create_answer_422.json"))

    def test_the_sandbox_webhook_carries_the_payin_keys_with_their_types(self, client):
        sandbox_create(client)
        sp = settle(SandboxPayment.objects.get(), SandboxPayment.Status.SUCCEEDED)
        _, body, headers = emulator.callback_request(sp)
        data = json.loads(body)
        payin = shape(load("payin_answer_200.json"))
        assert {key: shape(data[key]) for key in payin} == payin
        info = provider().parse_callback(body, headers)
        assert info.reference == REFERENCE

"""LengoPay's documented payloads are the judge: every file of
``tests/payments/vendor_samples/lengopay/`` goes through the real provider
module (``responses`` at the HTTP boundary), and the sandbox's answers and
callbacks are compared with the same samples (keys and value types), so a
test fails when the module, the sandbox and the vendor's samples disagree.
Where each sample comes from: the README beside them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from payments.models import PaymentEvent
from payments.providers.base import CallbackRejected, Outcome, PaymentRequest
from payments.providers.lengopay import LengopayProvider
from payments.sandbox import lengopay as emulator
from payments.sandbox.core import settle
from payments.sandbox.models import SandboxPayment
from tests.support.kits.lengopay import view
from tests.support.samples import sample_files
from tests.support.samples import shape as sample_shape

SAMPLES = Path(__file__).resolve().parents[1] / "vendor_samples" / "lengopay"
raw, sample = sample_files(SAMPLES)
BASE = "https://lengopay.test"
CASHIN = BASE + "/api/v2/cashin/request"
STATUS_V2 = BASE + "/api/v2/cashin/transaction"
STATUS_V1 = BASE + "/api/v1/transaction/status"
LICENSE = "test-lengo-license-3JD"
WEBSITE = "testWebsite01"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")  # "2023-11-20 09:37:53"

# Every sample file, and the tests below that read it.
COVERED = {
    "create_request.json",
    "create_answer.json",
    "callback.json",
    "callback.derived.json",
    "callback_v1.txt",
    "callback_v1.derived.json",
    "status_request_v2.json",
    "status_answer_v2.json",
    "status_answer_v2.derived.json",
    "status_request_v1.json",
    "status_answer_v1.json",
    "v1_create_answer.json",
}


def printed_keys(name: str) -> list[str]:
    """The keys of a sample that is not JSON as printed, in order."""
    return re.findall(r'"([A-Za-z_]+)"\s*:', raw(name).decode())


def shape(data: dict) -> dict[str, str]:
    """Keys and value types: what the sandbox must share with a sample."""
    return sample_shape(data, lists="leaf", depth=1)


def is_json(name: str) -> bool:
    try:
        json.loads(raw(name))
    except ValueError:
        return False
    return True


def payment_request(
    amount: int = 1000, callback_url: str = "https://merchant-site.com/callback"
) -> PaymentRequest:
    return PaymentRequest(
        reference="6f1c2a7e-1111-4c2b-9d7e-0a1b2c3d4e5f",
        amount=amount,
        currency="GNF",
        description="Commande A-1",
        items=(),
        customer_name="Mamadou Diallo",
        customer_email="mamadou@example.gn",
        customer_phone="+224620124578",
        country="GN",
        method="lp-om-gn",
        return_url="https://shop.test/payments/return/x/",
        cancel_url="https://shop.test/payments/cancel/x/",
        callback_url=callback_url,
        payer_phone="+224620124578",
    )


def without_status_api() -> LengopayProvider:
    return LengopayProvider(
        config={**django_settings.PAYMENT_PROVIDERS["lengopay"], "status_path": ""}
    )


# --- the folder itself ------------------------------------------------------------------
def test_every_sample_is_tested_and_documented():
    files = {p.name for p in SAMPLES.iterdir() if p.name != "README.md"}
    assert files == COVERED
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for name in files:
        assert f"`{name}`" in readme, name


def test_samples_that_are_not_json_as_printed_are_exactly_the_known_doc_typos():
    broken = {name for name in COVERED if name.endswith(".json") and not is_json(name)}
    assert broken == {"callback.json", "status_request_v2.json", "status_answer_v2.json"}


def test_derived_samples_differ_from_their_source_only_as_the_readme_says():
    assert raw("status_answer_v2.derived.json") == raw("status_answer_v2.json").replace(
        b",\n}", b"\n}"
    )
    assert raw("callback.derived.json") == raw("callback.json").replace(
        b"RzFmb1JvVWwxWFJQaXBCaXFWM,", b'"RzFmb1JvVWwxWFJQaXBCaXFWM",'
    )
    assert raw("callback_v1.derived.json") == raw("callback.derived.json").replace(
        b'"account"', b'"Client"'
    )


# --- create: our request, their answer --------------------------------------------------
def test_our_cashin_request_has_the_samples_keys_and_types(rsps):
    documented = sample("create_request.json")
    rsps.post(CASHIN, body=raw("create_answer.json"), content_type="application/json")
    LengopayProvider().initiate(
        payment_request(amount=int(documented["amount"]), callback_url=documented["callback_url"])
    )
    sent = json.loads(rsps.calls[0].request.body)
    assert shape(sent) == shape(documented)
    assert list(sent) == list(documented)
    same = ("amount", "currency", "type_account", "account", "callback_url")
    assert {k: sent[k] for k in same} == {k: documented[k] for k in same}


def test_the_documented_cashin_answer_gives_the_unpadded_pay_id(rsps):
    rsps.post(CASHIN, body=raw("create_answer.json"), content_type="application/json")
    initiation = LengopayProvider().initiate(payment_request())
    assert (
        initiation.provider_reference
        == sample("create_answer.json")["pay_id"]
        == "elNZc1FUZzduVzhQcjlYVWtkZ2pmVmRac1Z5anUxUG8"
    )
    assert (initiation.outcome, initiation.redirect_url) == (Outcome.PENDING, "")


def test_the_v1_hosted_page_answer_never_sends_the_shopper_anywhere(rsps):
    """The module speaks the v2 push API; should a v1 answer (with its
    ``payment_url``) come back, its pay_id is kept and no page is followed."""
    rsps.post(CASHIN, body=raw("v1_create_answer.json"), content_type="application/json")
    initiation = LengopayProvider().initiate(payment_request())
    assert (initiation.provider_reference, initiation.redirect_url) == ("...", "")


# --- status: our request, their answers -------------------------------------------------
def quotes_pay_id(name: str, pay_id: str) -> bool:
    """True when sample ``name`` writes ``"pay_id": "<pay_id>"``, byte for byte."""
    return f'"pay_id": "{pay_id}"'.encode() in raw(name)


def sent_pay_ids(rsps) -> list[str]:
    return [json.loads(call.request.body)["pay_id"] for call in rsps.calls]


def status_server(rsps, finds: str, answer: bytes) -> None:
    """A v2 status endpoint that finds the payment only by the pay_id written
    exactly as ``finds`` and answers its documented 404 otherwise (app/doc2.md
    lists 404 among its errors; no body is published)."""

    def reply(request):
        if json.loads(request.body).get("pay_id") == finds:
            return 200, {}, answer
        return 404, {}, b'{"message": "Not Found"}'

    rsps.add_callback("POST", STATUS_V2, callback=reply, content_type="application/json")


def test_our_v2_status_request_has_the_samples_keys_and_the_cashin_answers_pay_id(rsps):
    documented_keys = printed_keys("status_request_v2.json")
    rsps.post(STATUS_V2, body=raw("status_answer_v2.derived.json"), content_type="application/json")
    pay_id = sample("create_answer.json")["pay_id"]
    LengopayProvider().fetch_status(view(pay_id))
    sent = json.loads(rsps.calls[0].request.body)
    assert list(sent) == documented_keys == ["pay_id", "websiteid"]
    # First as the cash-in answer wrote it (the status doc's padded form is the retry).
    assert quotes_pay_id("create_answer.json", sent["pay_id"])
    assert sent["websiteid"] == WEBSITE


# Which pay_id form LengoPay's status endpoint finds is unconfirmed (the
# provider module's Quirks): the two documented forms, one test each.
def test_a_server_that_finds_the_cashin_answers_pay_id_is_asked_once(rsps):
    pay_id = sample("create_answer.json")["pay_id"]
    status_server(rsps, finds=pay_id, answer=raw("status_answer_v2.derived.json"))
    for _ in range(2):
        result = LengopayProvider().fetch_status(view(pay_id))
        assert (result.outcome, result.amount) == (Outcome.SUCCEEDED, 1000)
    assert sent_pay_ids(rsps) == [pay_id, pay_id]
    assert quotes_pay_id("create_answer.json", pay_id)


def test_a_server_that_finds_the_status_docs_padded_pay_id_is_asked_again_and_remembered(rsps):
    stored = sample("create_answer.json")["pay_id"]
    documented = re.search(r'"pay_id": "([^"]+)"', raw("status_request_v2.json").decode())[1]
    assert documented == stored + "="
    status_server(rsps, finds=documented, answer=raw("status_answer_v2.derived.json"))
    result = LengopayProvider().fetch_status(view(stored))
    assert (result.outcome, result.amount, result.provider_reference) == (
        Outcome.SUCCEEDED,
        1000,
        stored,
    )
    assert sent_pay_ids(rsps) == [stored, documented]  # "not found", then the other padding
    rsps.calls.reset()
    # Remembered for the process (another provider instance, another payment's check).
    assert LengopayProvider().fetch_status(view(stored)).outcome == Outcome.SUCCEEDED
    assert sent_pay_ids(rsps) == [documented]
    assert quotes_pay_id("status_request_v2.json", documented)


def test_a_remembered_padding_that_stops_finding_payments_is_unlearnt(rsps):
    stored = sample("create_answer.json")["pay_id"]
    status_server(rsps, finds=stored + "=", answer=raw("status_answer_v2.derived.json"))
    LengopayProvider().fetch_status(view(stored))
    rsps.reset()
    status_server(rsps, finds=stored, answer=raw("status_answer_v2.derived.json"))
    assert LengopayProvider().fetch_status(view(stored)).outcome == Outcome.SUCCEEDED
    assert sent_pay_ids(rsps) == [stored + "=", stored]
    rsps.calls.reset()
    LengopayProvider().fetch_status(view(stored))
    assert sent_pay_ids(rsps) == [stored]


def test_the_documented_v2_status_answer_pays_with_its_amount(rsps):
    rsps.post(STATUS_V2, body=raw("status_answer_v2.derived.json"), content_type="application/json")
    result = LengopayProvider().fetch_status(view(sample("create_answer.json")["pay_id"]))
    assert (result.outcome, result.amount, result.currency) == (Outcome.SUCCEEDED, 1000, "GNF")
    assert result.provider_reference == "elNZc1FUZzduVzhQcjlYVWtkZ2pmVmRac1Z5anUxUG8"


def test_the_v2_status_answer_as_printed_is_unknown_never_success(rsps):
    """Trailing comma: not JSON. A real server's answer is; this one reads as
    "unknown" and the next poll asks again."""
    rsps.post(STATUS_V2, body=raw("status_answer_v2.json"), content_type="application/json")
    assert (
        LengopayProvider().fetch_status(view(sample("create_answer.json")["pay_id"])).outcome
        == Outcome.UNKNOWN
    )


def test_our_v1_status_request_has_the_samples_keys(rsps):
    rsps.post(STATUS_V2, json={"message": "Not Found"}, status=404)
    rsps.post(STATUS_V1, body=raw("status_answer_v1.json"), content_type="application/json")
    LengopayProvider().fetch_status(view("elNZc1FUZzduVzhQcjlYVWtkZ2pmVmRac1Z5anUxUG8"))
    # v2 "not found" in both paddings, then the v1 route.
    sent = json.loads(rsps.calls[2].request.body)
    assert rsps.calls[2].request.url == STATUS_V1
    assert shape(sent) == shape(sample("status_request_v1.json"))


def test_the_documented_v1_status_answer_is_read_through_the_fallback(rsps):
    """The sample's values are placeholders ("..."): unknown, never success;
    the same shape with real values is read like the v2 answer."""
    documented = sample("status_answer_v1.json")
    rsps.post(STATUS_V2, json={"message": "Not Found"}, status=404)
    rsps.post(STATUS_V1, body=raw("status_answer_v1.json"), content_type="application/json")
    provider = LengopayProvider()
    assert (
        provider.fetch_status(
            view("elNZc1FUZzduVzhQcjlYVWtkZ2pmVmRac1Z5anUxUG8", amount=1500)
        ).outcome
        == Outcome.UNKNOWN
    )
    rsps.upsert(
        "POST",
        STATUS_V1,
        json={
            **documented,
            "status": "SUCCESS",
            "pay_id": "elNZc1FUZzduVzhQcjlYVWtkZ2pmVmRac1Z5anUxUG8",
        },
    )
    result = provider.fetch_status(view("elNZc1FUZzduVzhQcjlYVWtkZ2pmVmRac1Z5anUxUG8", amount=1500))
    assert (result.outcome, result.amount) == (Outcome.SUCCEEDED, 1500)


# --- callbacks ------------------------------------------------------------------------------
def test_the_callback_as_printed_is_refused_as_malformed():
    """Its pay_id is unquoted: not JSON (→ 400, stored raw; the status
    poll still settles the payment)."""
    with pytest.raises(CallbackRejected) as caught:
        LengopayProvider().parse_callback(
            raw("callback.json"), {"Content-Type": "application/json"}
        )
    assert caught.value.status_code == 400


@pytest.mark.django_db
def test_the_callback_as_printed_is_stored_and_answered_400(client):
    response = client.post(
        "/payments/callback/lengopay/", data=raw("callback.json"), content_type="application/json"
    )
    assert response.status_code == 400
    row = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
    assert row.valid is False and bytes(row.body).startswith(b'{\n  "pay_id": RzFm')


@pytest.mark.parametrize("name", ["callback.derived.json", "callback_v1.derived.json"])
def test_the_documented_callbacks_are_triggers_for_their_pay_id(name):
    info = LengopayProvider().parse_callback(raw(name), {"Content-Type": "application/json"})
    assert (info.provider_reference, info.event_id, info.authentic, info.result) == (
        "RzFmb1JvVWwxWFJQaXBCaXFWM",
        "RzFmb1JvVWwxWFJQaXBCaXFWM:SUCCESS",
        None,
        None,
    )
    carried = (
        without_status_api().parse_callback(raw(name), {"Content-Type": "application/json"}).result
    )
    assert (carried.outcome, carried.amount, carried.currency) == (Outcome.SUCCEEDED, 1000, "GNF")


def test_the_v1_callback_keys_are_the_derived_samples():
    keys = re.findall(r'"([A-Za-z_]+)"', raw("callback_v1.txt").decode())
    assert (
        keys
        == list(sample("callback_v1.derived.json"))
        == ["pay_id", "status", "amount", "message", "Client"]
    )


# --- the sandbox against the samples ---------------------------------------------------------
AUTH = {"HTTP_AUTHORIZATION": f"Basic {LICENSE}"}


def sandbox_post(client, path: str, body: dict):
    return client.post(
        "/sandbox/lengopay" + path, data=json.dumps(body), content_type="application/json", **AUTH
    )


def sandbox_cashin(client) -> dict:
    """The vendor's request sample, with our website id (the sandbox checks it)."""
    response = sandbox_post(
        client, "/api/v2/cashin/request", {**sample("create_request.json"), "websiteid": WEBSITE}
    )
    assert response.status_code == 200, response.content
    return response.json()


def padded_like_the_doc(pay_id: str) -> bool:
    return len(pay_id) % 4 == 0 and pay_id.endswith("=")


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_cashin_answer_has_the_samples_shape(client):
    answer = sandbox_cashin(client)
    documented = sample("create_answer.json")
    assert shape(answer) == shape(documented)
    assert (answer["status"], answer["message"]) == (documented["status"], documented["message"])
    assert len(answer["pay_id"]) == len(documented["pay_id"]) and not answer["pay_id"].endswith("=")


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_v2_status_answer_has_the_samples_shape(client):
    pay_id = sandbox_cashin(client)["pay_id"]
    settle(SandboxPayment.objects.get(token=pay_id), SandboxPayment.Status.SUCCEEDED)
    request_keys = printed_keys("status_request_v2.json")
    answer = sandbox_post(
        client,
        "/api/v2/cashin/transaction",
        dict(zip(request_keys, [pay_id + "=", WEBSITE], strict=True)),
    ).json()
    documented = sample("status_answer_v2.derived.json")
    assert shape(answer) == shape(documented)
    assert list(answer) == printed_keys("status_answer_v2.json")
    assert padded_like_the_doc(answer["pay_id"]) and padded_like_the_doc(documented["pay_id"])
    assert DATE.match(answer["date"]) and DATE.match(documented["date"])
    assert (answer["status"], answer["amount"]) == ("SUCCESS", 1000)


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_v1_status_answer_has_the_samples_shape(client):
    pay_id = sandbox_cashin(client)["pay_id"]
    # The v1 sample's pay_id is a placeholder: padded, as the sandbox finds it (its module doc).
    request = {
        key: pay_id + "=" if key == "pay_id" else WEBSITE
        for key in sample("status_request_v1.json")
    }
    answer = sandbox_post(client, "/api/v1/transaction/status", request).json()
    assert shape(answer) == shape(sample("status_answer_v1.json"))
    assert answer["status"] == "PENDING"


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
@pytest.mark.parametrize("final", [SandboxPayment.Status.SUCCEEDED, SandboxPayment.Status.FAILED])
def test_sandbox_callback_has_the_samples_shape_and_parses(client, final):
    pay_id = sandbox_cashin(client)["pay_id"]
    sp = settle(SandboxPayment.objects.get(token=pay_id), final)
    url, body, headers = emulator.callback_request(sp)
    sent = json.loads(body)
    assert url == sample("create_request.json")["callback_url"]
    assert headers == {"Content-Type": "application/json"}
    assert shape(sent) == shape(sample("callback.derived.json"))
    assert list(sent) == printed_keys("callback.json")
    assert sent["pay_id"] == pay_id, "the callback writes pay_id as the cash-in answer did"
    info = LengopayProvider().parse_callback(body, headers)
    assert info.provider_reference == pay_id and info.result is None
    # The shop's intake takes it as LengoPay sends it (kept: no payment knows this pay_id here).
    response = client.post(
        "/payments/callback/lengopay", data=body, content_type=headers["Content-Type"]
    )
    assert response.status_code == 200
    assert (
        PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK).data["provider_reference"]
        == pay_id
    )


# --- reconciliation: the cash-in history, as EVIDENCE.md §4 quotes it ---------------------
# `POST /api/v1/cashin/all-transactions` {websiteid} → a list of rows with
# "status": SUCCESS | FAILED | PENDING (the vendor doc copy, doc3.md). No full
# answer is published: each row is read like the documented status answer.
def test_history_request_and_rows_follow_the_documented_shapes(rsps):
    row = sample("status_answer_v2.derived.json")
    rsps.post(
        BASE + "/api/v1/cashin/all-transactions",
        json=[row, {**row, "pay_id": "b3RoZXI=", "status": "FAILED"}],
    )
    found = LengopayProvider().history()
    assert json.loads(rsps.calls[0].request.body) == {
        "websiteid": django_settings.PAYMENT_PROVIDERS["lengopay"]["website_id"]
    }
    assert found[row["pay_id"].rstrip("=")].outcome == Outcome.SUCCEEDED
    assert found[row["pay_id"].rstrip("=")].amount == row["amount"]
    assert found["b3RoZXI"].outcome == Outcome.FAILED

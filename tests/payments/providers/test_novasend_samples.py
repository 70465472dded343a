"""Novasend's own samples are the judge (tests/payments/vendor_samples/novasend/).

Each sample goes through the real provider module (``responses`` at the HTTP
boundary only), and the sandbox emulator is compared with the same samples:
a test here fails when our code, or our sandbox, stops speaking the vendor's
documented dialect.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from payments import services
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.providers.base import CallbackRejected, Outcome, PaymentRequest, PaymentView
from payments.providers.novasend import NovasendProvider
from payments.sandbox import novasend as emulator
from payments.sandbox.core import settle
from payments.sandbox.models import SandboxPayment
from tests.support.factories import make_order, make_payment, make_product
from tests.support.kits.novasend import SECRETS, post_webhook, sign
from tests.support.samples import sample_files
from tests.support.samples import shape as sample_shape

SAMPLES = Path(__file__).resolve().parent.parent / "vendor_samples" / "novasend"
raw, sample = sample_files(SAMPLES)
BASE = settings.PAYMENT_PROVIDERS["novasend"]["base_url"]
CONFIG = settings.PAYMENT_PROVIDERS["novasend"]
BASIC = "Basic " + base64.b64encode(f"{CONFIG['api_key']}:{CONFIG['api_client']}".encode()).decode()

# Every file of the folder, and what it is; a new sample must be added here (and tested).
FILES = {
    "create_request.json",
    "create_answer.json",
    "status_answer_completed.json",
    "webhook_excerpt.txt",
    "webhook_processing.derived.json",
}


def shape(value):
    """Key sets and value types, recursively: what sandbox and samples must share."""
    return sample_shape(value, lists="each")


def provider(**config) -> NovasendProvider:
    return NovasendProvider(config={**CONFIG, **config})


def request_from(create_request: dict, reference: str) -> PaymentRequest:
    return PaymentRequest(
        reference=reference,
        amount=create_request["amount"],
        currency="XOF",
        description="Commande A-1",
        items=(),
        customer_name=create_request["customerName"],
        customer_email="john@example.ci",
        customer_phone=create_request["msisdn"],
        country=create_request["country"],
        method="mobile_money",
        return_url=f"https://shop.test/payments/return/{reference}/",
        cancel_url=f"https://shop.test/payments/cancel/{reference}/",
        callback_url="https://shop.test/payments/callback/novasend/",
        payer_phone=create_request["msisdn"],
    )


def test_every_sample_file_is_known_to_these_tests():
    assert {p.name for p in SAMPLES.iterdir()} - {"README.md"} == FILES
    readme = (SAMPLES / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in FILES), "each sample's source is written down"


# --- create -----------------------------------------------------------------------------
def test_our_session_request_has_the_samples_keys_and_types(rsps):
    documented = sample("create_request.json")
    ours = str(uuid.uuid4())
    rsps.post(
        BASE + "/v1/payin/sessions",
        json={**sample("create_answer.json"), "customerReference": ours},
        status=201,
    )
    provider().initiate(request_from(documented, ours))
    sent = rsps.calls[0].request
    body = json.loads(sent.body)
    assert shape(body) == shape(documented)
    assert (
        body["reference"] == ours and sent.headers["X-Idempotency-Key"] == ours
    )  # "{{$randomUUID}}": a UUID of ours
    assert {k: body[k] for k in ("amount", "msisdn", "customerName", "country")} == {
        k: documented[k] for k in ("amount", "msisdn", "customerName", "country")
    }
    assert sent.headers["Authorization"] == BASIC


def test_the_create_answer_gives_novasends_reference_and_the_confirmation_link(rsps):
    answer = sample("create_answer.json")
    rsps.post(
        BASE + "/v1/payin/sessions",
        body=raw("create_answer.json"),
        content_type="application/json",
        status=201,
    )
    novasend = provider()
    initiation = novasend.initiate(
        request_from(sample("create_request.json"), answer["customerReference"])
    )
    assert (
        initiation.provider_reference == "tr_fhchi842jyimwiugjgszcxvb8n"
    )  # "reference": Novasend's id
    assert (
        initiation.redirect_url == "https://link.novasend.app/link/{shortCode}"
    )  # confirmationRequired: true
    assert initiation.outcome == Outcome.PENDING
    assert novasend.allowed_redirect(initiation.redirect_url)


def test_a_create_answer_naming_another_payment_is_not_taken(rsps):
    rsps.post(
        BASE + "/v1/payin/sessions",
        body=raw("create_answer.json"),
        content_type="application/json",
        status=201,
    )
    with pytest.raises(Exception) as excinfo:
        provider().initiate(request_from(sample("create_request.json"), str(uuid.uuid4())))
    assert getattr(excinfo.value, "unknown", False)


# --- status -----------------------------------------------------------------------------
STATUS_REFERENCE = "mtr_fhscgaywizujwjyymlge1hncaq"
STATUS_OURS = "55a4e677-5700-4ed0-9a2a-9300db894ddb"


def status_view(amount: int = 153) -> PaymentView:
    return PaymentView(
        reference=STATUS_OURS,
        provider_reference=STATUS_REFERENCE,
        amount=amount,
        currency="XOF",
        method="mobile_money",
    )


def test_the_completed_status_sample_is_a_success_for_the_transaction_amount(rsps):
    rsps.get(
        f"{BASE}/v1/payin/{STATUS_REFERENCE}",
        body=raw("status_answer_completed.json"),
        content_type="application/json",
    )
    result = provider().fetch_status(status_view())
    assert (
        rsps.calls[0].request.url == f"{BASE}/v1/payin/{STATUS_REFERENCE}"
    )  # asked by Novasend's reference
    # transaction.status is the truth; its amount ("153.00"), not the top-level 300, is what was
    # settled.
    assert (result.outcome, result.amount, result.currency, result.provider_reference) == (
        Outcome.SUCCEEDED,
        153,
        "XOF",
        STATUS_REFERENCE,
    )


@pytest.mark.parametrize(
    "change,expected",
    [
        # The vendor text's "Exemple de Lecture", applied to its own sample.
        ({"transaction": {"status": "failed"}}, Outcome.FAILED),
        ({"transaction": None}, Outcome.PENDING),  # processed, not confirmed yet: not success
        ({"transaction": {}}, Outcome.PENDING),
        ({"transaction": {"status": "pending"}}, Outcome.PENDING),
        ({"confirmationStatus": "declined", "transaction": None}, Outcome.FAILED),
        ({"confirmationStatus": "expired", "transaction": None}, Outcome.EXPIRED),
        ({"customerReference": str(uuid.uuid4())}, Outcome.UNKNOWN),
    ],
)
def test_the_status_sample_read_as_the_vendor_text_reads_it(rsps, change, expected):
    body = sample("status_answer_completed.json")
    for key, value in change.items():
        body[key] = {**body["transaction"], **value} if isinstance(value, dict) and value else value
    rsps.get(f"{BASE}/v1/payin/{STATUS_REFERENCE}", json=body)
    assert provider().fetch_status(status_view()).outcome == expected


# --- webhooks ---------------------------------------------------------------------------
def test_the_derived_webhook_names_the_session_of_the_create_samples():
    body = raw("webhook_processing.derived.json")
    info = provider().parse_callback(
        body, {"X-Signature-Value": sign(body), "Content-Type": "application/json"}
    )
    answer = sample("create_answer.json")
    assert (info.reference, info.provider_reference) == (
        answer["customerReference"],
        answer["reference"],
    )
    assert info.authentic is True and info.result is None  # "processing": a trigger only


def test_the_derived_webhook_has_every_key_of_the_excerpt():
    excerpt = raw("webhook_excerpt.txt").decode()
    derived = sample("webhook_processing.derived.json")
    keys = set(re.findall(r'"(\w+)":', excerpt))
    assert keys == {"id", "type", "status", "reference", "confirmationStatus"}
    assert keys <= set(derived)
    for key, value in re.findall(r'"(\w+)":"([^"…]+)"', excerpt):
        assert derived[key] == value  # the excerpt's literal values are kept


def test_the_excerpt_as_printed_is_refused_as_malformed():
    """The evidence quotes an abbreviation ("…" for elided text): no server
    sends that, so once its signature checks out it is a malformed body (400),
    and without a signature it is refused before being read (401)."""
    body = raw("webhook_excerpt.txt")
    with pytest.raises(CallbackRejected) as excinfo:
        provider().parse_callback(body, {"X-Signature-Value": sign(body)})
    assert excinfo.value.status_code == 400
    with pytest.raises(CallbackRejected) as excinfo:
        provider().parse_callback(body, {})
    assert excinfo.value.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_the_derived_webhook_through_the_view_triggers_one_status_check(client, rsps):
    answer = sample("create_answer.json")
    order = make_order((make_product(price=153, stock=2), 1), country="CI", phone="+2250749929598")
    payment = make_payment(
        order=order,
        provider="novasend",
        method="mobile_money",
        provider_reference=answer["reference"],
        reference=uuid.UUID(answer["customerReference"]),
    )
    body = raw("webhook_processing.derived.json")
    response = post_webhook(client, body, SECRETS[1])
    assert response.status_code == 200
    event = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
    assert event.valid and event.payment_id == payment.pk
    status = {
        **sample("status_answer_completed.json"),
        "reference": answer["reference"],
        "customerReference": answer["customerReference"],
    }
    rsps.get(f"{BASE}/v1/payin/{answer['reference']}", json=status)
    services.process_callback(event.pk)
    assert [call.request.url for call in rsps.calls] == [f"{BASE}/v1/payin/{answer['reference']}"]
    assert (
        Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
    )  # decided by transaction.status


# --- the sandbox against the same samples -------------------------------------------------
def sandbox_create(client, reference: str | None = None):
    body = {
        **sample("create_request.json"),
        "reference": reference or str(uuid.uuid4()),
        "accountId": CONFIG["account_id"],
    }
    return client.post(
        "/sandbox/novasend/v1/payin/sessions",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": BASIC, "X-Idempotency-Key": body["reference"]},
    )


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
class TestSandboxAgainstSamples:
    def test_session_answer_has_the_samples_keys_and_types(self, client):
        response = sandbox_create(client)
        assert response.status_code == 201
        data = response.json()
        assert shape(data) == shape(sample("create_answer.json"))
        assert (
            data["reference"].startswith("tr_")
            and data["status"] == "processing"
            and data["confirmationStatus"] == "none"
        )

    def test_status_answer_has_the_samples_keys_and_types(self, client):
        token = sandbox_create(client).json()["reference"]
        settle(SandboxPayment.objects.get(), SandboxPayment.Status.SUCCEEDED)
        data = client.get(
            f"/sandbox/novasend/v1/payin/{token}", headers={"Authorization": BASIC}
        ).json()
        assert shape(data) == shape(sample("status_answer_completed.json"))
        assert data["transaction"]["status"] == "completed" and data["status"] == "processed"

    @pytest.mark.parametrize(
        "status",
        [
            SandboxPayment.Status.SUCCEEDED,
            SandboxPayment.Status.FAILED,
            SandboxPayment.Status.EXPIRED,
        ],
    )
    def test_webhooks_have_the_documented_keys_and_types(self, client, status):
        ours = str(uuid.uuid4())
        sandbox_create(client, ours)
        sp = settle(SandboxPayment.objects.get(), status)
        documented = sample("webhook_processing.derived.json")
        for _url, body, headers in emulator.callback_request(sp):
            data = json.loads(body)
            assert set(data) == set(documented) and shape(data["customer"]) == shape(
                documented["customer"]
            )
            assert {k: shape(v) for k, v in data.items() if k != "failure"} == {
                k: shape(v) for k, v in documented.items() if k != "failure"
            }
            assert data["failure"] is None or isinstance(data["failure"], dict)
            assert data["id"] == sp.token and data["reference"] == ours and data["type"] == "payin"
            assert set(headers) == {"Content-Type", "X-Signature-Value"}
            info = provider().parse_callback(body, headers)
            assert (info.reference, info.provider_reference, info.authentic) == (
                ours,
                sp.token,
                True,
            )

    def test_the_provider_reads_the_sandboxs_status_like_the_sample(self, client, rsps):
        from tests.support.transport import sandbox_transport

        sandbox_transport(rsps, client, "https://shop.test/sandbox/novasend")
        ours = str(uuid.uuid4())
        novasend = provider(base_url="https://shop.test/sandbox/novasend")
        initiation = novasend.initiate(request_from(sample("create_request.json"), ours))
        sp = SandboxPayment.objects.get()
        view = PaymentView(
            reference=ours,
            provider_reference=initiation.provider_reference,
            amount=300,
            currency="XOF",
        )
        assert novasend.fetch_status(view).outcome == Outcome.PENDING
        settle(sp, SandboxPayment.Status.SUCCEEDED)
        result = novasend.fetch_status(view)
        assert (result.outcome, result.amount, result.currency) == (Outcome.SUCCEEDED, 300, "XOF")

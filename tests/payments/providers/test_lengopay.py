"""LengoPay: wire format (vendor text + LengoPay's status doc), status
mapping with the v2 → v1 fallback, callback parsing (a trigger for a status
check), the services with the status endpoint deciding, the old
callback-as-truth mode when the status path is configured empty, and the
sandbox emulator."""

from __future__ import annotations

import base64
import contextlib
import json
import re
from datetime import timedelta

import pytest
import requests
from django.conf import settings as django_settings
from django.utils import timezone
from responses import matchers

from payments import services
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.providers.base import (
    CallbackRejected,
    Flow,
    Outcome,
    PaymentRequest,
    PaymentView,
    ProviderError,
)
from payments.providers.lengopay import NO_STATUS_API, LengopayProvider
from payments.sandbox import lengopay as emulator
from payments.sandbox.core import settle
from payments.sandbox.models import SandboxPayment
from tests.support.factories import make_order, make_payment, make_product
from tests.support.kits.lengopay import LengopayKit
from tests.support.kits.lengopay import view as kit_view

BASE = "https://lengopay.test"
CASHIN = BASE + "/api/v2/cashin/request"
STATUS_PATH = "/api/v2/cashin/transaction"
V1_STATUS_PATH = "/api/v1/transaction/status"
LICENSE = "test-lengo-license-3JD"
WEBSITE = "testWebsite01"
PAY_ID = "elNZc1FUZzduVzhQcjlYVWtkZ2pmVmRac1Z5anUxUG8"  # lengopay.txt, "Réponse réussie"
OK = {"status": "Success", "pay_id": PAY_ID, "message": "Request received successfully"}
CALLBACK = {
    "pay_id": PAY_ID,
    "status": "SUCCESS",
    "amount": 1000,
    "message": "Transaction Successful",
    "account": "620124578",
}


def payment_request(**overrides) -> PaymentRequest:
    values = {
        "reference": "6f1c2a7e-1111-4c2b-9d7e-0a1b2c3d4e5f",
        "amount": 1000,
        "currency": "GNF",
        "description": "Commande A-1 — Ashtech Store",
        "items": (),
        "customer_name": "Mamadou Diallo",
        "customer_email": "mamadou@example.gn",
        "customer_phone": "+224620000001",
        "country": "GN",
        "method": "lp-om-gn",
        "return_url": "https://shop.test/payments/return/x/",
        "cancel_url": "https://shop.test/payments/cancel/x/",
        "callback_url": "https://shop.test/payments/callback/lengopay/",
        "payer_phone": "+224620124578",
    }
    values.update(overrides)
    return PaymentRequest(**values)


def view(provider_reference: str = PAY_ID, amount: int = 1000) -> PaymentView:
    return kit_view(provider_reference, amount)


def with_status_api(path: str = STATUS_PATH, fallback: str = V1_STATUS_PATH) -> LengopayProvider:
    return LengopayProvider(
        config={
            **django_settings.PAYMENT_PROVIDERS["lengopay"],
            "status_path": path,
            "status_fallback_path": fallback,
        }
    )


def without_status_api() -> LengopayProvider:
    """The old mode, only when the status path is configured empty."""
    return LengopayProvider(
        config={**django_settings.PAYMENT_PROVIDERS["lengopay"], "status_path": ""}
    )


# --- initiation --------------------------------------------------------------------
def test_cashin_request_is_built_exactly_as_documented(rsps):
    rsps.post(
        CASHIN,
        json=OK,
        match=[
            matchers.header_matcher(
                {
                    "Authorization": f"Basic {LICENSE}",
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                }
            ),
            matchers.json_params_matcher(
                {
                    "amount": "1000",
                    "currency": "GNF",
                    "websiteid": WEBSITE,
                    "type_account": "lp-om-gn",
                    "account": "620124578",
                    "callback_url": "https://shop.test/payments/callback/lengopay/",
                },
                strict_match=True,
            ),
        ],
    )
    LengopayProvider().initiate(payment_request())
    sent = json.loads(rsps.calls[0].request.body)
    assert isinstance(sent["amount"], str)  # "Le amount doit être une chaîne numérique"


def test_license_key_is_sent_as_given_not_base64(rsps):
    rsps.post(CASHIN, json=OK)
    LengopayProvider().initiate(payment_request())
    assert rsps.calls[0].request.headers["Authorization"] == "Basic test-lengo-license-3JD"


def test_mtn_method_sends_its_type_account(rsps):
    rsps.post(
        CASHIN,
        json=OK,
        match=[matchers.json_params_matcher({"type_account": "lp-momo-gn"}, strict_match=False)],
    )
    LengopayProvider().initiate(payment_request(method="lp-momo-gn"))


def test_account_falls_back_to_the_customer_phone(rsps):
    rsps.post(
        CASHIN,
        json=OK,
        match=[matchers.json_params_matcher({"account": "620000001"}, strict_match=False)],
    )
    LengopayProvider().initiate(payment_request(payer_phone=""))


def test_non_guinean_number_is_refused_before_any_call(rsps):
    with pytest.raises(ProviderError) as caught:
        LengopayProvider().initiate(payment_request(payer_phone="+22670123456"))
    assert (caught.value.kind, caught.value.unknown) == ("rejected", False)
    assert len(rsps.calls) == 0


def test_success_answer_gives_the_pay_id_and_push_instructions(rsps):
    rsps.post(CASHIN, json=OK)
    initiation = LengopayProvider().initiate(payment_request())
    assert initiation.provider_reference == PAY_ID
    assert initiation.redirect_url == ""
    assert initiation.instructions == {"flow": "push", "method": "lp-om-gn"}
    assert initiation.outcome == Outcome.PENDING


def test_padded_pay_id_is_stored_without_padding(rsps):
    rsps.post(CASHIN, json={**OK, "pay_id": PAY_ID + "="})
    assert LengopayProvider().initiate(payment_request()).provider_reference == PAY_ID


def test_error_status_is_a_refusal_not_an_unknown_outcome(rsps):
    rsps.post(CASHIN, json={"status": "ERROR", "message": "Invalid account"})
    with pytest.raises(ProviderError) as caught:
        LengopayProvider().initiate(payment_request())
    assert caught.value.kind == "rejected"
    assert caught.value.unknown is False


@pytest.mark.parametrize(
    "body",
    [
        {"status": "Pending", "pay_id": PAY_ID},
        {"status": "Success"},
        {"status": "Success", "pay_id": ""},
        {"status": "Success", "pay_id": 42},
    ],
)
def test_anything_but_success_with_a_pay_id_is_a_refusal(rsps, body):
    rsps.post(CASHIN, json=body)
    with pytest.raises(ProviderError) as caught:
        LengopayProvider().initiate(payment_request())
    assert caught.value.kind == "rejected"


def test_400_is_a_final_refusal(rsps):
    rsps.post(CASHIN, json={"status": "ERROR", "message": "Bad Request"}, status=400)
    with pytest.raises(ProviderError) as caught:
        LengopayProvider().initiate(payment_request())
    assert (caught.value.kind, caught.value.status_code) == ("rejected", 400)
    assert (caught.value.unknown, caught.value.retryable) == (False, False)


def test_401_is_a_configuration_problem_not_the_shoppers(rsps):
    rsps.post(CASHIN, json={"status": "ERROR", "message": "Unauthorized"}, status=401)
    with pytest.raises(ProviderError) as caught:
        LengopayProvider().initiate(payment_request())
    assert (caught.value.kind, caught.value.status_code) == ("config", 401)
    assert (caught.value.unknown, caught.value.retryable) == (False, False)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(rsps, status):
    rsps.post(CASHIN, body="<html>Bad gateway</html>", status=status)
    with pytest.raises(ProviderError) as caught:
        LengopayProvider().initiate(payment_request())
    assert caught.value.retryable is True


def test_read_timeout_leaves_the_outcome_unknown(rsps):
    rsps.post(CASHIN, body=requests.exceptions.ReadTimeout())
    with pytest.raises(ProviderError) as caught:
        LengopayProvider().initiate(payment_request())
    assert (caught.value.kind, caught.value.unknown, caught.value.retryable) == (
        "timeout",
        True,
        True,
    )


def test_connect_timeout_is_known_not_sent(rsps):
    rsps.post(CASHIN, body=requests.exceptions.ConnectTimeout())
    with pytest.raises(ProviderError) as caught:
        LengopayProvider().initiate(payment_request())
    assert (caught.value.unknown, caught.value.retryable) == (False, True)


@pytest.mark.parametrize(
    "body", ["<html><body>Maintenance</body></html>", '{"status": "Succ', "{}", "[]"]
)
def test_unreadable_success_answer_leaves_the_outcome_unknown(rsps, body):
    rsps.post(CASHIN, body=body, status=200, content_type="application/json")
    with pytest.raises(ProviderError) as caught:
        LengopayProvider().initiate(payment_request())
    assert caught.value.unknown is True


def test_exchanges_are_recorded_without_credentials_or_the_full_number(rsps):
    rsps.post(CASHIN, json=OK)
    rsps.post(BASE + STATUS_PATH, body=requests.exceptions.ReadTimeout())
    provider = with_status_api()
    provider.initiate(payment_request())
    with pytest.raises(ProviderError):
        provider.fetch_status(view())
    recorded = json.dumps(provider.exchanges)
    assert len(provider.exchanges) == 2
    assert LICENSE not in recorded
    assert WEBSITE not in recorded  # websiteid is a credential
    assert "620124578" not in recorded


# --- status --------------------------------------------------------------------------
def test_the_status_api_is_on_by_default(rsps):
    assert LengopayProvider().has_status_api is True
    config = {
        k: v
        for k, v in django_settings.PAYMENT_PROVIDERS["lengopay"].items()
        if not k.startswith("status")
    }
    provider = LengopayProvider(config=config)
    assert provider.has_status_api is True
    rsps.post(BASE + STATUS_PATH, json={"status": "FAILED", "pay_id": PAY_ID})
    assert provider.fetch_status(view()).outcome == Outcome.FAILED


def test_a_status_path_configured_empty_turns_the_status_api_off(rsps):
    provider = without_status_api()
    assert provider.has_status_api is False
    result = provider.fetch_status(view())
    assert result.outcome == Outcome.PENDING
    assert result.message == NO_STATUS_API
    assert len(rsps.calls) == 0


def test_no_pay_id_yet_is_unknown_without_a_call(rsps):
    assert without_status_api().fetch_status(view(provider_reference="")).outcome == Outcome.UNKNOWN
    assert with_status_api().fetch_status(view(provider_reference="")).outcome == Outcome.UNKNOWN
    assert len(rsps.calls) == 0


def test_status_request_posts_the_pay_id_as_the_cashin_answer_wrote_it_and_website(rsps):
    rsps.post(
        BASE + STATUS_PATH,
        json={
            "status": "SUCCESS",
            "pay_id": PAY_ID + "=",
            "amount": 1000,
            "account": 620123456,
            "date": "2023-11-20 09:37:53",
        },
        match=[
            matchers.header_matcher({"Authorization": f"Basic {LICENSE}"}),
            matchers.json_params_matcher(
                {"pay_id": PAY_ID, "websiteid": WEBSITE}, strict_match=True
            ),
        ],
    )
    result = with_status_api().fetch_status(view())
    assert (result.outcome, result.amount, result.currency, result.provider_reference) == (
        Outcome.SUCCEEDED,
        1000,
        "GNF",
        PAY_ID,
    )
    assert len(rsps.calls) == 1


def test_status_path_without_a_leading_slash_still_reaches_the_host(rsps):
    rsps.post(BASE + STATUS_PATH, json={"status": "FAILED", "pay_id": PAY_ID})
    assert with_status_api(STATUS_PATH.lstrip("/")).fetch_status(view()).outcome == Outcome.FAILED


def sent_to(rsps) -> list[tuple[str, str]]:
    """(path, pay_id) of every status call, in order."""
    return [(call.request.path_url, json.loads(call.request.body)["pay_id"]) for call in rsps.calls]


@pytest.mark.parametrize(
    ("status", "v2_calls"),
    [
        # 404 may be the v2 route's "not found": the other padding is tried there first.
        (404, [(STATUS_PATH, PAY_ID), (STATUS_PATH, PAY_ID + "=")]),
        (405, [(STATUS_PATH, PAY_ID)]),
    ],
)
def test_v2_route_missing_falls_back_to_the_v1_status_endpoint(rsps, status, v2_calls):
    rsps.post(BASE + STATUS_PATH, json={"message": "Not Found"}, status=status)
    rsps.post(
        BASE + V1_STATUS_PATH,
        json={"status": "SUCCESS", "pay_id": PAY_ID, "date": "2023-11-20 09:37:53", "amount": 1000},
        match=[matchers.json_params_matcher({"pay_id": PAY_ID, "websiteid": WEBSITE})],
    )
    result = with_status_api().fetch_status(view())
    assert (result.outcome, result.amount) == (Outcome.SUCCEEDED, 1000)
    assert sent_to(rsps) == [*v2_calls, (V1_STATUS_PATH, PAY_ID)]


def test_v2_route_missing_and_v1_wanting_the_padded_pay_id_is_learnt(rsps):
    """Both unknowns at once: the route and the padding (module doc, Quirks)."""
    rsps.post(BASE + STATUS_PATH, json={"message": "Not Found"}, status=404)
    rsps.post(
        BASE + V1_STATUS_PATH,
        json={"message": "Not Found"},
        status=404,
        match=[matchers.json_params_matcher({"pay_id": PAY_ID}, strict_match=False)],
    )
    rsps.post(
        BASE + V1_STATUS_PATH,
        json={"status": "FAILED", "pay_id": PAY_ID + "=", "date": "2023-11-20 09:37:53"},
        match=[matchers.json_params_matcher({"pay_id": PAY_ID + "="}, strict_match=False)],
    )
    assert with_status_api().fetch_status(view()).outcome == Outcome.FAILED
    assert sent_to(rsps) == [
        (STATUS_PATH, PAY_ID),
        (STATUS_PATH, PAY_ID + "="),
        (V1_STATUS_PATH, PAY_ID),
        (V1_STATUS_PATH, PAY_ID + "="),
    ]
    rsps.calls.reset()
    assert with_status_api().fetch_status(view()).outcome == Outcome.FAILED
    assert sent_to(rsps) == [
        (STATUS_PATH, PAY_ID + "="),
        (STATUS_PATH, PAY_ID),
        (V1_STATUS_PATH, PAY_ID + "="),
    ]


@pytest.mark.parametrize("status", [400, 401])
def test_other_v2_errors_do_not_fall_back(rsps, status):
    rsps.post(BASE + STATUS_PATH, json={"message": "no"}, status=status)
    assert with_status_api().fetch_status(view()).outcome == Outcome.UNKNOWN
    assert len(rsps.calls) == 1


def test_fallback_that_also_404s_in_both_paddings_is_unknown(rsps):
    rsps.post(BASE + STATUS_PATH, json={"message": "Not Found"}, status=404)
    rsps.post(BASE + V1_STATUS_PATH, json={"message": "Not Found"}, status=404)
    assert with_status_api().fetch_status(view()).outcome == Outcome.UNKNOWN
    assert sent_to(rsps) == [
        (STATUS_PATH, PAY_ID),
        (STATUS_PATH, PAY_ID + "="),
        (V1_STATUS_PATH, PAY_ID),
        (V1_STATUS_PATH, PAY_ID + "="),
    ]


def test_an_empty_fallback_path_means_no_fallback(rsps):
    rsps.post(BASE + STATUS_PATH, json={"message": "Not Found"}, status=404)
    assert with_status_api(fallback="").fetch_status(view()).outcome == Outcome.UNKNOWN
    assert sent_to(rsps) == [(STATUS_PATH, PAY_ID), (STATUS_PATH, PAY_ID + "=")]


@pytest.mark.parametrize("status", [400, 401, 500])
def test_only_not_found_tries_the_other_padding(rsps, status):
    rsps.post(BASE + STATUS_PATH, json={"message": "no"}, status=status)
    with contextlib.suppress(ProviderError):  # 500 raises (retryable)
        assert with_status_api(fallback="").fetch_status(view()).outcome == Outcome.UNKNOWN
    assert sent_to(rsps) == [(STATUS_PATH, PAY_ID)]


def test_an_answer_about_another_pay_id_teaches_no_padding(rsps):
    rsps.post(
        BASE + STATUS_PATH,
        json={"message": "Not Found"},
        status=404,
        match=[matchers.json_params_matcher({"pay_id": PAY_ID}, strict_match=False)],
    )
    rsps.post(
        BASE + STATUS_PATH,
        json={"status": "SUCCESS", "pay_id": "c29tZW9uZUVsc2U=", "amount": 1000},
        match=[matchers.json_params_matcher({"pay_id": PAY_ID + "="}, strict_match=False)],
    )
    assert with_status_api(fallback="").fetch_status(view()).outcome == Outcome.UNKNOWN
    rsps.calls.reset()
    with_status_api(fallback="").fetch_status(view())
    assert sent_to(rsps)[0] == (STATUS_PATH, PAY_ID), "still the cash-in answer's form first"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("SUCCESS", Outcome.SUCCEEDED),
        ("FAILED", Outcome.FAILED),
        ("PENDING", Outcome.PENDING),
        ("success", Outcome.SUCCEEDED),
        ("CANCELLED", Outcome.UNKNOWN),  # (L) the v1 demo's value: left to the deadline and staff
        ("PAID", Outcome.UNKNOWN),
        ("", Outcome.UNKNOWN),
        (None, Outcome.UNKNOWN),
        (1, Outcome.UNKNOWN),
    ],
)
def test_status_mapping_table(rsps, status, outcome):
    rsps.post(BASE + STATUS_PATH, json={"status": status, "pay_id": PAY_ID, "amount": 1000})
    assert with_status_api().fetch_status(view()).outcome == outcome


def test_status_answer_currency_is_kept_when_given(rsps):
    rsps.post(
        BASE + STATUS_PATH,
        json={"status": "SUCCESS", "pay_id": PAY_ID, "amount": 1000, "currency": "xof"},
    )
    assert with_status_api().fetch_status(view()).currency == "XOF"


@pytest.mark.parametrize("amount", [None, "abc", "1000.50", -1000, "NaN"])
def test_success_without_a_usable_amount_is_unknown(rsps, amount):
    rsps.post(BASE + STATUS_PATH, json={"status": "SUCCESS", "pay_id": PAY_ID, "amount": amount})
    assert with_status_api().fetch_status(view()).outcome == Outcome.UNKNOWN


def test_answer_about_another_pay_id_is_unknown(rsps):
    rsps.post(
        BASE + STATUS_PATH, json={"status": "SUCCESS", "pay_id": "c29tZW9uZUVsc2U", "amount": 1000}
    )
    assert with_status_api().fetch_status(view()).outcome == Outcome.UNKNOWN


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("<html>oops</html>", 200),
        ('{"status": "SUCC', 200),
        ("{}", 200),
        ("[]", 200),
        ('{"message": "Not Found"}', 404),
        ('{"message": "Unauthorized"}', 401),
    ],
)
def test_malformed_or_refused_status_answers_are_unknown(rsps, body, status):
    rsps.post(BASE + STATUS_PATH, body=body, status=status, content_type="application/json")
    rsps.post(
        BASE + V1_STATUS_PATH, body=body, status=status, content_type="application/json"
    )  # 404: the fallback says the same
    assert with_status_api().fetch_status(view()).outcome == Outcome.UNKNOWN


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.ReadTimeout(),
        requests.exceptions.ConnectTimeout(),
        requests.exceptions.ConnectionError(),
    ],
)
def test_status_call_failures_raise_a_retryable_provider_error(rsps, error):
    rsps.post(BASE + STATUS_PATH, body=error)
    with pytest.raises(ProviderError) as caught:
        with_status_api().fetch_status(view())
    assert caught.value.retryable is True


# --- callback --------------------------------------------------------------------------
def parse(body, provider: LengopayProvider | None = None) -> object:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return (provider or LengopayProvider()).parse_callback(raw, {})


def test_documented_callback_is_a_trigger_without_a_result():
    info = parse(CALLBACK)
    assert (info.provider_reference, info.reference, info.event_id, info.authentic) == (
        PAY_ID,
        "",
        f"{PAY_ID}:SUCCESS",
        None,
    )
    assert info.result is None, "the status endpoint decides, not the callback"


def test_without_a_status_endpoint_the_callback_carries_its_result():
    info = parse(CALLBACK, without_status_api())
    assert (
        info.result.outcome,
        info.result.amount,
        info.result.currency,
        info.result.provider_reference,
    ) == (Outcome.SUCCEEDED, 1000, "GNF", PAY_ID)


@pytest.mark.parametrize(
    "payer", [{"account": "620124578"}, {"Client": "620124578"}, {"Client": 620124578}, {}]
)
def test_v2_account_and_v1_client_callbacks_are_both_accepted(payer):
    body = {k: v for k, v in CALLBACK.items() if k != "account"} | payer
    assert parse(body).provider_reference == PAY_ID
    assert parse(body, without_status_api()).result.outcome == Outcome.SUCCEEDED


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("SUCCESS", Outcome.SUCCEEDED),
        ("FAILED", Outcome.FAILED),
        ("PENDING", Outcome.PENDING),
        ("REFUNDED", Outcome.UNKNOWN),
        ("OK", Outcome.UNKNOWN),
    ],
)
def test_callback_status_mapping_without_a_status_endpoint(status, outcome):
    assert parse({**CALLBACK, "status": status}, without_status_api()).result.outcome == outcome


def test_callback_amount_as_numeric_string_is_accepted():
    assert parse({**CALLBACK, "amount": "1000"}, without_status_api()).result.amount == 1000


def test_failed_callback_without_amount_is_accepted():
    info = parse(
        {
            "pay_id": PAY_ID,
            "status": "FAILED",
            "message": "Transaction Failed",
            "account": "620124578",
        },
        without_status_api(),
    )
    assert info.result.outcome == Outcome.FAILED


def test_padded_pay_id_in_the_callback_matches_the_stored_one():
    assert parse({**CALLBACK, "pay_id": PAY_ID + "="}).provider_reference == PAY_ID


@pytest.mark.parametrize(
    "body",
    [
        b"{not-json",
        b"",
        b"[]",
        b'"SUCCESS"',
        # the vendor's own example leaves pay_id unquoted: not JSON
        b'{"pay_id": RzFmb1JvVWwxWFJQaXBCaXFWM, "status": "SUCCESS", "amount": 1000}',
        json.dumps({k: v for k, v in CALLBACK.items() if k != "pay_id"}).encode(),
        json.dumps({**CALLBACK, "pay_id": ""}).encode(),
        json.dumps({**CALLBACK, "pay_id": 12345}).encode(),
        json.dumps({k: v for k, v in CALLBACK.items() if k != "status"}).encode(),
        json.dumps({**CALLBACK, "status": 1}).encode(),
        json.dumps({**CALLBACK, "amount": "abc"}).encode(),
        json.dumps({**CALLBACK, "amount": 1000.5}).encode(),
        json.dumps({**CALLBACK, "amount": -1000}).encode(),
        b'{"pay_id": "abc", "status": "SUCCESS", "amount": NaN}',
        b'{"pay_id": "abc", "status": "SUCCESS", "amount": 1e309}',
        json.dumps({**CALLBACK, "amount": None}).encode(),
        json.dumps({k: v for k, v in CALLBACK.items() if k != "amount"}).encode(),
    ],
)
def test_malformed_callbacks_are_rejected_with_400(body):
    with pytest.raises(CallbackRejected) as caught:
        parse(body)
    assert caught.value.status_code == 400


def test_kit_callback_parses():
    kit = LengopayKit()
    payment = Payment(provider="lengopay", provider_reference=PAY_ID, amount=1000, currency="GNF")
    body, headers = kit.callback(payment, "failed")
    assert LengopayProvider().parse_callback(body, headers).provider_reference == PAY_ID
    assert without_status_api().parse_callback(body, headers).result.outcome == Outcome.FAILED


# --- through the services (the status endpoint decides) --------------------------------
@pytest.fixture
def gnf_shop(settings):
    settings.SHOP_CURRENCY = "GNF"
    return settings


@pytest.fixture
def callback_truth(gnf_shop):
    """The old mode: the status path configured empty."""
    gnf_shop.PAYMENT_PROVIDERS = {
        **gnf_shop.PAYMENT_PROVIDERS,
        "lengopay": {**gnf_shop.PAYMENT_PROVIDERS["lengopay"], "status_path": ""},
    }
    return gnf_shop


def gnf_payment(**extra) -> Payment:
    order = make_order((make_product(price=1000), 1), country="GN", phone="+224620124578")
    return make_payment(
        order, provider="lengopay", method="lp-om-gn", provider_reference=PAY_ID, **extra
    )


def post_callback(client, body: dict):
    return client.post(
        "/payments/callback/lengopay/", data=json.dumps(body), content_type="application/json"
    )


def status_answer(status: str = "SUCCESS", amount: int = 1000) -> dict:
    """The v2 status answer as LengoPay's doc prints it (pay_id padded, account a number)."""
    return {
        "status": status,
        "pay_id": PAY_ID + "=",
        "amount": amount,
        "account": 620124578,
        "date": "2023-11-20 09:37:53",
    }


@pytest.mark.django_db
def test_start_payment_stores_the_pay_id_and_waits_for_the_phone(rsps, gnf_shop):
    rsps.post(
        CASHIN,
        json=OK,
        match=[
            matchers.json_params_matcher(
                {"amount": "1000", "currency": "GNF", "account": "620124578"}, strict_match=False
            )
        ],
    )
    order = make_order((make_product(price=1000), 1), country="GN", phone="+224620124578")
    payment = services.start_payment(order, "lengopay", "lp-om-gn", payer_phone="+224620124578")
    assert (payment.status, payment.provider_reference, payment.redirect_url) == (
        PaymentStatus.PENDING,
        PAY_ID,
        "",
    )
    assert payment.instructions["flow"] == Flow.PUSH


@pytest.mark.django_db
def test_success_callback_pays_the_order_once_the_status_endpoint_confirms(
    client, rsps, gnf_shop, queued_callbacks
):
    gnf_payment()
    rsps.post(
        BASE + STATUS_PATH,
        json=status_answer(),
        match=[matchers.json_params_matcher({"pay_id": PAY_ID, "websiteid": WEBSITE})],
    )
    response = post_callback(client, CALLBACK)
    assert response.status_code == 200
    assert response.json() == {"status": "received"}
    assert len(rsps.calls) == 0, "no provider call on the callback's request path"
    payment = services.process_callback(queued_callbacks[0])
    assert payment.status == PaymentStatus.SUCCEEDED
    assert len(rsps.calls) == 1
    payment.order.refresh_from_db()
    assert payment.order.status == "paid"


@pytest.mark.django_db
@pytest.mark.parametrize("truth", ["PENDING", "FAILED"])
def test_success_callback_does_not_pay_when_the_status_endpoint_disagrees(
    client, rsps, gnf_shop, queued_callbacks, truth
):
    gnf_payment()
    rsps.post(BASE + STATUS_PATH, json=status_answer(truth))
    post_callback(client, CALLBACK)
    payment = services.process_callback(queued_callbacks[0])
    assert payment.status == (PaymentStatus.PENDING if truth == "PENDING" else PaymentStatus.FAILED)
    payment.order.refresh_from_db()
    assert payment.order.status != "paid"


@pytest.mark.django_db
def test_failed_callback_fails_the_payment_once_the_status_endpoint_confirms(
    client, rsps, gnf_shop, queued_callbacks
):
    gnf_payment()
    rsps.post(BASE + STATUS_PATH, json=status_answer("FAILED"))
    post_callback(client, {**CALLBACK, "status": "FAILED", "message": "Transaction Failed"})
    assert services.process_callback(queued_callbacks[0]).status == PaymentStatus.FAILED


@pytest.mark.django_db
def test_callback_is_checked_through_the_v1_fallback_when_v2_is_missing(
    client, rsps, gnf_shop, queued_callbacks
):
    gnf_payment()
    rsps.post(BASE + STATUS_PATH, json={"message": "Not Found"}, status=404)
    rsps.post(
        BASE + V1_STATUS_PATH,
        json={"status": "SUCCESS", "pay_id": PAY_ID, "date": "2023-11-20 09:37:53", "amount": 1000},
    )
    post_callback(client, CALLBACK)
    assert services.process_callback(queued_callbacks[0]).status == PaymentStatus.SUCCEEDED


@pytest.mark.django_db
def test_status_endpoint_with_another_amount_needs_review_not_payment(
    client, rsps, gnf_shop, queued_callbacks
):
    gnf_payment()
    rsps.post(BASE + STATUS_PATH, json=status_answer(amount=100))
    post_callback(
        client, CALLBACK
    )  # the callback says 1000: the status endpoint's 100 is what counts
    payment = services.process_callback(queued_callbacks[0])
    assert payment.status == PaymentStatus.PENDING
    assert payment.needs_review is True


@pytest.mark.django_db
def test_status_endpoint_unreachable_leaves_the_payment_pending(
    client, rsps, gnf_shop, queued_callbacks
):
    gnf_payment()
    rsps.post(BASE + STATUS_PATH, body=requests.exceptions.ConnectionError())
    post_callback(client, CALLBACK)
    payment = services.process_callback(queued_callbacks[0])
    assert payment.status == PaymentStatus.PENDING and payment.next_check_at > timezone.now()


@pytest.mark.django_db(transaction=True)  # the view's IntegrityError path needs real transactions
def test_duplicate_callback_is_acknowledged_and_changes_nothing(client, gnf_shop, queued_callbacks):
    gnf_payment()
    assert post_callback(client, CALLBACK).status_code == 200
    assert post_callback(client, CALLBACK).status_code == 200
    assert len(queued_callbacks) == 1
    assert PaymentEvent.objects.get(kind="callback").deliveries == 2


@pytest.mark.django_db
def test_callback_for_an_unknown_pay_id_is_kept_and_changes_nothing(
    client, gnf_shop, queued_callbacks
):
    payment = gnf_payment()
    response = post_callback(client, {**CALLBACK, "pay_id": "dW5rbm93bg"})
    assert response.status_code == 200
    kept = PaymentEvent.objects.get(kind="callback")
    assert (
        kept.payment_id is None and kept.valid and kept.data["provider_reference"] == "dW5rbm93bg"
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert queued_callbacks == []


@pytest.mark.django_db(transaction=True)
def test_padded_callback_arriving_before_the_create_answer_is_linked_to_it(client, rsps, gnf_shop):
    """The callback beats the create answer and writes pay_id with its padding:
    kept, then linked when the (unpadded) pay_id is stored, then verified."""
    order = make_order((make_product(price=1000), 1), country="GN", phone="+224620124578")
    assert post_callback(client, {**CALLBACK, "pay_id": PAY_ID + "="}).status_code == 200
    kept = PaymentEvent.objects.get(kind="callback")
    assert kept.payment_id is None and kept.data["provider_reference"] == PAY_ID
    rsps.post(CASHIN, json=OK)
    payment = services.start_payment(order, "lengopay", "lp-om-gn", payer_phone="+224620124578")
    kept.refresh_from_db()
    assert kept.payment_id == payment.pk
    rsps.post(BASE + STATUS_PATH, json=status_answer())
    assert services.process_callback(kept.pk).status == PaymentStatus.SUCCEEDED


@pytest.mark.django_db
def test_malformed_callback_is_stored_invalid_and_refused(client, gnf_shop, queued_callbacks):
    response = client.post(
        "/payments/callback/lengopay/",
        data=b'{"pay_id": "x", "status": "SUCCESS", "amount": "abc"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert (
        PaymentEvent.objects.filter(provider="lengopay", kind="callback", valid=False).count() == 1
    )


@pytest.mark.django_db
def test_form_encoded_callback_is_refused_415(client, gnf_shop, queued_callbacks):
    """LengoPay posts JSON only (vendor text "Exemple de requête de rappel")."""
    response = client.post(
        "/payments/callback/lengopay/",
        data="pay_id=x&status=SUCCESS",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415


@pytest.mark.django_db
def test_still_pending_at_the_deadline_expires(rsps, gnf_shop):
    payment = gnf_payment(deadline=timezone.now() - timedelta(seconds=1))
    rsps.post(BASE + STATUS_PATH, json=status_answer("PENDING"))
    payment = services.check_payment(payment.pk, source="poll")
    assert payment.status == PaymentStatus.EXPIRED
    assert payment.needs_review is False


# --- the old mode: status path configured empty (less safe) -------------------------------
@pytest.mark.django_db
def test_without_a_status_endpoint_a_success_callback_pays_the_order(
    client, rsps, callback_truth, queued_callbacks
):
    gnf_payment()
    post_callback(client, CALLBACK)
    payment = services.process_callback(queued_callbacks[0])
    assert payment.status == PaymentStatus.SUCCEEDED
    assert len(rsps.calls) == 0


@pytest.mark.django_db
def test_without_a_status_endpoint_the_callback_amount_is_still_checked(
    client, callback_truth, queued_callbacks
):
    gnf_payment()
    post_callback(client, {**CALLBACK, "amount": 100})
    payment = services.process_callback(queued_callbacks[0])
    assert payment.status == PaymentStatus.PENDING and payment.needs_review is True


@pytest.mark.django_db
def test_without_a_status_endpoint_or_callback_the_payment_expires_at_the_deadline_flagged(
    rsps, callback_truth
):
    """Nothing can rule out a lost callback: staff check with LengoPay."""
    payment = gnf_payment(deadline=timezone.now() - timedelta(seconds=1))
    payment = services.check_payment(payment.pk, source="poll")
    assert payment.status == PaymentStatus.EXPIRED
    assert payment.needs_review is True
    assert len(rsps.calls) == 0


# --- sandbox emulator ----------------------------------------------------------------------
SANDBOX = "/sandbox/lengopay"
AUTH = {"HTTP_AUTHORIZATION": f"Basic {LICENSE}"}
SANDBOX_CASHIN = {
    "amount": "1000",
    "currency": "GNF",
    "websiteid": WEBSITE,
    "type_account": "lp-om-gn",
    "account": "620124578",
    "callback_url": "https://shop.test/payments/callback/lengopay/",
}


def sandbox_post(client, path: str, body, **headers):
    return client.post(
        SANDBOX + path,
        data=json.dumps(body),
        content_type="application/json",
        **{**AUTH, **headers},
    )


def forward_to_sandbox(rsps, client) -> None:
    """Answer the provider's calls to https://lengopay.test with the emulator."""

    def answer(request):
        path = SANDBOX + request.path_url
        response = client.post(
            path,
            data=request.body,
            content_type="application/json",
            HTTP_AUTHORIZATION=request.headers.get("Authorization", ""),
        )
        return response.status_code, {}, response.content

    rsps.add_callback(
        "POST",
        re.compile(re.escape(BASE) + "/.*"),
        callback=answer,
        content_type="application/json",
    )


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_cashin_answers_the_documented_success(client):
    response = sandbox_post(client, "/api/v2/cashin/request", SANDBOX_CASHIN)
    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["message"]) == ("Success", "Request received successfully")
    sp = SandboxPayment.objects.get(provider="lengopay")
    assert sp.token == data["pay_id"]
    assert (sp.amount, sp.method, sp.phone, sp.status) == (1000, "lp-om-gn", "620124578", "pending")


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
@pytest.mark.parametrize(
    "authorization", ["", "Basic wrong", f"Bearer {LICENSE}", "Basic dGVzdDp0ZXN0"]
)
def test_sandbox_cashin_refuses_a_wrong_license_with_401(client, authorization):
    response = sandbox_post(
        client, "/api/v2/cashin/request", SANDBOX_CASHIN, HTTP_AUTHORIZATION=authorization
    )
    assert response.status_code == 401
    assert response.json()["status"] == "ERROR"
    assert not SandboxPayment.objects.exists()


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
@pytest.mark.parametrize(
    "change",
    [
        {"amount": 1000},
        {"amount": "10.5"},
        {"amount": None},
        {"currency": ""},
        {"websiteid": "other"},
        {"type_account": "lp-wave"},
        {"account": ""},
        {"account": None},
    ],
)
def test_sandbox_cashin_refuses_missing_or_invalid_fields_with_400(client, change):
    response = sandbox_post(client, "/api/v2/cashin/request", {**SANDBOX_CASHIN, **change})
    assert response.status_code == 400
    assert response.json()["status"] == "ERROR"


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_pay_ids_look_like_the_vendors(client):
    pay_id = sandbox_post(client, "/api/v2/cashin/request", SANDBOX_CASHIN).json()["pay_id"]
    assert len(pay_id) == len(PAY_ID) and not pay_id.endswith("=")
    assert len(base64.b64decode(pay_id + "=")) == len(base64.b64decode(PAY_ID + "="))


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
@pytest.mark.parametrize("path", [STATUS_PATH, V1_STATUS_PATH])
def test_sandbox_status_follows_the_phone_approval(client, path):
    pay_id = sandbox_post(client, "/api/v2/cashin/request", SANDBOX_CASHIN).json()["pay_id"]
    assert (
        sandbox_post(client, path, {"pay_id": pay_id + "=", "websiteid": WEBSITE}).json()["status"]
        == "PENDING"
    )
    # Only the form LengoPay's status doc writes (padded) is found.
    assert sandbox_post(client, path, {"pay_id": pay_id, "websiteid": WEBSITE}).status_code == 404
    settle(SandboxPayment.objects.get(token=pay_id), SandboxPayment.Status.SUCCEEDED)
    data = sandbox_post(client, path, {"pay_id": pay_id + "=", "websiteid": WEBSITE}).json()
    assert (data["status"], data["pay_id"], data["amount"]) == ("SUCCESS", pay_id + "=", 1000)
    if path == STATUS_PATH:
        assert (
            set(data) == {"status", "pay_id", "amount", "account", "date"}
            and data["account"] == 620124578
        )
    else:
        assert set(data) == {"status", "pay_id", "date", "amount"}


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
@pytest.mark.parametrize("path", [STATUS_PATH, V1_STATUS_PATH])
def test_sandbox_status_refuses_unknown_pay_ids_and_bad_licenses(client, path):
    assert sandbox_post(client, path, {"pay_id": "nope", "websiteid": WEBSITE}).status_code == 404
    assert (
        sandbox_post(
            client, path, {"pay_id": "nope", "websiteid": WEBSITE}, HTTP_AUTHORIZATION="Basic x"
        ).status_code
        == 401
    )
    assert sandbox_post(client, path, {"websiteid": WEBSITE}).status_code == 400
    assert client.get(SANDBOX + path, **AUTH).status_code == 405


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
def test_sandbox_sends_the_documented_callback_once_final(client):
    pay_id = sandbox_post(client, "/api/v2/cashin/request", SANDBOX_CASHIN).json()["pay_id"]
    sp = SandboxPayment.objects.get(token=pay_id)
    assert emulator.callback_request(sp) is None  # nothing to say while pending
    sp = settle(sp, SandboxPayment.Status.FAILED)
    url, body, headers = emulator.callback_request(sp)
    assert url == "https://shop.test/payments/callback/lengopay/"
    assert json.loads(body) == {
        "pay_id": pay_id,
        "status": "FAILED",
        "amount": 1000,
        "message": "Transaction Failed",
        "account": "620124578",
    }
    assert headers == {"Content-Type": "application/json"}
    assert emulator.browser_target(sp) == ""
    assert LengopayProvider().parse_callback(body, headers).provider_reference == pay_id


@pytest.mark.django_db
@pytest.mark.urls("tests.support.sandbox_urls")
@pytest.mark.parametrize(
    "status_path", [STATUS_PATH, "/api/v2/cashin/transactions"]
)  # the second is not served: v1 fallback
def test_provider_and_sandbox_agree_end_to_end(client, rsps, status_path):
    forward_to_sandbox(rsps, client)
    provider = with_status_api(status_path)
    initiation = provider.initiate(payment_request())
    sp = SandboxPayment.objects.get(provider="lengopay")
    assert (
        sp.token == initiation.provider_reference
    )  # the waiting page links /sandbox/page/lengopay/<pay_id>/
    assert provider.fetch_status(view(initiation.provider_reference)).outcome == Outcome.PENDING
    settle(sp, SandboxPayment.Status.SUCCEEDED)
    rsps.calls.reset()
    result = provider.fetch_status(view(initiation.provider_reference))
    assert (result.outcome, result.amount, result.currency) == (Outcome.SUCCEEDED, 1000, "GNF")
    # The sandbox finds only the padded pay_id: learnt on the first check, sent first since.
    assert json.loads(rsps.calls[0].request.body)["pay_id"] == initiation.provider_reference + "="
    _url, body, headers = emulator.callback_request(SandboxPayment.objects.get(pk=sp.pk))
    assert (
        provider.parse_callback(body, headers).provider_reference == initiation.provider_reference
    )

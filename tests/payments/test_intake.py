"""Callback intake and shopper redirects, for every provider: the rules that
do not depend on one vendor's dialect.

* The callback URL answers with and without its trailing slash, never a 3xx
  (vendors count a redirect as a failed delivery and lose the body).
* A callback that arrives before its payment is known (the create call still
  in flight) is stored, then linked and acted on when the payment appears —
  at initiation, or by the sweep.
* A shopper is only ever sent to an ``https`` page on a host of the
  provider's list; anything else ends the attempt with a clear message.
* A shopper who comes back to the payment choice while an attempt is open is
  taken to the page that follows it.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from payments import services
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.providers import PROVIDER_CLASSES, get_provider
from shop.models import Product
from tests.support.factories import hold, make_order, make_payment, make_product

pytestmark = pytest.mark.django_db(transaction=True)

LIGDICASH_CREATE = "https://ligdicash.test/pay/v01/redirect/checkout-invoice/create"
LENGOPAY_CREATE = "https://lengopay.test/api/v2/cashin/request"
LENGOPAY_STATUS = "https://lengopay.test/api/v2/cashin/transaction"


# --- trailing slash ----------------------------------------------------------------
@pytest.mark.parametrize("provider", list(PROVIDER_CLASSES))
def test_callback_url_answers_without_its_trailing_slash(client, provider):
    with_slash = reverse("payments:callback", args=[provider])
    without = with_slash.rstrip("/")
    assert without != with_slash
    for url in (with_slash, without):
        response = client.post(url, data=b"{}", content_type="application/json")
        # An empty object is refused as malformed (or unsigned), never redirected.
        assert 400 <= response.status_code < 500, (url, response.status_code)
    assert (
        PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK, provider=provider).count() == 2
    )


def test_callback_without_slash_is_processed_like_with_it(client, settings):
    settings.APPEND_SLASH = True  # Django's default, which would 301 an unmatched POST
    payment = make_payment(
        provider="lengopay", method="lp-om-gn", provider_reference="cGF5LWlkLXNsYXNo"
    )
    body = json.dumps(
        {
            "pay_id": "cGF5LWlkLXNsYXNo",
            "status": "SUCCESS",
            "amount": payment.amount,
            "message": "ok",
            "account": "620124578",
        }
    )
    response = client.post(
        "/payments/callback/lengopay", data=body, content_type="application/json"
    )
    assert response.status_code == 200
    assert (
        PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK, valid=True).payment_id
        == payment.pk
    )


def test_unknown_provider_is_404_with_or_without_slash(client):
    for url in ("/payments/callback/paypal/", "/payments/callback/paypal"):
        assert client.post(url, data=b"{}", content_type="application/json").status_code == 404


def test_other_content_types_are_refused_and_stored(client):
    response = client.post(
        reverse("payments:callback", args=["dexchange"]), data=b"<xml/>", content_type="text/xml"
    )
    assert response.status_code == 415
    row = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
    assert row.valid is False and bytes(row.body) == b"<xml/>"


# --- a callback before its payment is known ------------------------------------------
def _lengopay_order():
    return make_order((make_product(price=5000, stock=2), 1), country="GN", phone="+224620124578")


def _lengopay_callback(pay_id: str, amount: int) -> bytes:
    return json.dumps(
        {
            "pay_id": pay_id,
            "status": "SUCCESS",
            "amount": amount,
            "message": "Transaction Successful",
            "account": "620124578",
        }
    ).encode()


def test_callback_before_the_create_answer_is_kept_and_applied_at_initiation(
    client, rsps, settings
):
    settings.SHOP_CURRENCY = "GNF"
    order = _lengopay_order()
    pay_id = "T3JwaGFuQ2FsbGJhY2tQYXlJZA"
    response = client.post(
        reverse("payments:callback", args=["lengopay"]),
        data=_lengopay_callback(pay_id, order.total),
        content_type="application/json",
    )
    assert response.status_code == 200
    orphan = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
    assert orphan.payment_id is None and orphan.valid

    rsps.post(LENGOPAY_CREATE, json={"status": "Success", "pay_id": pay_id})
    payment = services.start_payment(order, "lengopay", "lp-om-gn", payer_phone="+224620124578")
    orphan.refresh_from_db()
    assert orphan.payment_id == payment.pk, (
        "the kept callback is linked when the payment learns its pay_id"
    )

    rsps.post(
        LENGOPAY_STATUS,
        json={
            "status": "SUCCESS",
            "pay_id": pay_id,
            "amount": order.total,
            "account": "620124578",
            "date": "2026-11-29 10:00:00",
        },
    )
    services.process_callback(orphan.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_the_sweep_links_a_kept_callback_once(client, rsps):
    order = _lengopay_order()
    pay_id = "U3dlZXBMaW5rc09ycGhhbg"
    client.post(
        reverse("payments:callback", args=["lengopay"]),
        data=_lengopay_callback(pay_id, order.total),
        content_type="application/json",
    )
    # The create answer was stored by a process that did not link it (crashed after commit).
    payment = make_payment(
        order=order, provider="lengopay", method="lp-om-gn", provider_reference=pay_id
    )
    first = services.sweep()
    second = services.sweep()
    assert first.callbacks_linked == 1 and second.callbacks_linked == 0
    assert PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK).payment_id == payment.pk


def test_a_callback_nobody_claims_stays_kept_and_changes_nothing(client):
    order = _lengopay_order()
    make_payment(
        order=order, provider="lengopay", method="lp-om-gn", provider_reference="another-pay-id"
    )
    client.post(
        reverse("payments:callback", args=["lengopay"]),
        data=_lengopay_callback("Tm9ib2R5c1BheUlk", order.total),
        content_type="application/json",
    )
    assert services.sweep().callbacks_linked == 0
    assert PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK).payment_id is None
    assert Payment.objects.get(order=order).status == PaymentStatus.PENDING


# --- where a shopper may be sent ---------------------------------------------------------
def _ligdicash_answer(link: str) -> dict:
    return {
        "response_code": "00",
        "token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.redirect-test",
        "response_text": link,
        "description": "",
    }


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/directpayment/invoice/x",
        "http://app.ligdicash.com/directpayment/invoice/x",  # plain http outside the sandbox
        "https://app.ligdicash.com.evil.example/x",
        "https://user:pw@app.ligdicash.com/x",
    ],
)
def test_a_payment_page_off_the_vendors_hosts_is_never_followed(client, rsps, link):
    product = make_product(stock=3)
    order = make_order((product, 1))
    hold(client, order)
    rsps.post(LIGDICASH_CREATE, json=_ligdicash_answer(link))
    response = client.post(
        reverse("payments:pay", args=[order.token]), {"choice": "ligdicash:hosted"}
    )
    assert response.status_code == 200
    assert "page de paiement inattendue" in response.content.decode()
    assert link.encode() not in response.content
    payment = Payment.objects.get(order=order)
    assert payment.status == PaymentStatus.FAILED and not payment.redirect_url
    assert "redirect refused" in payment.last_error
    assert payment.events.filter(kind=PaymentEvent.Kind.REQUEST).exists(), (
        "the vendor's answer is journalled"
    )
    assert Product.objects.get(pk=product.pk).stock == 2, (
        "the order keeps its stock for another try"
    )


def test_a_payment_page_on_the_vendors_host_is_followed(client, rsps):
    order = make_order()
    hold(client, order)
    link = "https://app.ligdicash.com/pay/invoice/abc"
    rsps.post(LIGDICASH_CREATE, json=_ligdicash_answer(link))
    response = client.post(
        reverse("payments:pay", args=[order.token]), {"choice": "ligdicash:hosted"}
    )
    assert response.status_code == 302 and response["Location"] == link


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "//app.ligdicash.com/x", "https:///x", "https://[::1/x", ""]
)
def test_malformed_links_are_refused(url):
    assert not get_provider("ligdicash").allowed_redirect(url)


def test_configured_redirect_hosts_replace_the_defaults(settings):
    settings.PAYMENT_PROVIDERS = {
        **settings.PAYMENT_PROVIDERS,
        "dexchange": {
            **settings.PAYMENT_PROVIDERS["dexchange"],
            "redirect_hosts": ["pay2.dexchange.sn"],
        },
    }
    provider = get_provider("dexchange")
    assert provider.allowed_redirect("https://pay2.dexchange.sn/process/MID1")
    assert not provider.allowed_redirect("https://pay.dexchange.sn/process/MID1")


def test_the_sandbox_host_is_allowed_only_with_the_sandbox(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    url = "http://127.0.0.1:8000/sandbox/page/dexchange/tok/"
    assert not get_provider("dexchange").allowed_redirect(url)
    settings.PAYMENTS_SANDBOX = True
    assert get_provider("dexchange").allowed_redirect(url)


# --- coming back to the choice while an attempt is open --------------------------------
def test_choice_page_sends_a_returning_shopper_to_the_open_attempt(client):
    order = make_order()
    hold(client, order)
    payment = make_payment(
        order=order, provider="novasend", method="mobile_money", provider_reference="tr_open"
    )
    url = reverse("payments:pay", args=[order.token])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("payments:wait", args=[order.token, payment.reference])
    wait_page = client.get(response["Location"]).content.decode()
    assert f"{url}?autre=1" in wait_page, "the waiting page offers another way to pay"
    assert client.get(url + "?autre=1").status_code == 200


@pytest.mark.urls("tests.support.sandbox_urls")
def test_the_sandbox_lists_no_payments(client, settings):
    settings.PAYMENTS_SANDBOX = True
    from payments.sandbox.models import SandboxPayment

    SandboxPayment.objects.create(
        provider="lygos",
        token="t-1",
        merchant_reference="secret-order",
        amount=100,
        currency="XOF",
        method="hosted",
    )
    response = client.get(
        "/sandbox/lygos/gateway", HTTP_API_KEY=settings.PAYMENT_PROVIDERS["lygos"]["api_key"]
    )
    assert response.status_code == 200 and response.json() == []

"""One language for the shopper's paths: French everywhere, payment pages
included; the provider webhook stays where providers are configured to
call it, and the English return/cancel paths of attempts in flight still work."""

import uuid

import pytest
from django.urls import resolve, reverse
from django.utils import timezone

from payments import views as payment_views
from tests.support.factories import make_order, make_payment

pytestmark = pytest.mark.django_db

TOKEN = "a" * 43
REFERENCE = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.mark.parametrize(
    ("name", "args", "path"),
    [
        ("shop:products", [], "/produits/"),
        ("shop:cart", [], "/panier/"),
        ("shop:checkout", [], "/commande/"),
        ("shop:my_orders", [], "/mes-commandes/"),
        ("payments:pay", [TOKEN], f"/paiement/{TOKEN}/"),
        ("payments:wait", [TOKEN, REFERENCE], f"/paiement/{TOKEN}/{REFERENCE}/"),
        ("payments:status", [TOKEN, REFERENCE], f"/paiement/{TOKEN}/{REFERENCE}/statut.json"),
        ("payments:return", [REFERENCE], f"/paiement/retour/{REFERENCE}/"),
        ("payments:cancel", [REFERENCE], f"/paiement/annulation/{REFERENCE}/"),
        ("payments:callback", ["ligdicash"], "/payments/callback/ligdicash/"),
    ],
)
def test_shopper_paths_are_french_and_the_webhook_stays(name, args, path):
    assert reverse(name, args=args) == path
    assert resolve(path).view_name == name  # "retour" is not read as an order token


def test_the_webhook_is_answered_with_and_without_its_slash():
    assert resolve("/payments/callback/lygos/").func is payment_views.callback
    assert resolve("/payments/callback/lygos").func is payment_views.callback


@pytest.mark.parametrize(("old", "cancelled"), [("return", False), ("cancel", True)])
def test_english_return_and_cancel_paths_of_attempts_in_flight_still_work(client, old, cancelled):
    payment = make_payment(
        status="failed", returned_at=timezone.now()
    )  # final, already re-checked: no provider call

    match = resolve(f"/payments/{old}/{payment.reference}/")
    response = client.get(f"/payments/{old}/{payment.reference}/")

    assert (
        match.func is payment_views.provider_return
        and match.kwargs.get("cancelled", False) is cancelled
    )
    assert response.status_code == 200 and "payments/returned.html" in [
        t.name for t in response.templates
    ]


def test_an_open_english_waiting_page_is_sent_to_its_french_address(client):
    order = make_order()
    payment = make_payment(order)
    old = f"/payments/pay/{order.token}/{payment.reference}/"

    response = client.get(old + "?x=1")

    assert response.status_code == 302
    assert (
        response["Location"]
        == reverse("payments:wait", args=[order.token, payment.reference]) + "?x=1"
    )
    assert client.get(f"/payments/pay/{order.token}/")["Location"] == reverse(
        "payments:pay", args=[order.token]
    )
    status = client.get(f"/payments/pay/{order.token}/{payment.reference}/status.json")
    assert status["Location"] == reverse("payments:status", args=[order.token, payment.reference])


@pytest.mark.parametrize(
    "path",
    [
        "/payments/pay//evil.example/",
        "/payments/pay/abc%00def0123456789abcdef/",
        "/payments/return/not-a-uuid/",
    ],
)
def test_the_old_paths_only_take_what_the_new_ones_take(client, path):
    assert client.get(path).status_code == 404

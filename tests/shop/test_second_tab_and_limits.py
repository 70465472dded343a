"""Low items of the UX review 2026-12-03: a second checkout tab on a cart
already ordered leads to that order (U-10); a shop limit reads as what it is,
not as a field to correct (U-16)."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from tests.support.factories import make_order, make_product
from tests.support.shop import add_to_cart, checkout_data

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_a_second_checkout_tab_leads_to_the_order_just_placed(client):
    add_to_cart(client, make_product(stock=5))
    first = client.post(reverse("shop:checkout"), checkout_data())
    assert first.status_code == 302

    second = client.post(reverse("shop:checkout"), checkout_data(), follow=True)

    body = text(second)
    assert second.redirect_chain[-1][0].startswith("/commande/")
    assert "Votre panier est vide : votre commande AS-" in body
    assert "est déjà passée." in body


def test_an_empty_cart_with_no_recent_order_goes_to_the_cart(client):
    response = client.post(reverse("shop:checkout"), checkout_data(), follow=True)

    assert response.redirect_chain[-1][0] == reverse("shop:cart")
    assert "Votre panier est vide." in text(response)


def test_the_unpaid_orders_limit_is_not_called_a_field_to_correct(client, settings):
    settings.SHOP_MAX_OPEN_ORDERS = 1
    make_order(phone="+22670123456")
    add_to_cart(client, make_product(stock=5))

    response = client.post(reverse("shop:checkout"), checkout_data())

    body = text(response)
    assert response.status_code == 400
    assert "commande" in body and "en attente de paiement" in body
    assert "Corrigez le champ signalé" not in body


def test_a_wrong_field_is_still_called_a_field_to_correct(client):
    add_to_cart(client, make_product(stock=5))

    response = client.post(reverse("shop:checkout"), checkout_data(email="pas-une-adresse"))

    assert "Corrigez le champ signalé :" in text(response)

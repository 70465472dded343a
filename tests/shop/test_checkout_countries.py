"""Only countries that can pay (UX review 2026-12-03, U-03/U-04): the checkout
lists the countries where a configured provider serves the shop currency,
says which others it cannot take yet, never places an order for them, opens
on the shop's own country (or the one this browser chose before) and tells a
shopper whose number belongs to another country to change the country."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from shop.models import Order
from tests.support.factories import make_product
from tests.support.shop import add_to_cart, checkout_data

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


def country_select(response) -> str:
    return re.search(r'<select name="country".*?</select>', response.content.decode(), re.S)[0]


def country_options(response) -> list[str]:
    return re.findall(r'<option value="([A-Z]*)"', country_select(response))


def selected_country(response) -> str:
    return re.search(r'<option value="([A-Z]*)" selected', country_select(response))[1]


@pytest.fixture
def cart(client):
    add_to_cart(client, make_product(price=25000, stock=20))
    return client


def test_xof_checkout_lists_only_countries_that_can_pay_and_names_the_others(cart):
    response = cart.get(reverse("shop:checkout"))

    assert response.status_code == 200
    options = country_options(response)
    assert options[:1] == ["BF"]
    assert {"BF", "CI", "SN", "ML", "BJ", "TG"} <= set(options)
    assert "NE" not in options and "GN" not in options
    assert "Nous n'encaissons pas encore de paiement depuis : Niger, Guinée." in text(response)


@pytest.mark.parametrize("country", ["NE", "GN", "US", ""])
def test_a_country_that_cannot_pay_places_no_order(cart, country):
    response = cart.post(reverse("shop:checkout"), checkout_data(country=country))

    assert response.status_code == 400
    body = text(response)
    assert (
        "Nous n'encaissons pas encore de paiement depuis ce pays" in body
        or "Choisissez votre pays." in body
    )
    assert not Order.objects.exists()


def test_gnf_shop_opens_on_guinea_and_offers_only_guinea(cart, settings):
    settings.SHOP_CURRENCY = "GNF"
    settings.SHOP_COUNTRY = "GN"

    response = cart.get(reverse("shop:checkout"))

    assert country_options(response) == ["GN"]
    assert "Burkina Faso" in text(response)  # named among those it cannot take yet
    placed = cart.post(reverse("shop:checkout"), checkout_data(country="GN", phone="621 23 45 67"))
    assert placed.status_code == 302
    assert Order.objects.get().phone == "+224621234567"
    bf = cart.post(reverse("shop:checkout"), checkout_data())
    assert bf.status_code in (302, 400)
    assert Order.objects.filter(country="BF").count() == 0


def test_the_default_country_is_the_shops_then_the_one_this_browser_chose(cart, settings):
    settings.SHOP_COUNTRY = "SN"
    assert selected_country(cart.get(reverse("shop:checkout"))) == "SN"

    cart.post(reverse("shop:checkout"), checkout_data(country="CI", phone="07 01 02 03 04"))
    add_to_cart(cart, make_product(price=5000))

    assert selected_country(cart.get(reverse("shop:checkout"))) == "CI"


def test_no_configured_provider_means_no_order_and_a_clear_message(cart, settings):
    settings.PAYMENT_PROVIDERS = {}

    response = cart.get(reverse("shop:checkout"))
    assert "Le paiement en ligne n'est pas disponible pour le moment" in text(response)
    posted = cart.post(reverse("shop:checkout"), checkout_data())

    assert posted.status_code == 400
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("typed", "country", "message"),
    [
        (
            "0701020304",
            "BF",
            "Ce numéro semble être un numéro de Côte d'Ivoire : changez le pays ?",
        ),
        (
            "07 01 02 03 04",
            "SN",
            "Ce numéro semble être un numéro de Côte d'Ivoire : changez le pays ?",
        ),
        ("77 123 45 67", "BF", "Ce numéro semble être un numéro du Sénégal : changez le pays ?"),
        (
            "+221 77 123 45 67",
            "CI",
            "Ce numéro semble être un numéro du Sénégal : changez le pays ?",
        ),
        (
            "+227 93 12 34 56",
            "CI",
            "Ce numéro semble être un numéro du Niger, d'où nous n'encaissons pas encore de "
            "paiement.",
        ),
        ("12", "CI", "Numéro de téléphone invalide pour ce pays (par exemple 01 23 45 67 89)."),
    ],
)
def test_a_number_of_another_country_points_at_the_country_field(cart, typed, country, message):
    response = cart.post(reverse("shop:checkout"), checkout_data(phone=typed, country=country))

    assert response.status_code == 400
    assert message in text(response)
    assert not Order.objects.exists()

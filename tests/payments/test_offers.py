"""Checkout offers exactly the configured providers that take the shop currency."""

import pytest
from django.urls import reverse

from payments.providers import checkout_providers
from tests.support.factories import hold, make_order


@pytest.mark.parametrize(
    "currency,expected",
    [
        ("XOF", ["ligdicash", "novasend", "lygos", "dexchange"]),
        ("GNF", ["lengopay"]),
        ("XAF", ["lygos"]),
        ("USD", []),
    ],
)
def test_offered_providers_follow_the_shop_currency(currency, expected):
    assert [p.code for p in checkout_providers(currency)] == expected


def test_a_provider_without_credentials_is_not_offered(settings):
    settings.PAYMENT_PROVIDERS = {
        **settings.PAYMENT_PROVIDERS,
        "novasend": {**settings.PAYMENT_PROVIDERS["novasend"], "api_key": ""},
    }
    assert "novasend" not in [p.code for p in checkout_providers("XOF")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "currency,country,phone,shown,hidden",
    [
        ("GNF", "GN", "+224620124578", "lengopay:", "ligdicash:"),
        ("XOF", "BF", "+22670123456", "ligdicash:", "lengopay:"),
    ],
)
def test_pay_page_lists_only_those(client, settings, currency, country, phone, shown, hidden):
    settings.SHOP_CURRENCY = currency
    order = make_order(country=country, phone=phone)
    hold(client, order)
    page = client.get(reverse("payments:pay", args=[order.token])).content.decode()
    assert f'value="{shown}' in page and f'value="{hidden}' not in page


@pytest.mark.django_db
def test_an_injected_provider_or_currency_is_refused(client):
    order = make_order()
    url = reverse("payments:pay", args=[order.token])
    for choice in ("dummy:hosted", "lengopay:lp-om-gn", "ligdicash:nope", ""):
        response = client.post(url, {"choice": choice, "currency": "USD", "amount": "1"})
        assert response.status_code == 400
    assert not order.payments.exists()


# --- issue 12: wallets by the shopper's country (payments.offers) -------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("country", "phone", "expected"),
    [
        (
            "BF",
            "+22670123456",
            {
                "ligdicash:hosted",
                "ligdicash:orange_bf",
                "ligdicash:moov_bf",
                "novasend:mobile_money",
                "lygos:hosted",
            },
        ),
        ("ML", "+22376123456", {"novasend:mobile_money"}),
        ("CI", "+2250707123456", {"novasend:mobile_money", "lygos:hosted"}),
        ("SN", "+221771234567", {"novasend:mobile_money", "lygos:hosted", "dexchange:hosted"}),
        ("NE", "+22790123456", set()),
    ],
)
def test_offers_only_what_serves_the_shoppers_country(country, phone, expected):
    from payments.offers import offers_for

    order = make_order(country=country, phone=phone)

    assert {o["value"] for o in offers_for(order)} == expected


@pytest.mark.django_db
def test_offers_are_named_by_the_wallets_people_know():
    from payments.offers import offers_for

    titles = {
        o["value"]: o["title"] for o in offers_for(make_order(country="SN", phone="+221771234567"))
    }

    assert titles["dexchange:hosted"] == "Orange Money, Wave, Free Money"
    assert "Moov Money" not in titles["novasend:mobile_money"]  # no Moov in Senegal
    bf = {o["value"]: o for o in offers_for(make_order(country="BF", phone="+22670123456"))}
    assert bf["ligdicash:moov_bf"]["title"] == "Moov Money" and bf["ligdicash:orange_bf"][
        "ussd"
    ].startswith("*144*4*6*")
    assert bf["ligdicash:hosted"]["title"] == "Orange Money, Moov Money, Carte bancaire"


@pytest.mark.django_db
def test_pay_page_groups_wallets_under_their_provider_and_shows_the_phone_locally(client):
    order = make_order(country="BF", phone="+22670123456")
    hold(client, order)

    body = client.get(reverse("payments:pay", args=[order.token])).content.decode()

    assert "<legend>Avec Ligdicash</legend>" in body and "<legend>Avec Novasend</legend>" in body
    assert 'value="70 12 34 56"' in body


@pytest.mark.django_db
def test_pay_page_of_a_mali_order_offers_no_provider_that_does_not_serve_mali(client):
    order = make_order(country="ML", phone="+22376123456")
    hold(client, order)

    body = client.get(reverse("payments:pay", args=[order.token])).content.decode()

    assert 'value="novasend:mobile_money"' in body
    assert (
        'value="ligdicash:' not in body
        and 'value="lygos:' not in body
        and 'value="dexchange:' not in body
    )

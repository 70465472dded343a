"""Checkout offers exactly the configured providers that take the shop currency."""

import pytest
from django.urls import reverse

from payments.providers import checkout_providers
from tests.factories import hold, make_order


@pytest.mark.parametrize(
    "currency,expected",
    [("XOF", ["ligdicash", "novasend", "lygos", "dexchange"]), ("GNF", ["lengopay"]), ("XAF", ["lygos"]), ("USD", [])],
)
def test_offered_providers_follow_the_shop_currency(currency, expected):
    assert [p.code for p in checkout_providers(currency)] == expected


def test_a_provider_without_credentials_is_not_offered(settings):
    settings.PAYMENT_PROVIDERS = {**settings.PAYMENT_PROVIDERS, "novasend": {**settings.PAYMENT_PROVIDERS["novasend"], "api_key": ""}}
    assert "novasend" not in [p.code for p in checkout_providers("XOF")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "currency,country,phone,shown,hidden", [("GNF", "GN", "+224620124578", "lengopay:", "ligdicash:"), ("XOF", "BF", "+22670123456", "ligdicash:", "lengopay:")]
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

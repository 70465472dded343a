"""Caps that hold against fake identities from one address (review 2026-12-03
F-05), and LengoPay's callback-decides mode refused in production unless the
risk is accepted in writing (F-13)."""

from __future__ import annotations

import html
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import reverse

from ashtech_store import checks
from shop.models import Order, Product
from tests.support.deploy import ROOT, production_env
from tests.support.factories import make_product
from tests.support.shop import add_to_cart, checkout_data

pytestmark = pytest.mark.django_db
ATTACKER = "198.51.100.66"


def fake_identity(product, n: int, ip: str = ATTACKER, quantity: int = 1):
    """A new browser, a new name, phone and e-mail: what the review did."""
    browser = Client(REMOTE_ADDR=ip)
    add_to_cart(browser, product, quantity)
    return browser.post(
        reverse("shop:checkout"),
        checkout_data(
            full_name=f"Faux Client {n}", email=f"fake{n}@example.bf", phone=f"70 00 {n:02d} 11"
        ),
    )


def refused(response) -> bool:
    return response.status_code == 400 and "depuis votre connexion" in html.unescape(
        response.content.decode()
    )


def test_fake_identities_from_one_address_reach_the_hourly_cap(settings):
    settings.SHOP_MAX_ORDERS_PER_ADDRESS_HOUR = 4
    product = make_product(price=1000, stock=50)

    answers = [fake_identity(product, n) for n in range(6)]

    assert [a.status_code for a in answers[:4]] == [302] * 4
    assert refused(answers[4]) and refused(answers[5])
    assert Order.objects.count() == 4
    assert Product.objects.get(pk=product.pk).stock == 46
    assert fake_identity(product, 99, ip="203.0.113.7").status_code == 302, "others still buy"


def test_the_value_held_from_one_address_is_capped(settings):
    settings.SHOP_MAX_HELD_VALUE_PER_ADDRESS = 40_000
    product = make_product(price=15_000, stock=50)

    answers = [fake_identity(product, n) for n in range(3)]

    assert [a.status_code for a in answers[:2]] == [302, 302]
    assert refused(answers[2]), "45 000 would be held"
    assert fake_identity(make_product(price=5_000, stock=5), 7).status_code == 302, "40 000"


def test_rotating_ipv6_addresses_in_a_slash_64_counts_as_one_address(settings):
    settings.SHOP_MAX_ORDERS_PER_ADDRESS_HOUR = 2
    product = make_product(price=1000, stock=50)

    codes = [fake_identity(product, n, ip=f"2001:db8:5:5::{n + 1:x}").status_code for n in range(3)]

    assert codes[:2] == [302, 302] and codes[2] == 400


def test_a_checkout_that_fails_does_not_count(settings):
    settings.SHOP_MAX_ORDERS_PER_ADDRESS_HOUR = 1
    scarce = make_product(price=1000, stock=1)
    browser = Client(REMOTE_ADDR=ATTACKER)
    add_to_cart(browser, scarce, 1)
    Product.objects.filter(pk=scarce.pk).update(stock=0)  # sold while the cart waited
    browser.post(reverse("shop:checkout"), checkout_data())

    assert fake_identity(make_product(price=1000, stock=5), 1).status_code == 302


# --- F-13: LENGOPAY_STATUS_PATH= --------------------------------------------------
@pytest.fixture
def lengopay_without_status(settings):
    settings.DEBUG = False
    settings.PAYMENT_PROVIDERS = {
        "lengopay": {"license_key": "live-license", "website_id": "w", "status_path": ""}
    }
    settings.LENGOPAY_ACCEPT_UNVERIFIED_CALLBACKS = False
    return settings


def test_an_empty_lengopay_status_path_is_an_error_in_production(lengopay_without_status):
    assert [e.id for e in checks.check_lengopay_status_path()] == ["ashtech.E013"]


def test_the_risk_can_be_accepted_explicitly(lengopay_without_status):
    lengopay_without_status.LENGOPAY_ACCEPT_UNVERIFIED_CALLBACKS = True

    assert checks.check_lengopay_status_path() == []


def test_the_server_does_not_start_with_it_even_when_silenced():
    env = production_env()
    env.update(
        LENGOPAY_LICENSE_KEY="live-license",
        LENGOPAY_WEBSITE_ID="site",
        LENGOPAY_STATUS_PATH="",
        SILENCED_SYSTEM_CHECKS="ashtech.E013",
    )
    code = "import ashtech_store.wsgi"

    def run():
        return subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )

    result = run()
    assert result.returncode != 0 and "ashtech.E013" in result.stderr
    env["LENGOPAY_ACCEPT_UNVERIFIED_CALLBACKS"] = "true"
    result = run()
    assert result.returncode == 0, result.stderr


def test_the_caps_are_off_with_the_rate_limits_for_the_benchmark(settings):
    settings.SHOP_MAX_ORDERS_PER_ADDRESS_HOUR = 1
    settings.RATELIMIT_ENABLE = False
    product = make_product(price=1000, stock=50)

    assert [fake_identity(product, n).status_code for n in range(3)] == [302] * 3

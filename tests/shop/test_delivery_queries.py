"""Query budgets with delivery data (issue 16): the product, cart and
checkout pages stay within a fixed count, the same with 2 or 24 products,
with or without a chosen area, on a cold cache; a warm cache reads the
delivery table without a query."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shop import delivery
from tests.support.delivery import make_areas
from tests.support.factories import make_category, make_product
from tests.support.shop import add_to_cart

pytestmark = pytest.mark.django_db


def count(client, url: str, cold: bool = True) -> int:
    if cold:
        cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@pytest.fixture
def shop_with_delivery(client):
    areas = make_areas()
    category = make_category("Téléphones")
    products = [make_product(category=category, stock=5) for _ in range(24)]
    return areas, products


@pytest.mark.parametrize("with_area", [False, True])
def test_product_page_budget(client, shop_with_delivery, with_area):
    areas, products = shop_with_delivery
    if with_area:
        session = client.session
        session[delivery.SESSION_KEY] = areas.secteur15.pk
        session.save()
    url = products[0].get_absolute_url()
    assert count(client, url) <= 6  # the budget of tests/shop/test_queries.py, kept
    assert count(client, url, cold=False) <= count(client, url) - 3


def test_cart_and_checkout_budgets_do_not_grow_with_lines(client, shop_with_delivery):
    areas, products = shop_with_delivery
    session = client.session
    session[delivery.SESSION_KEY] = areas.secteur15.pk
    session.save()
    for product in products[:2]:
        add_to_cart(client, product)
    cart_two, checkout_two = (
        count(client, reverse("shop:cart")),
        count(client, reverse("shop:checkout")),
    )
    for product in products[2:8]:
        add_to_cart(client, product)
    assert count(client, reverse("shop:cart")) == cart_two <= 8  # test_queries.py's budget, kept
    assert count(client, reverse("shop:checkout")) == checkout_two <= 10


def test_the_delivery_table_costs_three_queries_cold_and_none_warm(shop_with_delivery):
    cache.clear()
    with CaptureQueriesContext(connection) as cold:
        delivery.table()
    with CaptureQueriesContext(connection) as warm:
        delivery.table()
    assert (len(cold), len(warm)) == (3, 0)


def test_a_staff_edit_is_seen_at_once(shop_with_delivery):
    areas, _products = shop_with_delivery
    before = delivery.table()
    areas.home_s15.fee = 750
    areas.home_s15.save()
    after = delivery.table()
    assert {r.fee for r in after.rates} - {r.fee for r in before.rates} == {750}

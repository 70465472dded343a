"""The cached listing never outlives the data it shows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shop.services import release_stock
from tests.support.factories import make_order, make_product

pytestmark = pytest.mark.django_db(transaction=True)


def listing(client) -> str:
    return client.get(reverse("shop:products")).content.decode()


def test_a_cached_listing_costs_no_query(client):
    make_product(name="Routeur 4G", stock=5)
    listing(client)
    with CaptureQueriesContext(connection) as ctx:
        assert "Routeur 4G" in listing(client)
    assert len(ctx.captured_queries) == 0


def test_stock_moves_show_at_once(client):
    product = make_product(name="Clé USB", stock=4)
    assert "En stock" in listing(client)
    order = make_order((product, 2))
    assert "Plus que 2 en stock" in listing(client)
    make_order((product, 2))
    assert "Rupture de stock" in listing(client)
    release_stock(order)
    assert "Plus que 2 en stock" in listing(client)


def test_staff_edits_show_at_once(client):
    product = make_product(name="Câble tressé", price=3500)
    assert "3\u202f500" in listing(client)
    product.price = 4000
    product.save()
    page = listing(client)
    assert "4\u202f000" in page and "3\u202f500" not in page
    product.is_active = False
    product.save()
    assert "Câble tressé" not in listing(client)


def test_product_page_is_cached_but_follows_stock_and_keeps_a_fresh_csrf_form(client):
    product = make_product(name="Batterie externe", stock=3, description="Deux ports USB.")
    url = product.get_absolute_url()
    first = client.get(url).content.decode()
    assert "Plus que 3 en stock" in first and "Deux ports USB." in first
    with CaptureQueriesContext(connection) as ctx:
        again = client.get(url).content.decode()
    assert len(ctx.captured_queries) == 0 and 'name="csrfmiddlewaretoken"' in again
    make_order((product, 3))
    page = client.get(url).content.decode()
    assert "Rupture de stock" in page and 'name="quantity"' not in page
    product.is_active = False
    product.save()
    assert client.get(url).status_code == 404


def test_home_follows_new_products(client):
    make_product(name="Ancien modèle")
    assert "Ancien modèle" in client.get("/").content.decode()
    make_product(name="Nouveau modèle")
    assert "Nouveau modèle" in client.get("/").content.decode()

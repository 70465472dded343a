"""`make run` (DEBUG on) answers shoppers as production does: the French 404
for anything missing, the shop's 429 page for a rate limit, the friendly 500
for a crash; Django's debug pages only for the admin or with
DEBUG_ERROR_PAGES."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from tests.support.factories import make_product
from tests.support.shop import checkout_data

pytestmark = pytest.mark.django_db

MISSING = [
    "/produit/nexiste-pas/",
    "/categorie/tablettes/",
    "/page/cgv/",
    "/commande/" + "x" * 43 + "/",
    "/paiement/" + "x" * 43 + "/",
    "/nexiste/",
]


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", MISSING)
def test_anything_missing_is_the_french_404_page_with_or_without_debug(
    client, settings, path, debug
):
    settings.DEBUG = debug

    response = client.get(path)

    assert response.status_code == 404
    body = text(response)
    assert "Page introuvable" in body
    assert "Retour à la boutique" in body
    assert "Page not found" not in body and "Un problème est survenu" not in body


def test_a_developer_can_ask_for_the_debug_404(client, settings):
    settings.DEBUG = True
    settings.DEBUG_ERROR_PAGES = True

    response = client.get("/nexiste/")

    assert response.status_code == 404
    assert "Page introuvable" not in text(response)


def test_a_rate_limited_checkout_is_the_shops_429_page_in_make_run(client, settings):
    settings.DEBUG = True
    settings.RATELIMIT_CHECKOUT_PER_SESSION = "2/m"
    product = make_product(stock=50)
    client.post(reverse("shop:cart_add"), {"product_id": product.pk, "quantity": 1})

    codes = [
        client.post(reverse("shop:checkout"), checkout_data(phone="abc")).status_code
        for _ in range(3)
    ]

    assert codes == [400, 400, 429]
    response = client.post(reverse("shop:checkout"), checkout_data(phone="abc"))
    body = text(response)
    assert response.status_code == 429
    assert "Trop de tentatives" in body and "Patientez une minute" in body
    assert "Un problème est survenu" not in body
    assert 'class="top"' in body  # the shop's header: its own page, not a bare one

"""JavaScript off, a double tap on the first "Ajouter au panier" of a visit
(UX review 2026-12-03, U-07): both POSTs leave before the first one's session
cookie arrives, so each starts its own session. Whichever answer the browser
keeps, its cart holds the product once and says so; within one session the
second tap still adds nothing."""

from __future__ import annotations

import html

import pytest
from django.test import Client
from django.urls import reverse

from tests.support.factories import make_product
from tests.support.shop import cart_of, find_form

pytestmark = pytest.mark.django_db


def test_a_double_tap_before_any_session_cookie_leaves_the_product_in_either_cart(client):
    product = make_product(name="Tecno Spark 20", stock=5)
    form = find_form(client.get(product.get_absolute_url()), reverse("shop:cart_add"))
    # The second tap: same form, same CSRF cookie, no session cookie yet.
    second_tap = Client()
    second_tap.cookies = client.cookies.__class__(
        {k: v.value for k, v in client.cookies.items() if k != "sessionid"}
    )

    first = client.post(form.action, form.data())
    second = second_tap.post(form.action, form.data(), follow=True)

    assert first.status_code == 302
    assert cart_of(client) == {str(product.pk): 1}
    assert cart_of(second_tap) == {str(product.pk): 1}
    body = html.unescape(second.content.decode())
    assert "« Tecno Spark 20 » est dans votre panier." in body
    assert "Votre panier est vide" not in body


def test_a_double_tap_in_one_session_adds_once_and_still_shows_the_cart(client):
    product = make_product(name="Tecno Spark 20", stock=5)
    form = find_form(client.get(product.get_absolute_url()), reverse("shop:cart_add"))

    client.post(form.action, form.data())
    second = client.post(form.action, form.data(), follow=True)

    assert cart_of(client) == {str(product.pk): 1}
    assert "« Tecno Spark 20 » est dans votre panier." in html.unescape(second.content.decode())

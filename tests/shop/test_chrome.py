"""The page frame's fixed pieces are rendered once per process and language
(``{% chrome %}``, shop/templatetags/chrome.py); what belongs to a shopper
or a request never comes from that memory."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from shop.templatetags import chrome
from tests.support.factories import make_product

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def page(client, path: str = "/") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def badge(html: str) -> str:
    return re.search(r'<span class="badge" aria-hidden="true">(\d+)</span>', html).group(1)


def test_two_shoppers_get_their_own_search_cart_count_and_csrf_token(settings):
    settings.DEBUG = False
    chrome.forget()
    product = make_product(name="Tecno Spark", stock=5)
    first, second = Client(), Client()
    first.post(reverse("shop:cart_add"), {"product_id": product.pk, "quantity": "2"})
    one = page(first, reverse("shop:products") + "?q=tecno")
    two = page(second, reverse("shop:products") + "?q=nokia")
    assert chrome._RENDERED, "the frame pieces are kept"
    assert 'value="tecno"' in one and 'value="nokia"' in two
    assert (badge(one), badge(two)) == ("2", "0")
    assert TOKEN.findall(one) and TOKEN.findall(two)
    assert set(TOKEN.findall(one)).isdisjoint(TOKEN.findall(two))
    # The same frame otherwise, byte for byte.
    frame = [re.sub(r"tecno|nokia|>\d+</span>", "", h) for h in (one, two)]
    frame = [TOKEN.sub("", h) for h in frame]
    head = [h.split('<main id="content"', 1)[0] for h in frame]
    foot = [h.split("</main>", 1)[1] for h in frame]
    assert head[0].replace("(2 articles)", "(0 article)") == head[1]
    assert foot[0] == foot[1]


def test_each_language_has_its_own_frame(settings):
    settings.DEBUG = False
    chrome.forget()
    shopper = Client()
    french = page(shopper)
    shopper.post(reverse("set_language"), {"language": "en", "next": "/"})
    english = page(shopper)
    assert '<html lang="fr">' in french and '<html lang="en">' in english
    assert ">Panier <span" in french and ">Cart <span" in english
    assert 'value="fr" lang="fr" aria-current="true"' in french
    assert 'value="en" lang="en" aria-current="true"' in english
    assert ">Mes commandes<" in french and ">Mes commandes<" not in english


def test_a_settings_change_renders_the_frame_again(settings):
    settings.DEBUG = False
    chrome.forget()
    assert ">Ashtech Test<" not in page(Client())
    settings.SHOP_NAME = "Ashtech Test"
    assert '<a class="brand" href="/">Ashtech Test</a>' in page(Client())


def test_cart_lines_are_cached_by_what_they_show():
    product = make_product(name="Itel A70", price=45000, stock=5)
    first, second = Client(), Client()
    first.post(reverse("shop:cart_add"), {"product_id": product.pk, "quantity": "1"})
    second.post(reverse("shop:cart_add"), {"product_id": product.pk, "quantity": "2"})
    field = f'name="qty-{product.pk}" type="number" min="0" max="99" inputmode="numeric" value='
    assert field + '"1"' in page(first, reverse("shop:cart"))
    assert field + '"2"' in page(second, reverse("shop:cart"))
    assert field + '"1"' in page(first, reverse("shop:cart"))
    # A change made behind the shop's back (no signal, no version bump) is
    # still seen: the key is the content itself.
    type(product).objects.filter(pk=product.pk).update(price=47000, name="Itel A70 Pro")
    html = page(first, reverse("shop:cart"))
    assert "Itel A70 Pro" in html and "47\u202f000" in html and "45\u202f000" not in html

"""The whole path works with JavaScript off: a browser that only follows links
and posts forms, with CSRF checks on, goes from a product to a placed order."""

import pytest
from django.test import Client
from django.urls import reverse

from shop.models import Order, Product
from tests.support.factories import make_product
from tests.support.shop import find_form, parse_page

pytestmark = pytest.mark.django_db


def test_shopper_without_javascript_goes_from_product_to_placed_order():
    phone = make_product(name="Tecno Spark 20", price=15000, stock=5)
    browser = Client(enforce_csrf_checks=True)

    product_page = browser.get(phone.get_absolute_url())
    # One optional script (tap feedback); nothing below depends on it.
    assert parse_page(product_page.content).scripts == ["/static/js/shop.js"]
    add = find_form(product_page, reverse("shop:cart_add"))
    cart_page = browser.post(add.action, add.data(quantity=2), follow=True)
    assert cart_page.redirect_chain == [(reverse("shop:cart"), 302)]
    assert "« Tecno Spark 20 » est dans votre panier." in cart_page.content.decode()
    assert "30\u202f000\u00a0FCFA" in cart_page.content.decode()

    update = find_form(cart_page, reverse("shop:cart_update"))
    cart_page = browser.post(update.action, update.data(**{f"qty-{phone.pk}": 1}), follow=True)
    assert "15\u202f000\u00a0FCFA" in cart_page.content.decode()

    checkout_page = browser.get(reverse("shop:checkout"))
    assert checkout_page.status_code == 200
    details = find_form(checkout_page, reverse("shop:checkout"))
    pay_page = browser.post(
        reverse("shop:checkout"),
        details.data(
            full_name="Ndèye Fàtou Diop",
            email="ndeye@example.sn",
            country="SN",
            phone="77 123 45 67",
            address="Médina, Dakar",
        ),
        follow=True,
    )

    order = Order.objects.get()
    assert pay_page.status_code == 200
    assert pay_page.redirect_chain == [(reverse("payments:pay", args=[order.token]), 302)]
    assert (order.full_name, order.phone, order.total) == (
        "Ndèye Fàtou Diop",
        "+221771234567",
        15000,
    )
    assert Product.objects.get(pk=phone.pk).stock == 4
    assert browser.get(order.get_absolute_url()).status_code == 200
    assert browser.get(reverse("shop:cart")).context["lines"] == []


def test_checkout_errors_come_back_in_the_page_without_javascript():
    product = make_product(stock=5)
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(product.get_absolute_url())
    add = find_form(page, reverse("shop:cart_add"))
    browser.post(add.action, add.data())
    details = find_form(browser.get(reverse("shop:checkout")), reverse("shop:checkout"))

    response = browser.post(
        reverse("shop:checkout"),
        details.data(full_name="Awa", email="pas-un-email", phone="70 12 34 56"),
    )

    assert response.status_code == 400
    again = find_form(response, reverse("shop:checkout"))
    assert dict(again.fields)["full_name"] == "Awa"  # what was typed is kept
    assert (
        "Saisissez une adresse e-mail valide, par exemple awa@exemple.com."
        in response.content.decode()
    )
    assert not Order.objects.exists()


def test_shopper_pages_have_no_inline_script_or_style(client):
    product = make_product()
    for url in [
        reverse("shop:home"),
        reverse("shop:products"),
        product.get_absolute_url(),
        reverse("shop:cart"),
    ]:
        body = client.get(url).content.decode()
        page = parse_page(body)
        assert all(page.scripts), f"inline script on {url}"
        assert "<style" not in body and " style=" not in body, url

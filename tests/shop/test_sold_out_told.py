"""A flash sale's shoppers who miss out are told, plainly, that the item is
sold out (issue 20, item 1), at whichever step the last unit goes: on the
product page, when adding to the cart, on the cart page just after adding,
on the checkout page, and when the checkout is submitted — in French, and in
English when chosen. Each page is also read by the whole-purchase bench's
recognition (``bench.purchase.sold_out_message``), so the bench counts
exactly these messages as "told"."""

from __future__ import annotations

import html
import threading
import time

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from bench import purchase
from shop.models import Order, Product
from tests.support.factories import make_product
from tests.support.shop import add_to_cart, checkout_data, find_form

pytestmark = pytest.mark.django_db
NAME = "Infinix Hot 40"
SAID = {
    "fr": {
        "badge": "Rupture de stock",
        "rupture de stock": f"« {NAME} » est en rupture de stock.",
        "retiré du panier": (
            f"« {NAME} » n'est plus en stock : nous l'avons retiré de votre panier."
        ),
        "added": f"« {NAME} » est dans votre panier.",
    },
    "en": {
        "badge": "Out of stock",
        "rupture de stock": f"“{NAME}” is out of stock.",
        "retiré du panier": f"“{NAME}” is out of stock: we removed it from your cart.",
        "added": f"“{NAME}” is in your cart.",
    },
}
LANGUAGES = pytest.mark.parametrize("language", ["fr", "en"])


def shopper(language: str) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def told(response, kind: str) -> bool:
    """The page says it, and the bench recognises it as that message."""
    page = response.content.decode()
    return purchase.sold_out_message(purchase.shop_messages(page), NAME) == kind


def text(response) -> str:
    return html.unescape(response.content.decode())


@LANGUAGES
def test_a_product_page_with_none_left_says_so_and_offers_no_add_button(language):
    product = make_product(name=NAME, stock=0)

    page = shopper(language).get(product.get_absolute_url())

    assert page.status_code == 200
    assert SAID[language]["badge"] in text(page)
    assert purchase.ADD_FORM not in page.content.decode()
    assert purchase.SOLD_OUT_BADGE.search(page.content.decode())


@LANGUAGES
def test_adding_the_item_once_the_last_unit_went_says_it_is_sold_out(language):
    product = make_product(name=NAME, stock=1)
    client = shopper(language)
    client.get(product.get_absolute_url())  # the page still had the button
    Product.objects.filter(pk=product.pk).update(stock=0)

    refused = add_to_cart(client, product)

    assert refused.status_code == 400
    assert SAID[language]["rupture de stock"] in text(refused)
    assert told(refused, "rupture de stock")


@LANGUAGES
def test_the_last_unit_going_between_the_tap_and_the_cart_page_is_said_once_not_contradicted(
    language,
):
    product = make_product(name=NAME, stock=1)
    client = shopper(language)
    added = add_to_cart(client, product)  # 302 to the cart: "is in your cart" is queued
    assert added.status_code == 302
    Product.objects.filter(pk=product.pk).update(stock=0)  # another shopper's checkout

    cart = client.get(added["Location"])

    assert cart.status_code == 200
    assert SAID[language]["retiré du panier"] in text(cart)
    assert SAID[language]["added"] not in text(cart)  # not "in your cart" and "removed" at once
    assert told(cart, "retiré du panier")
    assert SAID[language]["retiré du panier"] not in text(client.get(reverse("shop:cart")))


def test_other_messages_of_the_cart_page_stay_when_a_line_is_removed():
    gone, kept = make_product(name=NAME, stock=1), make_product(name="Nokia 105", stock=5)
    client = shopper("fr")
    add_to_cart(client, kept)
    client.get(reverse("shop:cart"))  # read: that message is spent
    add_to_cart(client, gone)
    add_to_cart(client, kept)
    Product.objects.filter(pk=gone.pk).update(stock=0)

    cart = text(client.get(reverse("shop:cart")))

    assert "« Nokia 105 » est dans votre panier." in cart
    assert SAID["fr"]["retiré du panier"] in cart
    assert SAID["fr"]["added"] not in cart


@LANGUAGES
def test_the_checkout_page_once_the_last_unit_went_sends_her_to_the_cart_with_why(language):
    product = make_product(name=NAME, stock=1)
    client = shopper(language)
    add_to_cart(client, product)
    client.get(reverse("shop:cart"))
    Product.objects.filter(pk=product.pk).update(stock=0)

    page = client.get(reverse("shop:checkout"), follow=True)

    assert page.redirect_chain == [(reverse("shop:cart"), 302)]
    assert told(page, "retiré du panier")
    assert SAID[language]["retiré du panier"] in text(page)


@LANGUAGES
def test_a_checkout_submitted_after_the_last_unit_went_sends_her_to_the_cart_with_why(language):
    product = make_product(name=NAME, stock=1)
    client = shopper(language)
    add_to_cart(client, product)
    form = find_form(client.get(reverse("shop:checkout")), reverse("shop:checkout"))
    Product.objects.filter(pk=product.pk).update(stock=0)

    page = client.post(reverse("shop:checkout"), form.data(**_details()), follow=True)

    assert page.redirect_chain == [(reverse("shop:cart"), 302)]
    assert told(page, "retiré du panier")
    assert not Order.objects.exists()


def _details() -> dict[str, str]:
    data = checkout_data()
    data.pop("checkout_key")
    return data


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@LANGUAGES
def test_a_checkout_that_loses_the_last_unit_while_placing_the_order_says_it_is_sold_out(
    language,
):
    """The unit is there when the form is checked and gone when the stock is
    taken: another shopper's checkout holds the row, then commits. The form
    comes back (400) with the sold-out message, and no order is placed."""
    product = make_product(name=NAME, stock=1)
    client = shopper(language)
    add_to_cart(client, product)
    form = find_form(client.get(reverse("shop:checkout")), reverse("shop:checkout"))

    other = connections.create_connection("default")  # the other shopper's transaction
    other.set_autocommit(False)
    with other.cursor() as cursor:
        cursor.execute("UPDATE shop_product SET stock = stock - 1 WHERE id = %s", [product.pk])
    answer: dict = {}

    def submit() -> None:
        try:
            answer["page"] = client.post(reverse("shop:checkout"), form.data(**_details()))
        finally:
            connection.close()

    thread = threading.Thread(target=submit)
    thread.start()
    try:
        _wait_for_a_lock_wait()
    finally:
        other.commit()
        other.close()
    thread.join(30)

    page = answer["page"]
    assert page.status_code == 400
    assert told(page, "rupture de stock")
    assert SAID[language]["rupture de stock"] in text(page)
    assert not Order.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 0


def _wait_for_a_lock_wait() -> None:
    """Until a backend of this database waits on a row lock (the checkout's
    conditional UPDATE behind the other transaction); asked from a connection
    of its own in autocommit, so each look is a fresh snapshot."""
    observer = connections.create_connection("default")
    deadline = time.monotonic() + 20
    try:
        with observer.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    return
                time.sleep(0.05)
    finally:
        observer.close()
    raise AssertionError("the checkout never reached the stock update")

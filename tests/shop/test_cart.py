"""The session cart: bad quantities, stock limits, tampered fields, unknown
products and CSRF."""

import html

import pytest
from django.test import Client
from django.urls import reverse

from tests.support.factories import make_product
from tests.support.shop import add_to_cart, cart_of

pytestmark = pytest.mark.django_db


NOT_A_QUANTITY = "Saisissez une quantité entière entre 1 et 99."
REQUIRED = "Ce champ est obligatoire."


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("-1", NOT_A_QUANTITY),
        ("0", NOT_A_QUANTITY),
        ("1.5", NOT_A_QUANTITY),
        ("1e3", NOT_A_QUANTITY),
        ("０１", NOT_A_QUANTITY),
        ("abc", NOT_A_QUANTITY),
        ("99999999999999999999", NOT_A_QUANTITY),
        ("100", NOT_A_QUANTITY),
        ("0x10", NOT_A_QUANTITY),
        ("+1", NOT_A_QUANTITY),
        ("", REQUIRED),
        (" ", REQUIRED),
        ("1\x00", "Le caractère nul n’est pas autorisé."),
    ],
)
def test_bad_quantity_is_refused_with_a_message_and_leaves_the_cart_alone(
    client, quantity, message
):
    product = make_product(stock=200)
    add_to_cart(client, product, 2)

    response = add_to_cart(client, product, quantity)

    assert response.status_code == 400
    assert f'<p class="msg error" role="alert">{message}</p>' in html.unescape(
        response.content.decode()
    )
    assert cart_of(client) == {str(product.pk): 2}


def test_valid_quantity_is_added_to_what_the_cart_already_holds(client):
    product = make_product(stock=10)

    assert add_to_cart(client, product, 2).status_code == 302
    assert add_to_cart(client, product, 3).status_code == 302

    assert cart_of(client) == {str(product.pk): 5}


def test_quantity_beyond_stock_is_refused_not_clamped(client):
    product = make_product(name="Tecno Spark 20", stock=3)

    response = add_to_cart(client, product, 4)

    assert response.status_code == 400
    assert "Il ne reste que 3 « Tecno Spark 20 » en stock." in html.unescape(
        response.content.decode()
    )
    assert cart_of(client) == {}


def test_adding_more_than_stock_to_an_existing_line_is_refused(client):
    product = make_product(name="Itel A70", stock=3)
    add_to_cart(client, product, 2)

    response = add_to_cart(client, product, 2)

    assert response.status_code == 400
    assert "Il ne reste que 3 « Itel A70 » en stock." in html.unescape(response.content.decode())
    assert cart_of(client) == {str(product.pk): 2}


def test_cart_page_sets_a_line_to_the_typed_quantity(client):
    product = make_product(stock=10)
    add_to_cart(client, product, 4)

    response = add_to_cart(client, product, 2, replace="1")

    assert response.status_code == 302
    assert cart_of(client) == {str(product.pk): 2}


def test_out_of_stock_product_cannot_be_added(client):
    product = make_product(name="Nokia 105", stock=0)

    response = add_to_cart(client, product, 1)

    assert response.status_code == 400
    assert "« Nokia 105 » est en rupture de stock." in html.unescape(response.content.decode())
    assert cart_of(client) == {}


def test_price_total_amount_and_currency_fields_on_cart_add_are_ignored(client):
    product = make_product(price=15000, stock=10)

    response = add_to_cart(client, product, 2, price="1", total="1", amount="1", currency="USD")

    assert response.status_code == 302
    assert cart_of(client) == {str(product.pk): 2}
    page = client.get(reverse("shop:cart")).content.decode()
    assert "30\u202f000\u00a0FCFA" in page
    assert "USD" not in page


@pytest.mark.parametrize("product_id", ["999999", "999999999999999999"])
def test_unknown_product_id_gives_404_and_an_unchanged_cart(client, product_id):
    response = client.post(reverse("shop:cart_add"), {"product_id": product_id, "quantity": "1"})

    assert response.status_code == 404
    assert "Ce produit n&#x27;est plus disponible." in response.content.decode()
    assert cart_of(client) == {}


@pytest.mark.parametrize("product_id", ["abc", "", "-1", "1.0", "１", "9" * 40, "1\x00"])
def test_malformed_product_id_is_a_form_error(client, product_id):
    response = client.post(reverse("shop:cart_add"), {"product_id": product_id, "quantity": "1"})

    assert response.status_code == 400
    assert cart_of(client) == {}


def test_inactive_product_cannot_be_added_or_viewed(client):
    product = make_product(is_active=False)

    assert add_to_cart(client, product, 1).status_code == 404
    assert client.get(product.get_absolute_url()).status_code == 404
    assert cart_of(client) == {}


def test_product_withdrawn_from_sale_drops_out_of_the_cart(client):
    kept, withdrawn = make_product(name="Gardé"), make_product(name="Retiré")
    add_to_cart(client, kept, 1)
    add_to_cart(client, withdrawn, 1)
    client.get(reverse("shop:cart"))  # shows and so consumes the "added" notices
    withdrawn.is_active = False
    withdrawn.save()

    response = client.get(reverse("shop:cart"))

    assert response.status_code == 200
    assert [line.product.pk for line in response.context["lines"]] == [kept.pk]
    assert "Retiré" not in response.content.decode()


def test_remove_takes_the_line_out_of_the_cart(client):
    product = make_product()
    add_to_cart(client, product, 1)

    response = client.post(reverse("shop:cart_remove"), {"product_id": product.pk})

    assert response.status_code == 302
    assert cart_of(client) == {}


def test_cart_add_without_csrf_token_is_forbidden(client):
    product = make_product(stock=10)
    browser = Client(enforce_csrf_checks=True)
    browser.get(product.get_absolute_url())  # sets the CSRF cookie, as a real visit would

    refused = browser.post(reverse("shop:cart_add"), {"product_id": product.pk, "quantity": "1"})
    accepted = browser.post(
        reverse("shop:cart_add"),
        {
            "product_id": product.pk,
            "quantity": "1",
            "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
        },
    )

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert cart_of(browser) == {str(product.pk): 1}


def test_cart_page_header_counts_the_items(client):
    first, second = make_product(), make_product()
    add_to_cart(client, first, 2)
    add_to_cart(client, second, 1)

    response = client.get(reverse("shop:cart"))

    page = response.content.decode()
    # The count is seen on the badge and read out with the link's name.
    assert (
        '<span class="badge" aria-hidden="true">3</span><span class="sr">(3 articles)</span>'
        in page
    )

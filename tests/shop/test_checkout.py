"""Checkout form: server-side prices, hostile and international input, phone
numbers, stock at the last moment, double submit and CSRF."""

import html
import unicodedata

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from shop import phones
from shop.models import Order, Product
from tests.support.factories import make_product, restore_session
from tests.support.shop import add_to_cart, cart_of, checkout_data

pytestmark = pytest.mark.django_db


def checkout(client, **overrides):
    return client.post(reverse("shop:checkout"), checkout_data(**overrides))


def page_text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def cart(client):
    """A cart holding two of one product at 15 000 FCFA (stock 10)."""
    product = make_product(name="Infinix Hot 40i", price=15000, stock=10)
    add_to_cart(client, product, 2)
    return product


def test_valid_checkout_places_the_order_reserves_stock_and_empties_the_cart(client, cart):
    response = checkout(client)

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("payments:pay", args=[order.token])
    assert (order.total, order.currency, order.status) == (
        30000,
        "XOF",
        Order.Status.PENDING_PAYMENT,
    )
    assert [(line.product_id, line.unit_price, line.quantity) for line in order.lines.all()] == [
        (cart.pk, 15000, 2)
    ]
    assert Product.objects.get(pk=cart.pk).stock == 8
    assert cart_of(client) == {}


def test_price_total_amount_and_currency_posted_at_checkout_are_ignored(client, cart):
    response = checkout(client, price="1", total="1", amount="1", currency="USD", unit_price="1")

    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.total, order.currency) == (30000, settings.SHOP_CURRENCY)
    assert order.lines.get().unit_price == 15000


def test_order_is_charged_at_the_price_of_checkout_time_not_of_cart_time(client, cart):
    Product.objects.filter(pk=cart.pk).update(price=17500)

    checkout(client)

    assert Order.objects.get().total == 35000


def test_stock_sold_since_the_cart_was_filled_is_settled_in_the_cart_before_the_form(client):
    product = make_product(name="Samsung Galaxy A15", stock=3)
    add_to_cart(client, product, 3)
    Product.objects.filter(pk=product.pk).update(stock=1)

    response = client.post(reverse("shop:checkout"), checkout_data(), follow=True)

    assert response.redirect_chain == [(reverse("shop:cart"), 302)]
    assert "Il ne reste que 1 « Samsung Galaxy A15 » : la quantité a été ajustée." in page_text(
        response
    )
    assert not Order.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 1
    assert cart_of(client) == {str(product.pk): 1}


def test_checkout_with_an_empty_cart_sends_the_shopper_back_to_the_cart(client):
    response = checkout(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("shop:cart")
    assert not Order.objects.exists()


def test_double_submit_of_one_checkout_form_places_one_order(client, cart):
    form_page = client.get(reverse("shop:checkout"))
    key = form_page.context["form"]["checkout_key"].value()
    session_before = dict(client.session.items())

    first = checkout(client, checkout_key=key)
    restore_session(
        client, session_before
    )  # the second click left before the first one's answer: full cart
    second = checkout(client, checkout_key=key)

    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=cart.pk).stock == 8


# --- very long strings ----------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("full_name", "N" * 10_000, "au plus 120 caractères"),
        ("address", "A" * 1_000_000, "au plus 500 caractères"),
        ("email", "a" * 288 + "@example.bf", "au plus 254 caractères"),
        ("note", "n" * 5_000, "au plus 1000 caractères"),
        ("phone", "7" * 500, "au plus 30 caractères"),
    ],
)
def test_overlong_field_is_a_validation_error_not_a_database_error(
    client, cart, field, value, message
):
    response = checkout(client, **{field: value})

    assert response.status_code == 400
    assert message in page_text(response)
    assert not Order.objects.exists()


# --- NUL byte -------------------------------------------------------------
@pytest.mark.parametrize("field", ["full_name", "email", "country", "phone", "address", "note"])
def test_nul_byte_in_a_visible_field_is_a_form_error_never_a_500(client, cart, field):
    response = checkout(client, **{field: checkout_data()[field][:3] + "\x00def"})

    assert response.status_code == 400
    assert 'class="field has-error"' in response.content.decode()
    assert not Order.objects.exists()


def test_nul_byte_in_the_hidden_checkout_key_only_drops_the_key(client, cart):
    """The key is a double-submit guard the shopper cannot see or fix; a
    tampered one is ignored rather than blocking the form forever."""
    response = checkout(client, checkout_key="abcdefghijklmnop\x00qrs")

    assert response.status_code == 302
    assert Order.objects.get().checkout_key is None


# --- names from the whole region ----------------------------------------------
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Élodie Ouédraogo", "Élodie Ouédraogo"),
        ("Ndèye Fàtou", "Ndèye Fàtou"),
        ("فاطمة الزهراء", "فاطمة الزهراء"),
        ("Awa Traoré 🛒", "Awa Traoré 🛒"),
        (unicodedata.normalize("NFD", "Élodie Ouédraogo"), "Élodie Ouédraogo"),
        ("\u202eAwa Diallo", "Awa Diallo"),
        ("Awa\u200b Dia\u200bllo", "Awa Diallo"),
        ("\ufeffAwa \u2066Diallo\u2069", "Awa Diallo"),
    ],
)
def test_names_are_stored_nfc_without_invisible_controls_and_shown_as_typed(
    client, cart, typed, stored
):
    checkout(client, full_name=typed, address=f"{typed}\nQuartier Zogona")

    order = Order.objects.get()
    assert order.full_name == stored
    assert order.address == f"{stored}\nQuartier Zogona"
    page = client.get(order.get_absolute_url())
    assert page.status_code == 200
    assert stored in page.content.decode()
    assert "\u202e" not in page.content.decode()


def test_name_made_only_of_invisible_characters_is_refused(client, cart):
    response = checkout(client, full_name="\u200b\u202e\u200b")

    assert response.status_code == 400
    assert "Indiquez votre nom complet." in page_text(response)


def test_markup_in_name_and_address_is_escaped_on_the_order_page(client, cart):
    checkout(client, full_name="<script>alert(1)</script>", address="<img src=x onerror=alert(1)>")

    body = client.get(Order.objects.get().get_absolute_url()).content.decode()

    assert "<script>alert(1)" not in body
    assert "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# --- phone numbers ----------------------------------------------------------
@pytest.mark.parametrize(
    "typed",
    [
        "+226 70 12 34 56",
        "0022670123456",
        "70-12-34-56",
        "70 12 34 56",
        "７０１２３４５６",
        "+226\u200b70123456",
    ],
)
def test_phone_typed_any_usual_way_is_stored_as_e164(client, cart, typed):
    response = checkout(client, phone=typed, country="BF")

    assert response.status_code == 302
    assert Order.objects.get().phone == "+22670123456"


@pytest.mark.parametrize(
    ("typed", "country", "message"),
    [
        ("70 12 ab 56", "BF", "Le numéro de téléphone ne doit contenir que des chiffres."),
        ("seventy", "BF", "Le numéro de téléphone ne doit contenir que des chiffres."),
        (
            "+225 07 07 12 34 56",
            "BF",
            "Ce numéro semble être un numéro de Côte d'Ivoire : changez le pays ?",
        ),
        ("+33 6 12 34 56 78", "BF", "Nous ne livrons pas ce pays."),
        ("12", "BF", "Numéro de téléphone invalide pour ce pays (par exemple 70 12 34 56)."),
        ("+", "BF", "Numéro de téléphone invalide."),
    ],
)
def test_bad_phone_gets_a_clear_error_before_any_order(client, cart, typed, country, message):
    response = checkout(client, phone=typed, country=country)

    assert response.status_code == 400
    assert message in page_text(response)
    assert not Order.objects.exists()


def test_phone_of_another_served_country_is_accepted_when_that_country_is_chosen():
    assert phones.normalise("07 07 12 34 56", "CI", ["CI"]) == "+2250707123456"


def test_country_outside_the_list_is_refused(client, cart):
    response = checkout(client, country="FR", phone="+33 6 12 34 56 78")

    assert response.status_code == 400
    assert not Order.objects.exists()


# --- CSRF -----------------------------------------------------------------------
def test_checkout_post_without_csrf_token_is_forbidden():
    product = make_product(stock=10)
    browser = Client(enforce_csrf_checks=True)
    browser.get(product.get_absolute_url())
    token = browser.cookies["csrftoken"].value
    browser.post(
        reverse("shop:cart_add"),
        {"product_id": product.pk, "quantity": "1", "csrfmiddlewaretoken": token},
    )

    refused = browser.post(reverse("shop:checkout"), checkout_data())
    assert refused.status_code == 403
    assert not Order.objects.exists()

    accepted = browser.post(reverse("shop:checkout"), checkout_data(csrfmiddlewaretoken=token))
    assert accepted.status_code == 302
    assert Order.objects.count() == 1

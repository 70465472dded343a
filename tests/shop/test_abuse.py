"""A bot cannot freeze the shop (security review 2026-11-29): caps per line and
per order, open unpaid orders per phone, e-mail and session; rate
limits that see each client behind the proxy and each session; a
checkout key that works only in the browser it was issued to; a
listing cache key that cannot be poisoned."""

from __future__ import annotations

import html
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shop.cart import SESSION_KEY
from shop.models import Order, Product
from shop.services import OrderLimit, place_order
from tests.support.factories import customer, make_category, make_order, make_product
from tests.support.shop import add_to_cart, cart_of, checkout_data

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


def checkout(client, **overrides):
    return client.post(reverse("shop:checkout"), checkout_data(**overrides))


def fill_session_cart(client, quantities: dict[int, int]) -> None:
    """A cart as an old session may hold it (filled before a cap existed)."""
    session = client.session
    session[SESSION_KEY] = {str(pid): q for pid, q in quantities.items()}
    session.save()


# --- caps of one order --------------------------------------------------
def test_cart_refuses_more_than_five_units_of_a_product_by_default(client):
    product = make_product(name="Tecno Spark 20", stock=900)

    refused = add_to_cart(client, product, 6)

    assert refused.status_code == 400
    assert "Vous pouvez commander au plus 5 « Tecno Spark 20 » par commande." in text(refused)
    assert cart_of(client) == {}
    assert add_to_cart(client, product, 5).status_code == 302


def test_units_already_in_the_cart_count_toward_the_cap(client):
    product = make_product(stock=900)
    add_to_cart(client, product, 4)

    assert add_to_cart(client, product, 2).status_code == 400
    assert cart_of(client) == {str(product.pk): 4}


def test_a_product_can_have_its_own_cap(client, settings):
    settings.SHOP_MAX_PER_LINE = 5
    rare = make_product(name="Console", stock=50, max_per_order=1)
    bulk = make_product(name="Piles AA", price=500, stock=500, max_per_order=40)

    assert add_to_cart(client, rare, 2).status_code == 400
    assert add_to_cart(client, bulk, 40).status_code == 302
    assert cart_of(client) == {str(bulk.pk): 40}


def test_cart_refuses_a_line_beyond_the_number_of_products_per_order(client, settings):
    settings.SHOP_MAX_ORDER_LINES = 3
    category = make_category()
    products = [make_product(category=category, price=1000) for _ in range(4)]
    for product in products[:3]:
        assert add_to_cart(client, product).status_code == 302

    refused = add_to_cart(client, products[3])

    assert refused.status_code == 400
    assert "Une commande peut contenir au plus 3 produits différents." in text(refused)
    assert len(cart_of(client)) == 3


def test_cart_refuses_an_order_value_beyond_the_cap(client, settings):
    settings.SHOP_MAX_ORDER_VALUE = 100_000
    product = make_product(price=40_000, stock=50)
    assert add_to_cart(client, product, 2).status_code == 302

    refused = add_to_cart(client, product, 1)

    assert refused.status_code == 400
    assert "Une commande ne peut pas dépasser 100\u202f000\u00a0FCFA." in text(refused)
    assert cart_of(client) == {str(product.pk): 2}


def test_checkout_enforces_the_caps_on_a_cart_filled_before_them(client):
    """The review's hoard: one checkout reserving most of the catalogue."""
    products = [make_product(stock=40) for _ in range(3)]
    fill_session_cart(client, {p.pk: 30 for p in products})

    response = checkout(client)

    assert response.status_code == 400
    assert "par commande" in text(response)
    assert not Order.objects.exists()
    assert sorted(
        Product.objects.filter(pk__in=[p.pk for p in products]).values_list("stock", flat=True)
    ) == [40, 40, 40]


def test_place_order_itself_refuses_a_line_beyond_the_cap():
    product = make_product(stock=100)

    with pytest.raises(OrderLimit):
        place_order({product.pk: 6}, customer())

    assert Product.objects.get(pk=product.pk).stock == 100


def test_cap_message_is_in_english_for_an_english_shopper(client):
    product = make_product(name="Itel A70", stock=100)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    refused = add_to_cart(client, product, 9)

    assert "You can order at most 5 “Itel A70” per order." in text(refused)


# --- open unpaid orders per phone, e-mail and session -----------------------
def place_from_new_browser(product, **identity) -> Client:
    browser = Client()
    add_to_cart(browser, product, 1)
    response = checkout(browser, **identity)
    browser.last_response = response
    return browser


def test_a_fourth_open_order_for_one_phone_is_refused_with_a_clear_message():
    product = make_product(stock=50)
    for n in range(3):
        assert (
            place_from_new_browser(
                product, email=f"shopper{n}@example.bf"
            ).last_response.status_code
            == 302
        )

    fourth = place_from_new_browser(product, email="another@example.bf").last_response

    assert fourth.status_code == 400
    assert "Vous avez déjà 3 commandes en attente de paiement." in text(fourth)
    assert Order.objects.count() == 3
    assert Product.objects.get(pk=product.pk).stock == 47


def test_open_orders_are_also_counted_per_email_and_per_session(client):
    product = make_product(stock=50)
    for n in range(3):
        assert (
            place_from_new_browser(product, phone=f"70 12 34 {50 + n}").last_response.status_code
            == 302
        )
    assert place_from_new_browser(product, phone="70 12 34 60").last_response.status_code == 400, (
        "same e-mail"
    )

    for n in range(3):
        add_to_cart(client, product, 1)
        assert (
            checkout(client, email=f"s{n}@example.bf", phone=f"70 12 35 {10 + n}").status_code
            == 302
        )
    add_to_cart(client, product, 1)
    assert checkout(client, email="s9@example.bf", phone="70 12 35 19").status_code == 400, (
        "same browser session"
    )


def test_paid_or_released_orders_do_not_count_as_open():
    product = make_product(stock=50)
    for _ in range(3):
        order = make_order((product, 1))
        Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    released = make_order((product, 1))
    Order.objects.filter(pk=released.pk).update(status=Order.Status.EXPIRED, stock_reserved=False)

    assert place_from_new_browser(product).last_response.status_code == 302


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_for_one_phone_open_at_most_the_limit(settings):
    settings.SHOP_MAX_OPEN_ORDERS = 3
    product = make_product(stock=100)
    barrier = threading.Barrier(10)
    outcomes = [None] * 10

    def run(i):
        try:
            barrier.wait(timeout=10)
            place_order({product.pk: 1}, customer(email=f"bot{i}@example.bf"), session_orders=[])
            outcomes[i] = "ok"
        except OrderLimit:
            outcomes[i] = "limit"
        except Exception as exc:  # reported by the assertion
            outcomes[i] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert Counter(outcomes) == {"ok": 3, "limit": 7}
    assert Product.objects.get(pk=product.pk).stock == 97


def test_an_order_holds_its_stock_until_a_fixed_deadline(settings):
    settings.ORDER_RESERVATION_TTL = 45 * 60
    before = timezone.now()

    order = make_order()

    assert (
        before + timedelta(minutes=45)
        <= order.reserved_until
        <= timezone.now() + timedelta(minutes=45)
    )


# --- rate limits per client behind the proxy, and per session ---------------
def test_one_client_behind_the_proxy_cannot_block_checkout_for_everyone(settings):
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    settings.RATELIMIT_CHECKOUT = "2/m"
    settings.RATELIMIT_CHECKOUT_PER_SESSION = "100/m"
    product = make_product(stock=50)
    bot, victim = (
        Client(REMOTE_ADDR="10.0.0.2"),
        Client(REMOTE_ADDR="10.0.0.2"),
    )  # both reach us through the proxy
    add_to_cart(bot, product)
    add_to_cart(victim, product)

    bot_codes = [
        bot.post(
            reverse("shop:checkout"), {"full_name": ""}, HTTP_X_FORWARDED_FOR="198.51.100.66"
        ).status_code
        for _ in range(3)
    ]
    victim_code = victim.post(
        reverse("shop:checkout"), {"full_name": ""}, HTTP_X_FORWARDED_FOR="203.0.113.7"
    ).status_code

    assert bot_codes == [400, 400, 429]
    assert victim_code == 400, "the victim is not throttled by the bot's requests"


def test_a_forged_forwarded_for_entry_does_not_escape_the_limit(settings):
    """The proxy appends the real address; what the client wrote before it is ignored."""
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    settings.RATELIMIT_CHECKOUT = "2/m"
    settings.RATELIMIT_CHECKOUT_PER_SESSION = "100/m"
    product = make_product(stock=50)
    codes = []
    for n in range(3):
        bot = Client(REMOTE_ADDR="10.0.0.2")
        add_to_cart(bot, product)
        codes.append(
            bot.post(
                reverse("shop:checkout"),
                {"full_name": ""},
                HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.66",
            ).status_code
        )

    assert codes == [400, 400, 429]


def test_checkout_is_also_limited_per_browser_session(client, settings):
    settings.RATELIMIT_CHECKOUT = "100/m"
    settings.RATELIMIT_CHECKOUT_PER_SESSION = "2/m"
    add_to_cart(client, make_product(stock=50))

    codes = [
        client.post(
            reverse("shop:checkout"), {"full_name": ""}, REMOTE_ADDR=f"192.0.2.{n}"
        ).status_code
        for n in range(3)
    ]

    assert codes == [400, 400, 429]


# --- a checkout key only works in the browser it was issued to -------------
def test_a_checkout_key_replayed_from_another_browser_does_not_return_that_order():
    product = make_product(stock=20)
    victim = Client()
    add_to_cart(victim, product, 1)
    key = victim.get(reverse("shop:checkout")).context["form"]["checkout_key"].value()
    placed = victim.post(
        reverse("shop:checkout"),
        checkout_data(full_name="Victim Vee", address="12 rue Secrète", checkout_key=key),
    )
    victim_order = Order.objects.get()
    assert (
        placed["Location"].endswith(victim_order.token + "/")
        or victim_order.token in placed["Location"]
    )

    attacker = Client()
    add_to_cart(attacker, product, 2)
    replay = attacker.post(
        reverse("shop:checkout"),
        checkout_data(
            full_name="Attacker Ann", email="ann@example.bf", phone="70 99 88 77", checkout_key=key
        ),
    )

    assert replay.status_code == 302
    assert victim_order.token not in replay["Location"]
    attacker_order = Order.objects.exclude(pk=victim_order.pk).get()
    assert attacker_order.full_name == "Attacker Ann" and attacker_order.lines.get().quantity == 2
    assert victim_order.token not in attacker.session.get("orders", [])


# --- the listing cache key is the page actually rendered -------------------
def test_a_contrived_page_value_cannot_poison_the_cached_listing(client):
    category = make_category()
    for n in range(30):
        make_product(name=f"Article {n:02d}", category=category)

    contrived = client.get(reverse("shop:products"), {"page": "000000000002x"})
    second = client.get(reverse("shop:products"), {"page": "000000000002"})

    assert contrived.context["page"].number == 1
    assert "Page 2 sur 2" in text(second)

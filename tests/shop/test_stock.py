"""Stock never goes below zero and no update is lost.

The races run on PostgreSQL with real threads, each on its own connection
(``transaction=True``, so every thread sees the others' commits), released
together by a barrier. The staff tests post the real admin change form.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from shop.models import Order, OrderLine, Product
from shop.services import EmptyCart, OutOfStock, StockChangeRefused, adjust_stock, place_order
from tests.support.factories import customer, make_product
from tests.support.shop import find_form

RUNS = 10
SHOPPERS = 20


def race(n: int, work) -> list[tuple[str, object]]:
    """Run ``work(i)`` in ``n`` threads released at once; collect outcomes.

    An outcome is ("ok", result), ("out", OutOfStock) or ("error", exc):
    any other exception, a deadlock (SQLSTATE 40P01) included, is an error.
    """
    barrier = threading.Barrier(n)
    outcomes: list[tuple[str, object]] = [("error", "did not run")] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[i] = ("ok", work(i))
        except OutOfStock as exc:
            outcomes[i] = ("out", exc)
        except Exception as exc:  # reported by the caller's assertion
            outcomes[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a checkout hung (lock wait?)"
    return outcomes


def errors(outcomes) -> list[str]:
    return [
        f"{type(e).__name__}: {e} (sqlstate "
        f"{getattr(getattr(e, '__cause__', None), 'sqlstate', None)})"
        for kind, e in outcomes
        if kind == "error"
    ]


def reserved(product: Product) -> int:
    return sum(OrderLine.objects.filter(product=product).values_list("quantity", flat=True))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_checkouts_of_the_last_item_sell_it_exactly_once():
    for run in range(RUNS):
        product = make_product(stock=1)

        outcomes = race(
            SHOPPERS,
            lambda i, pid=product.pk, run=run: place_order(
                {pid: 1}, customer(email=f"r{run}s{i}@example.bf")
            ),
        )

        kinds = Counter(kind for kind, _ in outcomes)
        assert errors(outcomes) == [], f"run {run}"
        assert kinds == {"ok": 1, "out": SHOPPERS - 1}, f"run {run}"
        assert all(exc.available == 0 for kind, exc in outcomes if kind == "out")
        product.refresh_from_db()
        assert product.stock == 0
        assert Order.objects.filter(lines__product=product).count() == 1
        assert product.stock + reserved(product) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_listing_the_same_products_in_opposite_orders_never_deadlock():
    phone, charger = make_product(stock=SHOPPERS), make_product(stock=SHOPPERS)

    def buy(i):
        lines = [(phone.pk, 1), (charger.pk, 1)]
        return place_order(dict(lines if i % 2 else reversed(lines)), customer())

    outcomes = race(SHOPPERS, buy)

    assert errors(outcomes) == []
    assert Counter(kind for kind, _ in outcomes) == {"ok": SHOPPERS}
    assert Product.objects.filter(pk__in=[phone.pk, charger.pk], stock=0).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_whose_second_line_runs_out_reserve_nothing_of_the_first():
    plenty, last_one = make_product(stock=50), make_product(stock=1)
    assert plenty.pk < last_one.pk  # the short line is the second one taken

    outcomes = race(SHOPPERS, lambda i: place_order({plenty.pk: 2, last_one.pk: 1}, customer()))

    assert errors(outcomes) == []
    assert Counter(kind for kind, _ in outcomes) == {"ok": 1, "out": SHOPPERS - 1}
    plenty.refresh_from_db()
    last_one.refresh_from_db()
    assert (plenty.stock, last_one.stock) == (48, 0)
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_order_whose_second_line_is_short_reserves_nothing():
    first, second = make_product(stock=5), make_product(name="Kit solaire 50 W", stock=1)

    with pytest.raises(OutOfStock) as raised:
        place_order({first.pk: 2, second.pk: 3}, customer())

    assert raised.value.product == second
    assert raised.value.available == 1
    assert "Il ne reste que 1 « Kit solaire 50 W » en stock." == raised.value.message
    assert Product.objects.get(pk=first.pk).stock == 5
    assert Product.objects.get(pk=second.pk).stock == 1
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()


@pytest.mark.django_db
def test_inactive_product_is_never_reserved():
    product = make_product(stock=5, is_active=False)

    with pytest.raises(EmptyCart):
        place_order({product.pk: 1}, customer())

    assert Product.objects.get(pk=product.pk).stock == 5


# --- staff edits against checkouts --------------------------------------------------
def change_url(product: Product) -> str:
    return reverse("admin:shop_product_change", args=[product.pk])


def stale_stock_form(staff: Client, product: Product):
    """The change form as the staff member's browser holds it."""
    page = staff.get(change_url(product))
    assert page.status_code == 200
    return find_form(page, change_url(product))


def stock_field(form) -> str:
    """The name of the visible stock input (the admin may split the widget)."""
    return next(name for name, _ in form.fields if name in {"stock", "stock_0"})


@pytest.mark.django_db
def test_staff_stock_edit_from_a_stale_form_keeps_a_reservation_made_meanwhile(admin_client):
    product = make_product(stock=5)
    form = stale_stock_form(admin_client, product)
    place_order({product.pk: 2}, customer())  # a shopper reserves 2 while the form is open

    response = admin_client.post(
        change_url(product), form.data(**{stock_field(form): 8})
    )  # staff adds 3

    assert response.status_code == 302
    assert Product.objects.get(pk=product.pk).stock == 6  # 5 - 2 + 3


@pytest.mark.django_db
def test_staff_edit_of_another_field_from_a_stale_form_leaves_stock_alone(admin_client):
    product = make_product(stock=5, price=15000)
    form = stale_stock_form(admin_client, product)
    place_order({product.pk: 2}, customer())

    response = admin_client.post(change_url(product), form.data(price=16000))

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.price, product.stock) == (16000, 3)


@pytest.mark.django_db
def test_staff_stock_decrease_that_would_go_below_zero_is_refused_with_a_message(admin_client):
    product = make_product(name="Itel A70", stock=5)
    form = stale_stock_form(admin_client, product)
    place_order({product.pk: 3}, customer())  # 2 left

    response = admin_client.post(
        change_url(product), form.data(**{stock_field(form): 1}), follow=True
    )  # staff removes 4

    assert Product.objects.get(pk=product.pk).stock == 2
    assert "Stock de « Itel A70 » non modifié" in response.content.decode()


@pytest.mark.django_db
def test_staff_stock_edit_from_a_fresh_form_sets_the_typed_number(admin_client):
    product = make_product(stock=5)
    form = stale_stock_form(admin_client, product)

    admin_client.post(change_url(product), form.data(**{stock_field(form): 0}))

    assert Product.objects.get(pk=product.pk).stock == 0


@pytest.mark.django_db
def test_staff_stock_edit_in_the_product_list_keeps_a_reservation_made_meanwhile(admin_client):
    product = make_product(stock=5)
    page = admin_client.get(reverse("admin:shop_product_changelist"))
    form = find_form(page, reverse("admin:shop_product_changelist"))
    place_order({product.pk: 2}, customer())

    data = form.data()
    field = next(name for name in data if name.startswith("form-0-stock"))
    data[field] = "8"
    data["_save"] = "Enregistrer"
    response = admin_client.post(reverse("admin:shop_product_changelist"), data)

    assert response.status_code == 302
    assert Product.objects.get(pk=product.pk).stock == 6


@pytest.mark.django_db
def test_adjust_stock_never_goes_below_zero():
    product = make_product(stock=2)

    with pytest.raises(StockChangeRefused):
        adjust_stock(product.pk, -3)

    assert adjust_stock(product.pk, -2) == 0
    assert adjust_stock(product.pk, 4) == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_staff_restock_racing_ten_checkouts_loses_no_update(admin_user):
    product = make_product(stock=10)
    staff = Client()
    staff.force_login(admin_user)
    form = stale_stock_form(staff, product)

    def work(i):
        if i == 0:
            return staff.post(
                change_url(product), form.data(**{stock_field(form): 15})
            ).status_code  # +5
        return place_order({product.pk: 1}, customer())

    outcomes = race(11, work)

    assert errors(outcomes) == []
    assert outcomes[0] == ("ok", 302)
    product.refresh_from_db()
    assert product.stock == 10 - 10 + 5
    assert product.stock + reserved(product) == 15

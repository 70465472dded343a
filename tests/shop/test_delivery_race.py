"""PostgreSQL, real threads (issue 16): 20 shoppers place pay-on-delivery
orders at once for the last 5 units: 5 orders "à confirmer", 15 told the
stock ran out, nothing oversold, no deadlock."""

from __future__ import annotations

import itertools
import threading

import pytest

from shop import delivery, services
from shop.models import Order, Product
from tests.support.delivery import make_areas
from tests.support.factories import at_once, customer, make_product

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_pay_on_delivery_checkouts_for_the_last_five_units_oversell_nothing(settings):
    settings.SHOP_NOTIFY_BACKEND = "shop.notify.LogBackend"
    areas = make_areas()
    product = make_product(price=15000, stock=5)
    choice = delivery.choose(
        delivery.table(), areas.secteur30.pk, "BF", f"home:{areas.home_ouaga.pk}", True, ""
    )
    numbers = itertools.count(10)
    lock = threading.Lock()

    def checkout():
        with lock:
            n = next(numbers)
        shopper = customer(phone=f"+226701234{n:02d}", email=f"client{n}@example.bf")
        order = services.place_order({product.pk: 1}, shopper, delivery=choice, session_orders=[])
        return order.status

    outcomes = at_once(checkout, times=20, refused=(services.OutOfStock, services.OrderLimit))

    assert outcomes.count(Order.Status.TO_CONFIRM) == 5
    assert sum("rupture de stock" in str(o) for o in outcomes) == 15
    assert Product.objects.get(pk=product.pk).stock == 0
    assert Order.objects.filter(status=Order.Status.TO_CONFIRM, stock_reserved=True).count() == 5
    assert all(o.total == 16500 for o in Order.objects.all())

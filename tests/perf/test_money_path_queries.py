"""Query budgets of the money path's requests (issue 20, item 5): the payment
start, counted as ``assertNumQueries`` counts them
(statements plus BEGIN/COMMIT). The provider is ``responses`` at Ligdicash's
HTTP boundary."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from payments.models import Payment, PaymentEvent
from tests.support.factories import hold, make_order, make_product
from tests.support.kits.ligdicash import LigdicashKit

pytestmark = pytest.mark.django_db(transaction=True)

KIT = LigdicashKit()
TX = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def split(captured) -> tuple[int, int]:
    """(statements, transaction controls)."""
    sql = [q["sql"].lstrip().upper() for q in captured]
    tx = sum(s.startswith(TX) for s in sql)
    return len(sql) - tx, tx


def test_payment_start_budget(client, rsps):
    """The order, its open attempt, the attempt created under the order's lock
    with its journal row, the lines for the provider, the exchange journal,
    the answer kept under the order's lock with its decision: 11 statements,
    two transactions and the exchange's INSERT in autocommit (plus the
    session's read)."""
    KIT.mock_initiate_ok(rsps)
    warm = make_order((make_product(), 1))
    hold(client, warm)
    client.post(reverse("payments:pay", args=[warm.token]), {"choice": "ligdicash:hosted"})
    order = make_order((make_product(), 1))
    hold(client, order)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            reverse("payments:pay", args=[order.token]), {"choice": "ligdicash:hosted"}
        )
    assert response.status_code == 302
    payment = Payment.objects.get(order=order)
    assert payment.events.filter(kind=PaymentEvent.Kind.DECISION, message="initiated").exists()
    shop = [q for q in captured if "django_session" not in q["sql"]]
    statements, tx = split(shop)
    assert statements <= 11 and tx <= 4, [q["sql"][:70] for q in captured]


def test_checkout_submit_budget(client):
    """A 5-line cart placed: its products read once (the cart's lines, reused
    by ``place_order``), the open-orders limit (two advisory locks and a
    count), the products locked in id order then one reserving UPDATE for
    every line, the order and its lines: 8 statements in one transaction
    (plus the session's read and write)."""
    from shop.models import Order, Product
    from tests.support.shop import add_to_cart, checkout_data

    for _ in range(5):
        add_to_cart(client, make_product(stock=50))
    client.get(reverse("shop:cart"))  # the delivery table cached, as in a running shop
    with CaptureQueriesContext(connection) as captured:
        response = client.post(reverse("shop:checkout"), checkout_data())
    assert response.status_code == 302, response.content[:500]
    assert Order.objects.get().lines.count() == 5
    shop = [q for q in captured if "django_session" not in q["sql"]]
    statements, tx = split(shop)
    assert statements <= 8 and tx <= 4, [q["sql"][:70] for q in captured]
    reads = [q["sql"] for q in captured if q["sql"].startswith('SELECT "shop_product"')]
    assert len([sql for sql in reads if "FOR UPDATE" not in sql]) == 1, "products read once"
    updates = [q["sql"] for q in captured if q["sql"].startswith('UPDATE "shop_product"')]
    assert len(updates) == 1, "one UPDATE takes the stock of every line"
    assert all(p.stock == 49 for p in Product.objects.all())

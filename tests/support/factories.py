"""Small factory functions for test data (no fixture files)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.utils import timezone

from payments.models import Payment
from shop.models import Category, Order, Product
from shop.services import Customer, place_order

_seq = itertools.count(1)
# Stock each product was created with, for the allocation invariant.
INITIAL_STOCK: dict[int, int] = {}


def make_category(name: str | None = None) -> Category:
    n = next(_seq)
    name = name or f"Catégorie {n}"
    return Category.objects.create(name=name, slug=f"cat-{n}")


def make_product(
    name: str | None = None,
    price: int = 15000,
    stock: int = 10,
    category: Category | None = None,
    **extra,
) -> Product:
    n = next(_seq)
    product = Product.objects.create(
        category=category or make_category(),
        name=name or f"Produit {n}",
        slug=f"produit-{n}",
        description=extra.pop("description", "Un bon produit."),
        price=price,
        stock=stock,
        **extra,
    )
    INITIAL_STOCK[product.pk] = stock
    return product


def assert_stock_invariant() -> None:
    """Stock now + stock held by orders that still reserve it = stock at creation,
    for every product a test made: nothing allocated is ever lost."""
    from django.db.models import Sum

    from shop.models import OrderLine

    for pk, initial in INITIAL_STOCK.items():
        current = Product.objects.filter(pk=pk).values_list("stock", flat=True).first()
        if current is None:
            continue
        held = (
            OrderLine.objects.filter(product_id=pk, order__stock_reserved=True).aggregate(
                n=Sum("quantity")
            )["n"]
            or 0
        )
        assert current + held == initial, (
            f"product {pk}: {current} in stock + {held} reserved != {initial}"
        )
    INITIAL_STOCK.clear()


def customer(**overrides) -> Customer:
    data = {
        "full_name": "Élodie Ouédraogo",
        "email": "elodie@example.bf",
        "phone": "+22670123456",
        "country": "BF",
    }
    data.update(overrides)
    return Customer(**data)


def make_order(*lines: tuple[Product, int], **overrides) -> Order:
    """An order placed through the real service (stock reserved)."""
    if not lines:
        lines = ((make_product(), 1),)
    return place_order({p.pk: q for p, q in lines}, customer(**overrides))


def make_payment(
    order: Order | None = None,
    provider: str = "ligdicash",
    method: str = "hosted",
    provider_reference: str = "tok-123",
    **extra,
) -> Payment:
    """A pending attempt as start_payment leaves it after a successful initiation."""
    order = order or make_order()
    now = timezone.now()
    values = {
        "order": order,
        "provider": provider,
        "method": method,
        "amount": order.total,
        "currency": order.currency,
        "provider_reference": provider_reference,
        "deadline": now + timedelta(minutes=30),
        "next_check_at": now + timedelta(seconds=5),
    }
    values.update(extra)
    return Payment.objects.create(**values)


def hold(client, *orders: Order) -> None:
    """Put orders in the test client's session, as checkout does.

    Works whatever the session engine: the cookie is (re)set to the saved
    session's key (a new key for signed cookies, the same row for database
    sessions).
    """
    from django.conf import settings

    session = client.session
    session["orders"] = [o.token for o in orders]
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key


def restore_session(client, data: dict) -> None:
    """Put back a copy of the client's session data, as a second request that
    started before the first one answered still sees it (double submit)."""
    from django.conf import settings

    session = client.session
    for key in list(session.keys()):
        del session[key]
    session.update(data)
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key


def wait_for(predicate, timeout: float = 45.0, every: float = 0.25):
    """Poll ``predicate`` until it returns something truthy (no blind sleeps)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not reached in time")


def at_once(action, times: int = 2, refused: type[Exception] | tuple = ()) -> list:
    """Run ``action()`` in ``times`` threads released together (PostgreSQL
    races); returns each result, or the message of a ``refused`` exception.
    Each thread closes its own database connection."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(times)
    outcomes: list = []

    def run():
        try:
            barrier.wait()
            outcomes.append(action())
        except refused as exc:
            outcomes.append(getattr(exc, "message", str(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes

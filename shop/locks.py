"""The lock order of the whole shop, in one place.

Every money path locks the **order row first**, then the one row it changes
(a payment, a refund), each ``SELECT … FOR UPDATE OF self`` inside the
caller's ``atomic()``; batches lock their rows in primary-key order. Two
paths therefore never wait on each other in opposite orders, and no lock is
ever held during a provider call or an e-mail. (Saleor's
``checkout/lock_objects.py`` is the anchor: ``order_by("pk")`` +
``select_for_update(of=("self",))``.)

This module is the only code that calls ``select_for_update`` in ``shop``,
``payments`` and ``backoffice`` (a test reads the sources to keep it so).
The other apps' rows are passed in as models, so ``shop`` imports nothing
from them.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models

from .models import Order, Product

M = TypeVar("M", bound=models.Model)


def lock_order(order_id: int) -> Order:
    """The order row, locked."""
    return Order.objects.select_for_update(of=("self",)).get(pk=order_id)


def hold_order(order_id: int) -> None:
    """The order row locked, nothing read: for a caller that then changes one
    of the order's rows with a conditional ``UPDATE`` only (that row's lock
    is taken second, by the ``UPDATE``, so the lock order holds)."""
    list(Order.objects.select_for_update(of=("self",)).filter(pk=order_id).values_list("pk"))


def lock_products(ids: list[int]) -> None:
    """Product rows locked in primary-key order (a checkout taking the stock
    of several lines with one ``UPDATE``)."""
    list(
        Product.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def try_lock_order(order_id: int) -> Order | None:
    """The order row locked, or None when another transaction holds it
    (the sweep skips it and comes back later)."""
    return (
        Order.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk=order_id).first()
    )


def lock_order_and(model: type[M], pk: int) -> tuple[Order, M]:
    """An order's row, then one of its rows (``model`` has an ``order``
    foreign key): a payment, a refund."""
    order_id = model._default_manager.values_list("order_id", flat=True).get(pk=pk)
    order = lock_order(order_id)
    return order, model._default_manager.select_for_update(of=("self",)).get(pk=pk)


def lock_child(model: type[M], pk: int) -> M:
    """A payment or refund row whose order the caller already holds locked."""
    return model._default_manager.select_for_update(of=("self",)).get(pk=pk)


def lock_batch(queryset: models.QuerySet, limit: int) -> list[int]:
    """Lock up to ``limit`` rows of ``queryset`` in primary-key order,
    skipping rows another transaction holds; returns their ids. Used by
    sweeps, which lease the rows before committing (``skip_locked``: two
    sweeps at once each take different rows)."""
    return list(
        queryset.order_by("pk")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", flat=True)[:limit]
    )

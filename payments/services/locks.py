"""The payment side of the shop's one lock order (``shop.locks``): the order
row, then the payment row, both inside the caller's ``atomic()``. Every path
that changes a payment takes them through ``lock()``, so two paths never
deadlock; no lock is ever held during a provider call."""

from __future__ import annotations

from shop.locks import lock_batch, lock_order_and
from shop.models import Order

from ..models import Payment

__all__ = ["lock", "lock_batch"]


def lock(payment_id: int) -> tuple[Order, Payment]:
    return lock_order_and(Payment, payment_id)

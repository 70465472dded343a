"""The lock order, in one place: the order row, then the payment row, both
``select_for_update`` inside the caller's ``atomic()``. Every path that
changes a payment takes them through ``lock()``, so two paths never
deadlock; no lock is ever held during a provider call."""

from __future__ import annotations

from shop.models import Order

from ..models import Payment


def lock(payment_id: int) -> tuple[Order, Payment]:
    order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
    order = Order.objects.select_for_update().get(pk=order_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    return order, payment

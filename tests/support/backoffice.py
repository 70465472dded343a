"""Factories for staff tests: paid orders with a succeeded payment."""

from django.utils import timezone

from payments.models import PaymentStatus
from shop.models import Order
from tests.support.factories import make_order, make_payment, make_product


def paid_order(
    provider: str = "ligdicash", price: int = 15000, provider_reference: str = "tok-123", **extra
):
    order = make_order((make_product(price=price), 1))
    payment = make_payment(
        order,
        provider=provider,
        provider_reference=provider_reference,
        status=PaymentStatus.SUCCEEDED,
        finalised_at=timezone.now(),
        **extra,
    )
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=timezone.now())
    order.refresh_from_db()
    return order, payment

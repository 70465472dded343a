"""The delivery fee is money like the goods (issue 16): a payment asks for
goods + fee, a refund may give the fee back, and a pay-on-delivery order
paid online is paid once and needs no cash."""

from __future__ import annotations

import pytest

from backoffice import deliveries, refunds
from shop import delivery, services
from shop.models import Order
from tests.support.backoffice import succeed
from tests.support.delivery import make_areas
from tests.support.factories import customer, make_payment, make_product

pytestmark = pytest.mark.django_db
S = Order.Status


@pytest.fixture(autouse=True)
def log_notices(settings):
    settings.SHOP_NOTIFY_BACKEND = "shop.notify.LogBackend"


def order_with_fee(cod: bool = False) -> Order:
    areas = make_areas()
    choice = delivery.choose(
        delivery.table(), areas.secteur30.pk, "BF", f"home:{areas.home_ouaga.pk}", cod, ""
    )
    product = make_product(price=15000, stock=5)
    return services.place_order({product.pk: 1}, customer(), delivery=choice)


def test_a_refund_may_include_the_delivery_fee():
    order = order_with_fee()
    payment = succeed(make_payment(order, provider="lygos", provider_reference="lg-fee"))
    assert (payment.amount, payment.received_amount) == (16500, 16500)
    assert refunds.refundable(payment).left == 16500
    refunds.record_outside_refund(payment.pk, 15000, "Orange Money", "OM-1", "article rendu")
    refunds.record_outside_refund(payment.pk, 1500, "Orange Money", "OM-2", "frais de livraison")
    with pytest.raises(refunds.RefundRefused):
        refunds.record_outside_refund(payment.pk, 1, "Orange Money", "OM-3", "")
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED


def test_a_pay_on_delivery_order_paid_online_is_paid_and_needs_no_cash(django_user_model):
    order = order_with_fee(cod=True)
    assert order.status == S.TO_CONFIRM and order.is_payable
    succeed(make_payment(order, provider="lygos", provider_reference="lg-cod"))
    order.refresh_from_db()
    assert (order.status, order.amount_to_collect) == (S.PAID, 0)
    assert order.events.filter(from_status=S.TO_CONFIRM, to_status=S.PAID, actor="payment").exists()
    staff = django_user_model.objects.create_user("livreur", is_staff=True)
    with pytest.raises(deliveries.StepRefused, match="Rien à encaisser"):
        deliveries.record_collection(order.pk, str(order.total), "cash", staff)

"""When every mobile-money route is down, the pay page offers pay on delivery
(where the order's delivery option takes it) instead of a dead end; the
switch is the checkout's pay-on-delivery order, through the one setter."""

from __future__ import annotations

import html

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from payments.models import PaymentStatus
from payments.offers import routes_in
from shop import delivery, notify, services
from shop.locks import lock_order
from shop.models import Order, OrderEvent
from tests.support.delivery import make_areas
from tests.support.factories import customer, hold, make_payment, make_product
from tests.support.routes import set_state

pytestmark = pytest.mark.django_db

SWITCH_TEXT = "Ou payez à la livraison"


@pytest.fixture
def areas():
    return make_areas()


@pytest.fixture(autouse=True)
def _log_notices(settings):
    settings.SHOP_NOTIFY_BACKEND = "shop.notify.LogBackend"
    notify.LogBackend.sent.clear()
    yield notify.LogBackend.sent


def place(areas, option, price=20000, stock=5):
    product = make_product(price=price, stock=stock)
    table = delivery.table()
    area = areas.secteur15 if option == areas.home_s15 else areas.secteur30
    choice = delivery.choose(table, area.pk, "BF", f"{option.kind}:{option.pk}", False, "marché")
    order = services.place_order(
        {product.pk: 1}, customer(country="BF", phone="+22670123456"), delivery=choice
    )
    return order, product


def every_route_down(order: Order) -> None:
    for offer in routes_in(order.currency, order.total, order.country):
        set_state(offer.route, "down", rate=0.0)


def pay_page(client, order) -> str:
    hold(client, order)
    response = client.get(reverse("payments:pay", args=[order.token]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def switch(client, order):
    return client.post(reverse("shop:switch_to_pay_on_delivery", args=[order.token]))


def test_every_route_down_offers_pay_on_delivery_and_the_switch_waits_for_staffs_call(
    client, areas, _log_notices, django_capture_on_commit_callbacks
):
    order, product = place(areas, areas.home_ouaga)  # takes pay on delivery up to 300 000
    every_route_down(order)

    body = pay_page(client, order)
    assert 'id="all-down"' in body and SWITCH_TEXT in body
    assert "Payer à la livraison 21 500" in body.replace("\u202f", " ").replace("\xa0", " ")

    with django_capture_on_commit_callbacks(execute=True):
        answer = switch(client, order)
    assert answer.status_code == 302 and answer.url == order.get_absolute_url()
    order.refresh_from_db()
    assert order.status == Order.Status.TO_CONFIRM and order.pay_on_delivery
    assert order.total == 21500 and order.stock_reserved
    assert order.reserved_until > timezone.now() + timezone.timedelta(hours=47)
    event = OrderEvent.objects.filter(order=order).latest("id")
    assert (event.from_status, event.to_status, event.actor) == (
        Order.Status.PENDING_PAYMENT,
        Order.Status.TO_CONFIRM,
        OrderEvent.Actor.SHOPPER,
    )
    assert _log_notices == [(order.pk, "placed")]
    page = html.unescape(client.get(answer.url).content.decode())
    assert "vous payez à la livraison" in page
    product.refresh_from_db()
    assert product.stock == 4, "the unit stays held, once"


def test_routes_up_no_offer_but_a_forged_post_is_still_only_a_legitimate_choice(client, areas):
    order, _ = place(areas, areas.home_ouaga)
    assert SWITCH_TEXT not in pay_page(client, order)
    # The checkout offers this option with pay on delivery anyway: the switch is allowed.
    assert switch(client, order).status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.TO_CONFIRM


def test_an_option_without_pay_on_delivery_is_not_offered_and_refused_with_its_reason(
    client, areas
):
    order, _ = place(areas, areas.home_s15)  # no pay on delivery
    every_route_down(order)
    assert SWITCH_TEXT not in pay_page(client, order)

    answer = switch(client, order)
    assert answer.status_code == 302 and answer.url == reverse("payments:pay", args=[order.token])
    page = html.unescape(client.get(answer.url).content.decode())
    assert "Le paiement à la livraison n'est pas proposé pour cette option." in page
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT and not order.pay_on_delivery


def test_above_the_options_cap_it_is_refused_with_the_cap(client, areas):
    order, _ = place(areas, areas.home_ouaga, price=350_000)
    every_route_down(order)
    assert SWITCH_TEXT not in pay_page(client, order)
    answer = switch(client, order)
    page = html.unescape(client.get(answer.url).content.decode())
    assert "Le paiement à la livraison est possible jusqu'à 300" in page
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT


def test_refused_while_an_attempt_may_still_reach_the_phone(client, areas):
    order, _ = place(areas, areas.home_ouaga)
    make_payment(order=order, provider="ligdicash", status=PaymentStatus.PENDING)
    hold(client, order)
    answer = switch(client, order)
    assert answer.status_code == 302
    page = html.unescape(client.get(reverse("shop:order", args=[order.token])).content.decode())
    assert "Un paiement est encore en cours pour cette commande" in page
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT and not order.pay_on_delivery


def test_a_paid_order_is_not_switched(client, areas):
    order, _ = place(areas, areas.home_ouaga)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=timezone.now())
    answer = switch(client, order)
    assert answer.status_code == 302 and answer.url == order.get_absolute_url()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and not order.pay_on_delivery


def test_stock_given_back_is_held_again_or_the_shopper_is_told_it_is_gone(client, areas):
    order, product = place(areas, areas.home_ouaga, stock=1)
    with transaction.atomic():
        services.release_stock(lock_order(order.pk))
    product.refresh_from_db()
    assert product.stock == 1
    product.stock = 0
    product.save()
    answer = switch(client, order)
    page = html.unescape(client.get(answer.url).content.decode())
    assert "rupture de stock" in page or "plus en stock" in page, page[:2000]
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT and not order.pay_on_delivery


def test_get_and_unknown_tokens_are_refused_not_a_500(client, areas):
    order, _ = place(areas, areas.home_ouaga)
    url = reverse("shop:switch_to_pay_on_delivery", args=[order.token])
    assert client.get(url).status_code == 405
    assert client.post(url.replace(order.token, "x" * 43)).status_code == 404

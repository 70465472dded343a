"""Staff delivery pages (issue 16): the "À confirmer" queue with WhatsApp and
tel: links, confirm, cash at the door, the packing slip, filters by area and
option, and cash in reconciliation and the dashboard."""

from __future__ import annotations

import html
from urllib.parse import unquote

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from backoffice.dashboard import numbers
from shop import delivery, services
from shop.models import Order
from tests.support.delivery import make_areas
from tests.support.factories import customer, make_product

pytestmark = pytest.mark.django_db
S = Order.Status


@pytest.fixture(autouse=True)
def log_notices(settings):
    settings.SHOP_NOTIFY_BACKEND = "shop.notify.LogBackend"


@pytest.fixture
def areas():
    return make_areas()


@pytest.fixture
def cashier(client, django_user_model):
    user = django_user_model.objects.create_user("awa", is_staff=True)
    user.groups.add(Group.objects.get(name="Caisse"))
    client.force_login(user)
    return user


def cod_order(areas, area=None, option=None, point=None, price=15000, **who) -> Order:
    area = area or areas.secteur30
    option = option or areas.home_ouaga
    value = f"{option.kind}:{option.pk}" + (f":{point.pk}" if point else "")
    choice = delivery.choose(delivery.table(), area.pk, area.country, value, True, "portail bleu")
    product = make_product(price=price, stock=5)
    return services.place_order({product.pk: 1}, customer(**who), delivery=choice)


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_queue_shows_whatsapp_and_tel_links(client, areas, cashier):
    order = cod_order(areas)
    page = text(client.get(reverse("backoffice:deliveries", args=["a-confirmer"])))
    assert order.number in page
    assert 'href="tel:+22670123456"' in page
    link = next(
        part for part in page.split('"') if part.startswith("https://wa.me/22670123456?text=")
    )
    message = unquote(link.split("text=", 1)[1])
    assert order.number in message and "16\u202f500\u00a0FCFA" in message
    assert "Bonjour" in message and "Répondez OUI" in message


def test_confirm_then_collect_from_the_pages(client, areas, cashier):
    order = cod_order(areas)
    url = reverse("backoffice:delivery_step", args=[order.pk, "confirm"])
    assert client.post(url, {"back": "a-confirmer"}).status_code == 302
    assert Order.objects.get(pk=order.pk).status == S.CONFIRMED
    page = text(client.get(reverse("backoffice:deliveries", args=["a-expedier"])))
    assert order.number in page and "Encaissé et remis" in page

    collect = reverse("backoffice:collect", args=[order.pk])
    refused = client.post(
        collect, {"amount": "16 500,00", "method": "cash", "back": "a-expedier"}, follow=True
    )
    assert "Saisissez le montant encaissé en chiffres" in text(refused)
    short = client.post(
        collect, {"amount": "10000", "method": "cash", "back": "a-expedier"}, follow=True
    )
    assert "n'est pas celui de la commande" in text(short)
    assert Order.objects.get(pk=order.pk).paid_at is None

    done = client.post(
        collect, {"amount": "16500", "method": "mobile_money", "back": "a-expedier"}, follow=True
    )
    assert "paiement à la livraison enregistré" in text(done)
    order.refresh_from_db()
    assert order.status == S.DELIVERED and order.paid_at
    assert order.collections.get().collected_by == cashier

    recon = text(client.get(reverse("backoffice:reconciliation")))
    assert order.number in recon and "cash" in recon and "16500 XOF" in recon
    assert numbers()["cash"]["last_30"] == 16500


def test_a_user_without_change_permission_cannot_confirm(client, areas, django_user_model):
    order = cod_order(areas)
    user = django_user_model.objects.create_user("catalogue", is_staff=True)
    user.groups.add(Group.objects.get(name="Catalogue"))
    client.force_login(user)
    url = reverse("backoffice:delivery_step", args=[order.pk, "confirm"])
    assert client.post(url).status_code == 403
    assert client.get(reverse("backoffice:deliveries", args=["a-confirmer"])).status_code == 403
    assert Order.objects.get(pk=order.pk).status == S.TO_CONFIRM


def test_unknown_steps_and_lists_are_404(client, areas, cashier):
    order = cod_order(areas)
    assert (
        client.post(reverse("backoffice:delivery_step", args=[order.pk, "pay"])).status_code == 404
    )
    assert client.get(reverse("backoffice:deliveries", args=["tout"])).status_code == 404


def test_lists_filter_by_area_and_mode(client, areas, cashier):
    ouaga = cod_order(areas)
    dakar = cod_order(
        areas,
        area=areas.plateau,
        option=areas.pickup_dakar,
        point=areas.point_dakar,
        phone="+221771234567",
        country="SN",
        email="fatou@example.sn",
    )
    url = reverse("backoffice:deliveries", args=["a-confirmer"])
    by_city = text(client.get(url, {"zone": areas.ouaga.pk}))
    assert ouaga.number in by_city and dakar.number not in by_city
    by_mode = text(client.get(url, {"mode": "pickup"}))
    assert dakar.number in by_mode and ouaga.number not in by_mode
    by_option = text(client.get(url, {"option": areas.pickup_dakar.pk}))
    assert dakar.number in by_option and ouaga.number not in by_option


def test_packing_slip_says_where_to_go_and_what_to_collect(client, areas, cashier):
    order = cod_order(areas)
    page = text(client.get(reverse("backoffice:packing_slip", args=[order.pk])))
    assert "Repère : portail bleu" in page and "Secteur 30, Ouagadougou" in page
    assert "À encaisser : <strong>16\u202f500\u00a0FCFA</strong>" in page
    assert "70 12 34 56" in page
    assert "<style" not in page and "<script" not in page


@pytest.mark.parametrize(
    "params",
    [
        {"zone": "9" * 30},
        {"option": "9" * 30},
        {"mode": "<script>"},
        {"zone": "abc", "option": "-1"},
        {"zone": "1\x00"},
    ],
)
def test_hostile_filters_are_ignored_not_a_500(client, areas, cashier, params):
    order = cod_order(areas)
    response = client.get(reverse("backoffice:deliveries", args=["a-confirmer"]), params)
    assert response.status_code == 200
    assert order.number in text(response) or "option" in params


def test_the_shopper_sees_the_pay_on_delivery_path(client, areas, cashier):
    from backoffice.selectors import public_history

    order = cod_order(areas)
    client.post(reverse("backoffice:delivery_step", args=[order.pk, "confirm"]))
    client.post(
        reverse("backoffice:collect", args=[order.pk]), {"amount": "16500", "method": "cash"}
    )
    assert public_history(order) == [
        "À confirmer",
        "Confirmée, paiement à la livraison",
        "Payée",
        "Livrée",
    ]


def test_a_shipped_order_paid_online_meanwhile_stays_en_route_until_delivered(
    client, areas, cashier
):
    from tests.support.backoffice import succeed
    from tests.support.factories import make_payment

    order = cod_order(areas)
    for step in ("confirm", "ship"):
        client.post(reverse("backoffice:delivery_step", args=[order.pk, step]))
    succeed(make_payment(order, provider="lygos", provider_reference="lg-road"))
    page = text(client.get(reverse("backoffice:deliveries", args=["en-route"])))
    assert order.number in page and "Livrée" in page and "Encaissé et remis" not in page
    client.post(reverse("backoffice:delivery_step", args=[order.pk, "deliver"]))
    order.refresh_from_db()
    assert (order.status, order.amount_to_collect) == (S.DELIVERED, 0)

"""Delivery at checkout, on the order and for staff (issue 16): the fee is
part of the money, bad choices get a French message, pay on delivery holds
its stock longer, is confirmed, cancelled or paid at the door, and expires."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from backoffice import deliveries
from payments.services.sweep import expire_stale_orders
from shop import delivery, notify, services
from shop.models import CashCollection, DeliveryKind, Order, OrderEvent, Product
from tests.support.delivery import make_areas
from tests.support.factories import customer, make_order, make_product
from tests.support.shop import add_to_cart, checkout_data

pytestmark = pytest.mark.django_db
S = Order.Status


@pytest.fixture(autouse=True)
def log_notices(settings):
    settings.SHOP_NOTIFY_BACKEND = "shop.notify.LogBackend"
    notify.LogBackend.sent.clear()
    yield notify.LogBackend.sent


@pytest.fixture
def areas():
    return make_areas()


@pytest.fixture
def staff():
    return get_user_model().objects.create_user("caisse", password="x", is_staff=True)


def text(response) -> str:
    return html.unescape(response.content.decode())


def choose_area(client, area, city=None, next_url="/commande/"):
    """The three-step picker as a shopper without JavaScript posts it."""
    city = city or (area if area.level == "city" else area.parent)
    data = {"country": area.country, "city": city.pk, "next": next_url}
    if area.level == "district":
        data |= {"district": area.pk, "shown_for": city.pk}
    return client.post(reverse("shop:delivery_area"), data)


def place(areas, product, option, quantity=1, cod=False, point=None, **who):
    table = delivery.table()
    value = f"{option.kind}:{option.pk}" + (f":{point.pk}" if point else "")
    area = areas.secteur15 if option == areas.home_s15 else areas.secteur30
    choice = delivery.choose(table, area.pk, "BF", value, cod, "près du marché")
    return services.place_order({product.pk: quantity}, customer(**who), delivery=choice)


# --- the money ---------------------------------------------------------------------
def test_the_total_is_goods_plus_fee_and_a_later_rate_change_alters_nothing(areas):
    product = make_product(price=79000, stock=5)
    order = place(areas, product, areas.home_s15)

    assert (order.goods_total, order.delivery_fee, order.total) == (79000, 1000, 80000)
    assert (order.delivery_kind, order.delivery_area_label, order.landmark) == (
        DeliveryKind.HOME,
        "Secteur 15, Ouagadougou",
        "près du marché",
    )
    areas.home_s15.fee = 5000
    areas.home_s15.save()
    order.refresh_from_db()
    assert (order.delivery_fee, order.total, order.delay_label) == (1000, 80000, "0–1 jours")


def test_an_order_without_delivery_keeps_total_equal_to_goods():
    order = make_order((make_product(price=12000, stock=3), 2))
    assert (order.goods_total, order.delivery_fee, order.total) == (24000, 0, 24000)


def test_free_over_applies_to_the_goods(areas):
    product = make_product(price=100_000, stock=5)
    table = delivery.table()
    choice = delivery.choose(
        table, areas.secteur30.pk, "BF", f"home:{areas.home_ouaga.pk}", False, ""
    )
    assert services.place_order({product.pk: 1}, customer(), delivery=choice).total == 101_500
    assert services.place_order({product.pk: 2}, customer(), delivery=choice).total == 200_000


def test_pickup_copies_the_point_as_it_was(areas):
    product = make_product(price=5000, stock=5)
    order = place(areas, product, areas.pickup_ouaga, point=areas.point_ouaga)
    areas.point_ouaga.hours = "fermé"
    areas.point_ouaga.save()
    order.refresh_from_db()
    assert "Lun–Sam 8 h–19 h" in order.pickup_details and order.delivery_fee == 0


# --- the shopper's pages ----------------------------------------------------------------
def test_checkout_asks_for_the_area_first_then_offers_its_options(client, areas):
    add_to_cart(client, make_product(price=15000, stock=4))
    response = client.get(reverse("shop:checkout"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("shop:delivery_area"))

    step = client.post(reverse("shop:delivery_area"), {"country": "BF", "next": "/commande/"})
    assert step.status_code == 200 and "Ouagadougou" in text(step)
    step = client.post(
        reverse("shop:delivery_area"),
        {"country": "BF", "city": areas.ouaga.pk, "next": "/commande/"},
    )
    assert "Secteur 15" in text(step) and 'name="shown_for"' in text(step)
    done = choose_area(client, areas.secteur15)
    assert done.status_code == 302 and done["Location"] == "/commande/"

    page = text(client.get(reverse("shop:checkout")))
    assert "Livraison à Secteur 15, Ouagadougou" in page
    assert "Livraison à domicile — 1\u202f000\u00a0FCFA, 0–1 jours" in page
    # What she pays with each option, before she submits (15 000 of goods).
    assert "0–1 jours · total 16\u202f000\u00a0FCFA" in page
    assert "Boutique Ashtech Ouaga 2000 — gratuit, 1 jour · total 15\u202f000\u00a0FCFA" in page
    assert "Boutique Ashtech Ouaga 2000" in page
    assert "Payer à la livraison" not in page  # not allowed in Secteur 15
    choose_area(client, areas.secteur30, city=areas.ouaga)
    assert "Payer à la livraison" in text(client.get(reverse("shop:checkout")))


def test_a_neighbourhood_of_another_city_is_refused_in_french(client, areas):
    response = client.post(
        reverse("shop:delivery_area"),
        {
            "country": "BF",
            "city": areas.bobo.pk,
            "district": areas.secteur15.pk,
            "shown_for": areas.bobo.pk,
        },
    )
    assert response.status_code == 400
    assert "Ce quartier n'est pas à Bobo-Dioulasso" in text(response)
    assert delivery.SESSION_KEY not in client.session


def test_the_picker_refuses_an_outside_next_url(client, areas):
    response = choose_area(client, areas.secteur15, next_url="https://evil.example/")
    assert response["Location"] == reverse("shop:cart")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"landmark": "x" * 2048}, "Le repère est trop long"),
        ({"delivery": "pickup:{pickup_dakar}:{point_dakar}"}, "Choisissez une option de livraison"),
        ({"delivery": "pickup:{pickup_ouaga}:{point_dakar}"}, "point de retrait de votre zone"),
        ({"delivery": "home:{home_s15}", "payment_mode": "cod"}, "n'est pas proposé"),
        (
            {"delivery": "home:{home_ouaga}", "area": "{secteur30}", "payment_mode": "cod"},
            "jusqu'à 300",
        ),
        ({"delivery": "home:{home_dakar}", "area": "{plateau}"}, "pas dans le pays choisi"),
        ({"delivery": ""}, "Choisissez une option de livraison"),
        ({"landmark": "abc\x00def"}, "caractère"),
    ],
)
def test_bad_delivery_input_gets_a_french_message_and_places_nothing(
    client, areas, change, message
):
    product = make_product(price=160_000, stock=10)
    add_to_cart(client, product, 2)
    choose_area(client, areas.secteur15)
    ids = {k: getattr(areas, k).pk for k in vars(areas)}
    data = checkout_data(delivery=f"home:{areas.home_s15.pk}", area=str(areas.secteur15.pk))
    data |= {k: v.format(**ids) for k, v in change.items()}
    response = client.post(reverse("shop:checkout"), data)
    assert response.status_code == 400
    assert message in text(response)
    assert not Order.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 10


def test_home_delivery_checkout_asks_payment_for_goods_plus_fee(client, areas):
    add_to_cart(client, make_product(price=15000, stock=4), 2)
    choose_area(client, areas.secteur15)
    response = client.post(
        reverse("shop:checkout"),
        checkout_data(
            delivery=f"home:{areas.home_s15.pk}",
            area=str(areas.secteur15.pk),
            landmark="portail bleu",
        ),
    )
    order = Order.objects.get()
    assert response["Location"] == reverse("payments:pay", args=[order.token])
    assert (order.total, order.status, order.landmark) == (31000, S.PENDING_PAYMENT, "portail bleu")
    page = text(client.get(order.get_absolute_url()))
    assert "Livraison à domicile" in page and "31\u202f000" in page and "portail bleu" in page


def test_product_and_cart_pages_say_fee_and_delay_once_the_area_is_known(client, areas):
    product = make_product(price=15000, stock=4)
    before = text(client.get(product.get_absolute_url()))
    assert (
        "Livraison dès 1\u202f000\u00a0FCFA · Retrait gratuit à Boutique Ashtech Ouaga 2000"
        in before
    )
    choose_area(client, areas.secteur15)
    after = text(client.get(product.get_absolute_url()))
    assert (
        "Livraison à Secteur 15 : 1\u202f000\u00a0FCFA, 0–1 jours" in after and "changer" in after
    )
    add_to_cart(client, product)
    assert "Livraison à Secteur 15 : 1\u202f000\u00a0FCFA" in text(client.get(reverse("shop:cart")))


def test_the_livraison_page_lists_the_rates_from_the_data(client, areas):
    from shop.models import Page

    Page.objects.get_or_create(slug="livraison", defaults={"title": "Livraison", "body": "Texte."})
    page = text(client.get(reverse("shop:page", args=["livraison"])))
    assert "Secteur 15, Ouagadougou" in page and "Relais Plateau" in page
    assert "offerte dès 200\u202f000\u00a0FCFA" in page


# --- pay on delivery -------------------------------------------------------------
def cod_checkout(client, areas, product, quantity=1):
    add_to_cart(client, product, quantity)
    choose_area(client, areas.secteur30, city=areas.ouaga)
    return client.post(
        reverse("shop:checkout"),
        checkout_data(
            delivery=f"home:{areas.home_ouaga.pk}", area=str(areas.secteur30.pk), payment_mode="cod"
        ),
    )


def test_pay_on_delivery_is_placed_to_confirm_with_its_longer_hold(
    client, areas, settings, log_notices, django_capture_on_commit_callbacks
):
    settings.SHOP_COD_HOLD = 48 * 3600
    product = make_product(price=15000, stock=4)
    with django_capture_on_commit_callbacks(execute=True):
        response = cod_checkout(client, areas, product)
    order = Order.objects.get()
    assert response["Location"] == order.get_absolute_url()
    assert (order.status, order.total, order.pay_on_delivery) == (S.TO_CONFIRM, 16500, True)
    assert order.reserved_until > timezone.now() + timedelta(hours=47)
    assert Product.objects.get(pk=product.pk).stock == 3
    assert OrderEvent.objects.filter(order=order, to_status=S.TO_CONFIRM, actor="shopper").exists()
    assert log_notices == [(order.pk, "placed")]
    page = text(client.get(order.get_absolute_url()))
    assert "À payer à la livraison" in page and "Payer cette commande" in page


def test_staff_confirm_then_collect_cash_marks_paid_and_delivered(
    areas, staff, log_notices, django_capture_on_commit_callbacks
):
    product = make_product(price=15000, stock=4)
    order = place(areas, product, areas.home_ouaga, cod=True)
    with django_capture_on_commit_callbacks(execute=True):
        deliveries.confirm(order.pk, staff)
        deliveries.ship(order.pk, staff)
    order.refresh_from_db()
    assert (order.status, order.paid_at, bool(order.shipped_at)) == (S.CONFIRMED, None, True)

    for bad, message in [
        ("abc", "en chiffres"),
        ("16 500,5", "en chiffres"),
        ("-1", "en chiffres"),
        ("16000", "n'est pas celui de la commande"),
        ("", "en chiffres"),
    ]:
        with pytest.raises(deliveries.StepRefused) as refused:
            deliveries.record_collection(order.pk, bad, "cash", staff)
        assert message in refused.value.message
    with pytest.raises(deliveries.StepRefused):
        deliveries.record_collection(order.pk, "16500", "bitcoin", staff)

    with django_capture_on_commit_callbacks(execute=True):
        collection = deliveries.record_collection(order.pk, "16 500", "cash", staff, "rendu 500")
    order.refresh_from_db()
    assert (collection.amount, order.status, order.amount_to_collect) == (16500, S.DELIVERED, 0)
    assert order.paid_at is not None
    moves = list(order.events.values_list("to_status", "actor"))
    assert (S.PAID, "delivery") in moves and (S.DELIVERED, "delivery") in moves
    assert [e for _, e in log_notices] == ["confirmed", "shipped", "delivered"]
    with pytest.raises(deliveries.StepRefused):
        deliveries.record_collection(order.pk, "16500", "cash", staff)
    assert CashCollection.objects.count() == 1


def test_staff_cancel_gives_the_stock_back_once(areas, staff):
    product = make_product(price=15000, stock=4)
    order = place(areas, product, areas.home_ouaga, quantity=2, cod=True)
    deliveries.cancel(order.pk, staff)
    with pytest.raises(deliveries.StepRefused):
        deliveries.cancel(order.pk, staff)
    assert Product.objects.get(pk=product.pk).stock == 4
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED


def test_an_unconfirmed_order_expires_after_its_hold_with_stock_released_once(areas):
    product = make_product(price=15000, stock=4)
    order = place(areas, product, areas.home_ouaga, quantity=3, cod=True)
    assert expire_stale_orders(timezone.now()) == 0  # still within its 48 h
    later = timezone.now() + timedelta(hours=49)
    assert expire_stale_orders(later) == 1
    assert expire_stale_orders(later) == 0
    order.refresh_from_db()
    assert (order.status, order.stock_reserved) == (S.EXPIRED, False)
    assert Product.objects.get(pk=product.pk).stock == 4


def test_a_confirmed_order_does_not_expire(areas, staff):
    order = place(areas, make_product(price=15000, stock=4), areas.home_ouaga, cod=True)
    deliveries.confirm(order.pk, staff)
    assert expire_stale_orders(timezone.now() + timedelta(days=30)) == 0


def test_pay_on_delivery_above_the_cap_is_refused_by_the_service_too(areas):
    product = make_product(price=301_000, stock=4)
    with pytest.raises(services.OrderLimit) as refused:
        place(areas, product, areas.home_ouaga, cod=True)
    assert "jusqu'à 300" in refused.value.message
    assert Product.objects.get(pk=product.pk).stock == 4


def test_the_demo_areas_are_believable_and_loaded_once():
    from shop.management.commands.load_demo import load_delivery
    from shop.models import DeliveryArea, PickupPoint

    count = load_delivery()
    assert load_delivery() == count == DeliveryArea.objects.count()
    cities = set(DeliveryArea.objects.filter(level="city").values_list("name", flat=True))
    # Abidjan: Côte d'Ivoire is where Novasend collects (no provider without a deliverable country).
    assert cities == {"Ouagadougou", "Bobo-Dioulasso", "Dakar", "Abidjan", "Conakry"}
    assert PickupPoint.objects.count() == 5
    table = delivery.table()
    s15 = DeliveryArea.objects.get(name="Secteur 15 (Ouaga 2000)")
    assert [(r.kind, r.fee) for r in delivery.options_for(s15.pk, table)] == [
        ("home", 1000),
        ("pickup", 0),
    ]
    kaloum = DeliveryArea.objects.get(name="Kaloum")
    rows = delivery.choices(kaloum.pk, table, 100_000)
    assert any(r["cod"] for r in rows) and any(r["point"] for r in rows)


@pytest.mark.parametrize(
    "data",
    [
        {"country": "BF", "city": "9" * 30},
        {"country": "BF", "city": "abc\x00", "district": "1"},
        {"country": "ZZ", "city": "1"},
        {"country": "BF", "city": "{dakar}"},
        {"country": "BF", "city": "{secteur15}"},
        {"country": "BF" * 500},
    ],
)
def test_hostile_area_picks_get_a_message_never_a_500(client, areas, data):
    ids = {k: getattr(areas, k).pk for k in vars(areas)}
    data = {k: v.format(**ids) for k, v in data.items()}
    response = client.post(reverse("shop:delivery_area"), data)
    assert response.status_code in (200, 400)
    assert delivery.SESSION_KEY not in client.session


def test_hostile_area_on_checkout_never_a_500(client, areas):
    add_to_cart(client, make_product(price=15000, stock=4))
    choose_area(client, areas.secteur15)
    for area in ["abc", "9" * 20, "-1", "\x00"]:
        data = checkout_data(delivery=f"home:{areas.home_s15.pk}", area=area)
        response = client.post(reverse("shop:checkout"), data)
        assert response.status_code in (302, 400)
    # a bad area falls back to the session's, so the shopper's order is placed there
    assert set(Order.objects.values_list("delivery_area_id", flat=True)) <= {areas.secteur15.pk}


def test_the_confirmation_and_the_notices_carry_the_delivery(areas, mailoutbox):
    from shop.emails import deliver_delivery_notice, render_confirmation

    order = place(
        areas, make_product(price=5000, stock=5), areas.pickup_ouaga, point=areas.point_ouaga
    )
    _subject, body, html_body = render_confirmation(order)
    for part in (body, html.unescape(html_body)):
        assert "Retrait en point relais" in part
        assert "Boutique Ashtech Ouaga 2000" in part and "Lun–Sam 8 h–19 h" in part
        assert "Frais de livraison : gratuits" in part
    assert deliver_delivery_notice(order.pk, "ready_for_pickup")
    notice = mailoutbox[-1]
    assert "vous attend au point de retrait" in notice.subject
    assert "Avenue Kwame Nkrumah" in notice.body and "Total : 5\u202f000\u00a0FCFA" in notice.body


def test_the_e_mail_backend_queues_a_task_after_commit(
    areas, settings, django_capture_on_commit_callbacks, queued_mail, mailoutbox
):
    settings.SHOP_NOTIFY_BACKEND = "shop.notify.EmailBackend"
    order = place(areas, make_product(price=5000, stock=5), areas.home_s15)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify.notify(order, "shipped")
    assert queued_mail.names() == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert queued_mail.names() == ["send_delivery_notice"]
    assert queued_mail.run() == 1
    assert "est en route" in mailoutbox[-1].subject and mailoutbox[-1].to == [order.email]
    with pytest.raises(ValueError):
        notify.notify(order, "teleported")


def test_the_city_select_lists_only_the_chosen_countrys_cities(client):
    from shop.management.commands.load_demo import load_delivery

    load_delivery()
    page = client.post(reverse("shop:delivery_area"), {"country": "CI"}).content.decode()
    city_select = page.split('name="city"', 1)[1].split("</select>", 1)[0]
    assert "Abidjan" in city_select
    assert "Ouagadougou" not in city_select and "Secteur" not in city_select

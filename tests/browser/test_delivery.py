# ruff: noqa: F811 - the browser and steps fixtures come from test_shopper
"""Delivery in a real browser on a 360 px phone (issue 16), against the
live shop, the sandbox and a real Celery worker:

* home delivery in Ouagadougou, the area chosen from the product page,
  paid with Ligdicash for goods + fee, then refunded fee included by staff;
* pickup in Dakar paid with DEXCHANGE;
* pay on delivery in Conakry (GNF), confirmed by staff and paid at the door;
* an unconfirmed pay-on-delivery order expiring with its stock given back once.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from payments.models import Payment
from payments.services.sweep import expire_stale_orders
from shop.models import CashCollection, DeliveryArea, Order, Product
from tests.browser.test_shopper import Steps, browser, steps  # noqa: F401 - fixtures
from tests.support.browser import MARKS
from tests.support.delivery import area, make_areas, option
from tests.support.e2e import ROUTES, setup_route
from tests.support.factories import make_product

pytestmark = MARKS
ROUTE = {r.id: r for r in ROUTES}
PASSWORD = "s3cret-Pass-123"


def choose_area(page, country: str, city: str, district: str | None) -> None:
    """The three server-rendered selects, one "Continuer" each (no JavaScript needed)."""
    page.select_option("#id_country", country)
    page.get_by_role("button", name="Continuer").click()
    page.select_option("#id_city", label=city)
    page.get_by_role("button", name="Continuer").click()
    if district:
        page.select_option("#id_district", label=district)
        page.get_by_role("button", name="Continuer").click()


def fill_contact(page, route) -> None:
    page.fill("#id_full_name", "Awa Ouédraogo")
    page.fill("#id_email", "awa@example.com")
    page.select_option("#id_country", route.country)
    page.fill("#id_phone", route.phone)


def pay(steps: Steps, route) -> None:
    """Choose the route's provider on the pay page and pay on its sandbox page."""
    page = steps.page
    page.wait_for_url("**/paiement/**")
    choice = page.locator(f"input[name=choice][value='{route.provider}:{route.method}']")
    if not choice.is_visible() and page.locator("details.other-offers summary").count():
        page.locator("details.other-offers summary").click()
    choice.check()
    steps.shot("pay-page")
    page.get_by_role("button", name=re.compile("^Payer")).click()
    page.wait_for_url("**/sandbox/page/**")
    steps.shot("provider-page")
    page.get_by_role("button", name="Payer", exact=True).click()
    page.get_by_text("Merci ! Votre paiement est reçu.").first.wait_for(timeout=30_000)
    steps.shot("paid")


def staff_login(steps: Steps, base: str, django_user_model) -> None:
    django_user_model.objects.create_superuser("chef", "chef@example.com", PASSWORD)
    page = steps.page
    page.goto(base + "/admin/")
    page.fill("#id_username", "chef")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def test_home_delivery_in_ouagadougou_paid_with_ligdicash_then_refunded_fee_included(
    sandbox_shop, settings, steps, django_user_model
):
    route = ROUTE["ligdicash-hosted"]
    setup_route(route, settings)
    areas = make_areas()
    product = make_product(name="Casque Oraimo", price=4500, stock=5)
    page = steps.page

    page.goto(sandbox_shop + product.get_absolute_url())
    page.get_by_text("Livraison dès 1 000 FCFA").first.wait_for()
    page.get_by_role("link", name="Votre quartier ?").click()
    choose_area(page, "BF", "Ouagadougou", "Secteur 15")
    page.get_by_text("Livraison à Secteur 15 : 1 000 FCFA, 0–1 jours").first.wait_for()
    steps.shot("product-with-fee")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="Ajouter au panier").click()
    page.wait_for_url("**/panier/")
    page.get_by_role("link", name="Commander").click()
    fill_contact(page, route)
    page.check(f"input[name=delivery][value='home:{areas.home_s15.pk}']")
    page.fill("#id_landmark", "portail bleu après la pharmacie")
    steps.shot("checkout")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="Continuer vers le paiement").click()
    pay(steps, route)

    order = Order.objects.get(email="awa@example.com")
    payment = Payment.objects.get(order=order)
    assert (order.goods_total, order.delivery_fee, order.total) == (4500, 1000, 5500)
    assert (payment.amount, payment.received_amount, payment.status) == (5500, 5500, "succeeded")
    page.goto(sandbox_shop + order.get_absolute_url())
    page.get_by_text("portail bleu après la pharmacie").first.wait_for()

    staff_login(steps, sandbox_shop, django_user_model)
    page.goto(f"{sandbox_shop}/admin/backoffice/orders/{order.pk}/refund/")
    assert page.locator("input[name=amount]").input_value() == "5500"  # the fee included
    page.fill("input[name=reason]", "colis refusé")
    page.fill("input[name=method]", "Orange Money")
    page.fill("input[name=external_reference]", "OM-5500")
    page.get_by_role("button", name="Enregistrer").click()
    steps.shot("refunded")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert sum(order.payments.get().refunds.values_list("amount", flat=True)) == 5500


def test_pickup_in_dakar_paid_with_dexchange(sandbox_shop, settings, steps):
    route = ROUTE["dexchange-hosted"]
    setup_route(route, settings)
    areas = make_areas()
    product = make_product(name="Chargeur Dakar", price=4500, stock=5)
    page = steps.page
    page.goto(sandbox_shop + product.get_absolute_url())
    page.get_by_role("button", name="Ajouter au panier").click()
    page.wait_for_url("**/panier/")
    page.get_by_role("link", name="Commander").click()
    page.get_by_text("Où livrer ?").first.wait_for()  # the checkout asks the area first
    choose_area(page, "SN", "Dakar", "Plateau")
    page.wait_for_url("**/commande/")
    fill_contact(page, route)
    page.check(
        f"input[name=delivery][value='pickup:{areas.pickup_dakar.pk}:{areas.point_dakar.pk}']"
    )
    steps.shot("checkout")
    page.get_by_role(
        "button", name=re.compile("Valider la commande|Continuer vers le paiement")
    ).click()
    pay(steps, route)
    order = Order.objects.get(email="awa@example.com")
    assert (order.total, order.delivery_kind, order.pickup_point_id) == (
        4500,
        "pickup",
        areas.point_dakar.pk,
    )
    assert Payment.objects.get(order=order).amount == 4500
    page.get_by_text("Relais Plateau").first.wait_for()


def conakry():
    guinea = area("Conakry", DeliveryArea.Level.CITY, "GN")
    kaloum = area("Kaloum", DeliveryArea.Level.DISTRICT, "GN", guinea)
    home = option(guinea, fee=15000, delay_min=1, delay_max=3, cod_allowed=True, cod_max=5_000_000)
    return kaloum, home


def place_cod_order_in_conakry(steps: Steps, base: str, product) -> Order:
    route = ROUTE["lengopay-lp-om-gn"]
    kaloum, home = conakry()
    page = steps.page
    page.goto(base + product.get_absolute_url())
    page.get_by_role("button", name="Ajouter au panier").click()
    page.wait_for_url("**/panier/")
    page.get_by_role("link", name="Commander").click()
    choose_area(page, "GN", "Conakry", "Kaloum")
    page.wait_for_url("**/commande/")
    fill_contact(page, route)
    page.check(f"input[name=delivery][value='home:{home.pk}']")
    page.check("input[name=payment_mode][value=cod]")
    steps.shot("checkout-cod")
    page.get_by_role("button", name="Valider la commande").click()
    page.get_by_text("Nous vous appelons au").first.wait_for()
    steps.shot("order-to-confirm")
    return Order.objects.get(email="awa@example.com")


def test_pay_on_delivery_in_conakry_confirmed_by_staff_and_paid_at_the_door(
    sandbox_shop, settings, steps, django_user_model
):
    setup_route(ROUTE["lengopay-lp-om-gn"], settings)
    product = make_product(name="Téléphone Conakry", price=450_000, stock=3)
    order = place_cod_order_in_conakry(steps, sandbox_shop, product)
    assert (order.status, order.total, order.currency) == ("to_confirm", 465_000, "GNF")
    steps.page.get_by_text("À payer à la livraison").first.wait_for()

    staff_login(steps, sandbox_shop, django_user_model)
    page = steps.page
    page.goto(sandbox_shop + "/admin/backoffice/livraisons/a-confirmer/")
    row = page.locator(f"#order-{order.pk}")
    assert row.locator("a[href^='https://wa.me/224']").count() == 1
    assert row.locator("a[href^='tel:+224']").count() == 1
    steps.shot("queue")
    row.get_by_role("button", name="Confirmer").click()
    page.goto(sandbox_shop + "/admin/backoffice/livraisons/a-expedier/")
    row = page.locator(f"#order-{order.pk}")
    row.get_by_role("button", name="Expédiée").click()
    page.goto(sandbox_shop + "/admin/backoffice/livraisons/en-route/")
    row = page.locator(f"#order-{order.pk}")
    row.locator("input[name=amount]").fill("400000")
    row.get_by_role("button", name="Encaissé et remis").click()
    page.get_by_text("n'est pas celui de la commande").first.wait_for()
    row = page.locator(f"#order-{order.pk}")
    row.locator("input[name=amount]").fill("465 000")
    row.locator("select[name=method]").select_option("cash")
    row.get_by_role("button", name="Encaissé et remis").click()
    page.get_by_text("paiement à la livraison enregistré").first.wait_for()
    steps.shot("collected")

    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED and order.paid_at
    assert CashCollection.objects.get(order=order).amount == 465_000
    page.goto(sandbox_shop + "/admin/backoffice/reconciliation/")
    assert page.locator("#cash").get_by_text(order.number).count() == 1


def test_an_unconfirmed_pay_on_delivery_order_expires_and_gives_its_stock_back_once(
    sandbox_shop, settings, steps
):
    setup_route(ROUTE["lengopay-lp-om-gn"], settings)
    product = make_product(name="Batterie Conakry", price=100_000, stock=2)
    order = place_cod_order_in_conakry(steps, sandbox_shop, product)
    assert Product.objects.get(pk=product.pk).stock == 1
    later = timezone.now() + timedelta(seconds=settings.SHOP_COD_HOLD + 60)
    assert expire_stale_orders(later) == 1
    assert expire_stale_orders(later) == 0
    steps.page.goto(sandbox_shop + order.get_absolute_url())
    steps.page.get_by_text("Expirée").first.wait_for()
    steps.shot("expired")
    assert Product.objects.get(pk=product.pk).stock == 2
    assert order.events.filter(to_status="expired", actor="expiry").count() == 1

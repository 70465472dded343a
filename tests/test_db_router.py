"""Read replica (issue 20, item 3): catalogue pages may read the catalogue from
``DATABASE_REPLICA_URL``; the money path never touches it.

The replica here is an alias pointing at a PostgreSQL port nobody listens on:
every query sent to it fails. A shopper's whole purchase — cart, checkout,
payment start, callback, the drain's status check, return page, order page —
runs against it, so one stray read of the replica fails the test."""

from __future__ import annotations

import socket

import pytest
from django.apps import apps
from django.db import OperationalError, transaction
from django.test import Client
from django.test.testcases import DatabaseOperationForbidden
from django.urls import reverse

from ashtech_store import db_router
from payments.models import Payment, PaymentStatus
from payments.services.callbacks import drain_callbacks
from shop.models import Order, Product
from tests.support.factories import make_product
from tests.support.kits.ligdicash import LigdicashKit
from tests.support.shop import find_form

KIT = LigdicashKit()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is


@pytest.fixture
def broken_replica(settings):
    """A ``replica`` alias on which every query fails (connection refused)."""
    from django.db import connections

    alias = {
        **connections.settings["default"],
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": _closed_port(),
        "NAME": "no_such_replica",
        "USER": "postgres",
        "OPTIONS": {"connect_timeout": 2},
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "TEST": {"MIRROR": "default"},
    }
    connections.settings[db_router.REPLICA] = alias  # the same dict as settings.DATABASES
    try:
        yield alias
    finally:
        connections.settings.pop(db_router.REPLICA, None)
        try:
            del connections[db_router.REPLICA]
        except AttributeError:
            pass


def catalogue_request(path: str = "/produits/", method: str = "GET") -> None:
    db_router._request_started(None, environ={"REQUEST_METHOD": method, "PATH_INFO": path})


@pytest.fixture
def router():
    yield db_router.PrimaryUnlessCatalogueRouter()
    db_router._request_finished(None)


@pytest.mark.django_db(transaction=True)
def test_only_catalogue_models_on_catalogue_pages_outside_transactions_read_the_replica(
    broken_replica, router
):
    catalogue_request("/produits/")
    assert router.db_for_read(Product) == "replica"
    others = [m for m in apps.get_models() if m._meta.label_lower not in db_router.CATALOGUE_MODELS]
    assert {"payments.payment", "payments.paymentevent", "shop.order", "backoffice.refund"} <= {
        m._meta.label_lower for m in others
    }
    for model in others:
        assert router.db_for_read(model) == "default", model._meta.label
    with transaction.atomic():
        assert router.db_for_read(Product) == "default", "inside a transaction: primary"
    router.db_for_write(Product)
    assert router.db_for_read(Product) == "default", "after a write: primary"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/produits/"),
        ("GET", "/panier/"),
        ("GET", "/commande/"),
        ("GET", "/admin/shop/product/"),
        ("POST", "/payments/callback/ligdicash/"),
    ],
)
def test_other_pages_and_other_methods_read_the_primary(broken_replica, router, method, path):
    catalogue_request(path, method)
    assert router.db_for_read(Product) == "default"


@pytest.mark.django_db(transaction=True)
def test_without_a_replica_everything_reads_the_primary(router):
    catalogue_request("/produits/")
    assert router.db_for_read(Product) == "default"


@pytest.mark.django_db(transaction=True)
def test_a_catalogue_page_does_read_the_replica(broken_replica):
    """The control: the broken alias is really used, so the test below means something."""
    make_product(name="Itel A70", stock=3)
    # Refused by the test case (an alias it was not told about) or by the closed
    # port: either way the query was sent to the replica.
    with pytest.raises((OperationalError, DatabaseOperationForbidden)):
        Client().get(reverse("shop:products"))


@pytest.mark.django_db(transaction=True)
def test_a_whole_purchase_never_touches_the_replica(broken_replica, rsps, settings):
    settings.SHOP_CURRENCY = "XOF"
    phone = make_product(name="Tecno Spark 20", price=15000, stock=5)
    shopper = Client()

    shopper.post(reverse("shop:cart_add"), {"product_id": phone.pk, "quantity": "1"})
    checkout = shopper.get(reverse("shop:checkout"))
    details = find_form(checkout, reverse("shop:checkout"))
    pay_page = shopper.post(
        reverse("shop:checkout"),
        details.data(
            full_name="Awa Traoré", email="awa@example.com", country="BF", phone="70 12 34 56"
        ),
        follow=True,
    )
    order = Order.objects.get()
    assert pay_page.status_code == 200

    KIT.mock_initiate_ok(rsps)
    choice = find_form(pay_page, reverse("payments:pay", args=[order.token]))
    started = shopper.post(
        reverse("payments:pay", args=[order.token]),
        choice.data(choice="ligdicash:hosted", payer_phone="+22670123456"),
    )
    assert started.status_code == 302
    payment = Payment.objects.get(order=order)

    KIT.mock_status(rsps, payment, "succeeded")
    body, headers = KIT.callback(payment, "succeeded")
    answer = Client().post(
        reverse("payments:callback", args=["ligdicash"]),
        data=body,
        content_type="application/json",
        **headers,
    )
    assert answer.status_code == 200
    drain_callbacks()
    assert shopper.get(reverse("payments:return", args=[payment.reference])).status_code in (
        200,
        302,
    )
    assert shopper.get(order.get_absolute_url()).status_code == 200

    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert order.status == Order.Status.PAID
    assert Product.objects.get(pk=phone.pk).stock == 4

"""End to end (issue 18): one aggregator's create answers 503 in the
sandbox; a shopper in Côte d'Ivoire choosing Orange Money is paid through
the other route in one step, with a real Celery worker polling, and after
the threshold the failing route is DOWN on the staff page and the next
shopper goes straight to the healthy route."""

from __future__ import annotations

import pytest
import requests
from django.contrib.auth.models import Permission
from django.urls import reverse

from payments.models import Payment, PaymentStatus, RouteHealth
from payments.routing import Route
from payments.sandbox.core import fail_create
from payments.services import health
from shop.models import Order
from tests.support.e2e import act_in_sandbox, checkout, csrf, final
from tests.support.factories import make_product, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "+2250701234567"
LYGOS_CI = Route("lygos", "hosted", "Orange Money", "CI", "XOF")


def choose_orange_money(base: str, product) -> tuple[requests.Session, Order, requests.Response]:
    """Product → cart → checkout in Côte d'Ivoire → "Orange Money" → Payer."""
    s, pay = checkout(base, product, "CI", PHONE)
    assert pay.text.count('value="wallet:orange-money"') == 1
    answer = s.post(
        pay.url,
        data={
            "csrfmiddlewaretoken": csrf(pay.text),
            "choice": "wallet:orange-money",
            "payer_phone": PHONE,
        },
        headers={"Referer": base},
        allow_redirects=False,
        timeout=30,
    )
    token = pay.url.rstrip("/").rsplit("/", 1)[-1]
    return s, Order.objects.get(token=token), answer


def test_a_failing_aggregator_is_moved_aside_and_the_shopper_paid_in_one_step(
    sandbox_shop, settings, client, django_user_model
):
    settings.SHOP_CURRENCY = "XOF"
    settings.ROUTING_EXPLORE_SHARE = 0.0
    health.set_priority(LYGOS_CI, 1)  # staff put Lygos first for Orange Money in CI
    fail_create("lygos")
    try:
        product = make_product(price=2500, stock=10)
        s, order, answer = choose_orange_money(sandbox_shop, product)

        # One tap: the shopper is sent straight to the working route's page.
        assert answer.status_code == 302, answer.text[:500]
        attempts = list(order.payments.order_by("created_at", "pk"))
        assert [p.provider for p in attempts] == ["lygos", "novasend"]
        assert attempts[0].status == PaymentStatus.CANCELLED and attempts[0].initiation_unknown
        paying = attempts[1]
        assert answer.headers["Location"] == paying.redirect_url
        act_in_sandbox(s, sandbox_shop, paying, "pay", follow=False)
        paying = final(paying)
        assert paying.status == PaymentStatus.SUCCEEDED and not paying.needs_review
        wait_for(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID)

        # Two more shoppers within five minutes: the third initiation error
        # puts Lygos DOWN; the fourth shopper goes straight to Novasend.
        for _ in range(2):
            choose_orange_money(sandbox_shop, product)
        assert RouteHealth.objects.get(key=LYGOS_CI.key).state == "down"
        _, fourth, answer = choose_orange_money(sandbox_shop, product)
        assert answer.status_code == 302
        assert [p.provider for p in fourth.payments.all()] == ["novasend"]
    finally:
        fail_create("lygos", False)

    # A cashier's two route-health permissions (the "Caisse" group's, granted
    # by a data migration that a flush of transactional tests removes).
    staff = django_user_model.objects.create_user("caisse", is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(codename__in=["view_routehealth", "change_routehealth"])
    )
    client.force_login(staff)
    page = client.get(reverse("backoffice:route_health")).content.decode()
    row = page[page.index(f'data-route="{LYGOS_CI.key}"') :]
    row = row[: row.index("</tr>")]
    assert "Hors service" in row
    assert "initiation errors within 5 min" in page
    assert Payment.objects.filter(provider="lygos", status=PaymentStatus.PENDING).count() == 0

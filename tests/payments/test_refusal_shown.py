"""The pay page and the waiting page say what happened to the last attempt
(issue 15, item 9): refused, expired or cancelled, with the provider's name,
in plain French; nothing when the attempt is live, paid or with staff."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from shop.models import Order
from tests.support.factories import hold, make_order, make_payment

pytestmark = pytest.mark.django_db

ADVICE = "Choisissez un autre moyen ou réessayez."
SAID = {
    "failed": "Votre paiement Novasend a été refusé. " + ADVICE,
    "expired": "Votre paiement Novasend a expiré. " + ADVICE,
    "cancelled": "Votre paiement Novasend a été annulé. " + ADVICE,
}


def ended(status: str, provider: str = "novasend", order: Order | None = None, **extra):
    order = order or make_order(country="CI", phone="+2250701234567")
    return make_payment(
        order,
        provider=provider,
        method="mobile_money" if provider == "novasend" else "hosted",
        status=status,
        finalised_at=timezone.now(),
        next_check_at=None,
        **extra,
    )


def pay_page(client, order: Order):
    hold(client, order)
    return client.get(reverse("payments:pay", args=[order.token]))


def wait_page(client, payment):
    hold(client, payment.order)
    return client.get(reverse("payments:wait", args=[payment.order.token, payment.reference]))


@pytest.mark.parametrize("status", sorted(SAID))
def test_the_pay_page_says_how_the_last_attempt_ended(client, status):
    payment = ended(status)

    response = pay_page(client, payment.order)

    assert response.status_code == 200
    html = response.content.decode()
    assert SAID[status] in html
    assert "Choisissez votre moyen de paiement" in html, "and offers the choice again"


@pytest.mark.parametrize("status", sorted(SAID))
def test_the_waiting_page_says_how_the_attempt_ended(client, status):
    payment = ended(status)

    response = wait_page(client, payment)

    assert response.status_code == 200
    assert SAID[status] in response.content.decode()


def test_the_provider_is_named_as_the_shop_shows_it(client):
    payment = ended("failed", provider="lygos")
    html = pay_page(client, payment.order).content.decode()

    assert "Votre paiement Lygos Pay a été refusé." in html


def test_only_the_last_attempt_counts(client):
    first = ended("cancelled")  # superseded by a second try, which was refused
    ended("failed", provider="ligdicash", order=first.order, provider_reference="tok-2")

    html = pay_page(client, first.order).content.decode()

    assert "Votre paiement Ligdicash a été refusé." in html
    assert "annulé" not in html


def test_a_first_visit_says_nothing_about_attempts(client):
    html = pay_page(client, make_order()).content.decode()

    assert ADVICE not in html


def test_an_attempt_with_staff_is_not_called_refused(client):
    payment = ended("expired", needs_review=True, review_reason="status unknown at the deadline")

    assert ADVICE not in pay_page(client, payment.order).content.decode()
    assert "Nous vérifions votre paiement" in wait_page(client, payment).content.decode()


def test_a_live_attempt_sends_the_shopper_to_its_waiting_page(client):
    payment = make_payment(make_order(country="CI", phone="+2250701234567"), provider="novasend")

    response = pay_page(client, payment.order)

    assert response.status_code == 302
    assert response.url == reverse("payments:wait", args=[payment.order.token, payment.reference])

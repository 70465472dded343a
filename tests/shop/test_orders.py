"""The guest order page answers only to its own 256-bit token: nothing of
another order leaks through a guessed address."""

import pytest
from django.urls import reverse

from shop.models import Order
from tests.support.factories import make_order, make_product

pytestmark = pytest.mark.django_db

# What must never appear in someone else's response.
VICTIM = {
    "full_name": "Aminata Kaboré",
    "email": "aminata@example.bf",
    "phone": "+22676543210",
    "address": "Rue 12.34, Bobo-Dioulasso",
}


@pytest.fixture
def victim():
    return make_order((make_product(name="MacBook Air M1", price=650000), 1), **VICTIM)


@pytest.fixture
def own():
    return make_order(
        (make_product(name="Nokia 105"), 1), full_name="Moussa Sawadogo", email="moussa@example.bf"
    )


def assert_nothing_of(order: Order, response) -> None:
    body = response.content.decode()
    for value in [*VICTIM.values(), order.token, order.number, "MacBook Air M1", "650"]:
        assert value not in body, f"{value!r} leaked"


def test_order_page_opens_with_its_token(client, victim):
    response = client.get(victim.get_absolute_url())

    assert response.status_code == 200
    assert "Aminata Kaboré" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        lambda victim, own: str(victim.pk),
        lambda victim, own: str(victim.pk + 1),
        lambda victim, own: str(own.pk),
        lambda victim, own: victim.number,
        lambda victim, own: victim.token[:-1],
        lambda victim, own: victim.token[:22],
        lambda victim, own: (
            victim.token.upper() if victim.token.upper() != victim.token else victim.token + "x"
        ),
        lambda victim, own: victim.token + "0",
        # (a last character that differs from our own, or it would be our own token)
        lambda victim, own: (
            own.token[:-1] + next(c for c in victim.token[-1] + "AB" if c != own.token[-1])
        ),
    ],
    ids=[
        "id",
        "next-id",
        "own-id",
        "number",
        "truncated-by-1",
        "truncated-half",
        "case-changed",
        "extended",
        "own-with-victim-tail",
    ],
)
def test_guessed_order_address_is_404_and_leaks_nothing(client, victim, own, path):
    client.get(own.get_absolute_url())  # the attacker holds a real order of their own
    response = client.get(reverse("shop:order", args=[path(victim, own)]))

    assert response.status_code == 404
    assert_nothing_of(victim, response)


def test_another_orders_token_shows_that_order_only(client, victim, own):
    response = client.get(own.get_absolute_url())

    assert response.status_code == 200
    assert "Moussa Sawadogo" in response.content.decode()
    assert_nothing_of(victim, response)


def test_pay_page_of_a_guessed_token_is_404_and_leaks_nothing(client, victim):
    response = client.get(reverse("payments:pay", args=[victim.token[:-1]]))

    assert response.status_code == 404
    assert_nothing_of(victim, response)


def test_order_tokens_are_long_and_distinct(victim, own):
    assert len(victim.token) >= 43  # 32 random bytes, URL-safe base64
    assert victim.token != own.token

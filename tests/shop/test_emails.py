"""The paid-order confirmation: one e-mail per paid order, with its lines and
total, names escaped in the HTML part and intact in the text part."""

import pytest

from shop.emails import deliver_order_confirmation
from shop.models import Order
from shop.services import mark_paid
from tests.support.factories import make_order, make_product

pytestmark = pytest.mark.django_db


def paid(order: Order) -> Order:
    mark_paid(order)
    return order


@pytest.fixture
def order():
    phone = make_product(name="Tecno Spark 20", price=85000)
    cable = make_product(name="Câble USB-C tressé", price=2500)
    return paid(
        make_order((phone, 1), (cable, 2), full_name="Ndèye Fàtou", email="ndeye@example.sn")
    )


def html_part(message) -> str:
    [(body, mime)] = message.alternatives
    assert mime == "text/html"
    return body


def test_paid_order_gets_one_confirmation_with_lines_and_total(mailoutbox, order):
    assert deliver_order_confirmation(order.pk) is True

    [message] = mailoutbox
    assert message.to == ["ndeye@example.sn"]
    assert message.subject == f"Votre commande {order.number} est payée"
    for body in (message.body, html_part(message)):
        assert "Bonjour Ndèye Fàtou," in body
        assert "1 × Tecno Spark 20" in body
        assert "2 × Câble USB-C tressé" in body
        assert "85\u202f000\u00a0FCFA" in body
        assert "5\u202f000\u00a0FCFA" in body
        assert "90\u202f000\u00a0FCFA" in body
        assert f"https://shop.test/commande/{order.token}/" in body
    order.refresh_from_db()
    assert order.confirmation_sent_at is not None


def test_second_call_sends_nothing(mailoutbox, order):
    deliver_order_confirmation(order.pk)

    assert deliver_order_confirmation(order.pk) is False
    assert len(mailoutbox) == 1


def test_unpaid_order_gets_no_confirmation(mailoutbox):
    order = make_order()

    assert deliver_order_confirmation(order.pk) is False
    assert mailoutbox == []


def test_markup_in_the_name_is_escaped_in_the_html_part(mailoutbox):
    order = paid(make_order(full_name="<script>alert(1)</script>"))

    deliver_order_confirmation(order.pk)

    [message] = mailoutbox
    assert "<script>" not in html_part(message)
    assert "Bonjour &lt;script&gt;alert(1)&lt;/script&gt;," in html_part(message)
    assert (
        "Bonjour <script>alert(1)</script>," in message.body
    )  # plain text: shown as typed, nothing to execute


def test_confirmation_is_written_in_the_language_of_the_order(mailoutbox):
    order = paid(
        make_order(
            (make_product(name="Nokia 105", price=12000), 1), language="en", full_name="Awa Diallo"
        )
    )

    deliver_order_confirmation(order.pk)

    [message] = mailoutbox
    assert message.subject == f"Your order {order.number} is paid"
    assert "Hello Awa Diallo," in message.body
    assert "We have received the payment for your order" in message.body
    assert "12\u202f000\u00a0FCFA" in message.body

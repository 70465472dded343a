"""What the shopper reads after a payment ends badly: her wallet named, not
our aggregator (U-13), and a superseded tab that says the order is paid
(U-10). Provider HTTP is ``responses``; the views are the real ones."""

import pytest
from django.urls import reverse

from payments.services import PaymentStartError, start_payment
from tests.support.backoffice import paid_order
from tests.support.factories import make_order, make_payment

pytestmark = pytest.mark.django_db
STRAIGHT = "https://ligdicash.test/pay/v01/straight/checkout-invoice/create"
REFUSED = {"response_code": "01", "token": "", "response_text": "Echec (Code02)", "description": ""}


def test_a_wrong_otp_names_the_wallet_not_the_aggregator(rsps):
    rsps.post(STRAIGHT, json=REFUSED)
    with pytest.raises(PaymentStartError) as refused:
        start_payment(
            make_order(), "ligdicash", "orange_bf", payer_phone="+22670123456", otp="000000"
        )
    assert str(refused.value).startswith("Orange Money a refusé ce paiement")
    assert "Ligdicash" not in str(refused.value)


def test_a_superseded_tab_says_the_order_is_paid(client):
    order, _paid = paid_order()
    other = make_payment(order, provider="ligdicash", method="moov_bf", provider_reference="t2")
    from payments.services import cancel_payment

    cancel_payment(other.pk, reason="superseded")
    page = client.get(reverse("payments:wait", args=[order.token, other.reference]))
    text = page.content.decode()
    assert "Votre commande est payée" in text and "rien à faire" in text
    assert "Réessayer avec un autre moyen" not in text


def test_an_attempt_cancelled_on_an_unpaid_order_still_says_cancelled(client):
    order = make_order()
    payment = make_payment(order, provider="lygos", provider_reference="lg-c")
    from payments.services import cancel_payment

    cancel_payment(payment.pk, reason="superseded")
    text = client.get(reverse("payments:wait", args=[order.token, payment.reference])).content
    assert "a été annulé" in text.decode()

"""The sandbox's pages speak the shop's language and send the shopper where
the real vendor would (UX review 2026-12-03, U-08): back to the shop for
hosted pages that return (Ligdicash, Lygos, DEXCHANGE), nowhere for Novasend
(a payin session has no return URL), and from the simulated phone of a push
flow back to the shop's waiting page. The pay page describes Novasend as the
page it opens."""

from __future__ import annotations

import html
import uuid

import pytest
from django.test import Client

from payments.offers import offers_for
from payments.sandbox.models import SandboxPayment
from tests.support.factories import make_order

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.sandbox_urls")]


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.PAYMENTS_SANDBOX = True
    settings.SANDBOX_SEND_CALLBACKS = False


def emulated(provider: str, method: str = "", **fields) -> SandboxPayment:
    reference = str(uuid.uuid4())
    defaults = {
        "provider": provider,
        "token": uuid.uuid4().hex,
        "merchant_reference": reference,
        "amount": 25000,
        "currency": "XOF",
        "method": method,
        "phone": "+2250701020304",
    }
    return SandboxPayment.objects.create(**(defaults | fields))


def text(response) -> str:
    return html.unescape(response.content.decode())


def page(sp: SandboxPayment) -> str:
    return f"/sandbox/page/{sp.provider}/{sp.token}/"


@pytest.mark.parametrize("action", ["pay", "refuse"])
def test_novasend_ends_in_french_and_says_to_come_back_by_oneself(client, action):
    sp = emulated("novasend", "mobile_money")

    response = client.post(page(sp), {"action": action}, follow=True)

    body = text(response)
    assert response.status_code == 200
    assert ("Paiement accepté." if action == "pay" else "Paiement refusé.") in body
    assert "Novasend ne vous renvoie pas à la boutique" in body
    assert "Retour à la boutique" not in body
    assert "Succeeded" not in body and "Failed" not in body
    assert "07 01 02 03 04" in body


@pytest.mark.parametrize("provider", ["lygos", "dexchange"])
def test_a_hosted_page_that_returns_sends_the_shopper_back_and_links_back_later(
    client, settings, provider
):
    settings.SITE_URL = "http://testserver"
    sp = emulated(
        provider,
        "hosted",
        return_url="http://testserver/paiement/retour/x/",
        cancel_url="http://testserver/paiement/annulation/x/",
    )

    paid = client.post(page(sp), {"action": "pay"})
    again = client.get(page(sp))

    assert paid.status_code == 302 and paid["Location"] == sp.return_url
    assert "Paiement accepté." in text(again)
    assert f'href="{sp.return_url}">Retour à la boutique' in text(again)


def test_the_simulated_phone_of_a_push_flow_links_back_to_the_waiting_page(client):
    sp = emulated("lengopay", "lp-om-gn", currency="GNF", phone="+224621234567")

    pending = text(client.get(page(sp)))
    refused = client.post(page(sp), {"action": "refuse"})

    assert "Téléphone simulé — LengoPay" in pending
    assert "validez-la ou refusez-la" in pending
    assert refused.status_code == 200
    assert "Paiement refusé." in text(refused)
    assert f'href="/paiement/retour/{sp.merchant_reference}/">Retour à la boutique' in text(refused)


def test_the_sandbox_page_is_english_when_the_shopper_chose_english(client, settings):
    sp = emulated("novasend", "mobile_money", status="succeeded")
    english = Client()
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    body = text(english.get(page(sp)))

    assert 'lang="en"' in body


def test_the_pay_page_describes_novasend_as_the_page_it_opens():
    order = make_order(country="CI", phone="+2250701020304")

    novasend = [o for o in offers_for(order) if o["provider"].code == "novasend"]

    assert novasend and "sur une page Novasend" in str(novasend[0]["detail"])
    assert "sur votre téléphone" not in str(novasend[0]["detail"])

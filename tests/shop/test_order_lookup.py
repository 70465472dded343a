"""« Mes commandes » needs a secret (review 2026-12-03 G-10): the number plus
the order's code, or a one-time link mailed to the order's address; caps per
address and per order number; the answer never tells whether a number exists."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.template.loader import render_to_string

from ashtech_store.celery import app
from shop import lookup
from tests.support.factories import make_order

pytestmark = pytest.mark.django_db
URL = "/mes-commandes/retrouver/"
LINK_URL = "/mes-commandes/lien/"


@pytest.fixture
def eager():
    """Tasks run in the request (no worker in these tests)."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def order():
    return make_order(email="elodie@example.bf", phone="+22670123456")


def by_code(client, number, code, ip="203.0.113.7"):
    return client.post(URL, {"code-number": number, "code-code": code}, REMOTE_ADDR=ip)


def by_link(client, number, email, ip="203.0.113.7"):
    return client.post(LINK_URL, {"link-number": number, "link-email": email}, REMOTE_ADDR=ip)


def test_the_number_and_the_e_mail_or_phone_no_longer_open_an_order(client, order):
    """The review's M3-M5: number + e-mail (or phone) redirected to the order."""
    for contact in ("elodie@example.bf", "70 12 34 56"):
        response = client.post(URL, {"number": order.number, "contact": contact})
        assert response.status_code == 400
        assert order.get_absolute_url() not in response.content.decode()


def test_the_number_and_the_code_open_the_order(client, order):
    response = by_code(client, order.number, lookup.lookup_code(order))

    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()


def test_the_code_is_eight_unambiguous_characters_read_forgivingly(order):
    code = lookup.lookup_code(order)

    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", code)
    assert lookup.normalise_code(code.lower().replace("-", " ")) == code
    assert lookup.lookup_code(make_order()) != code


def test_the_code_is_on_the_order_page_and_in_the_confirmation_e_mail(client, order):
    code = lookup.lookup_code(order)
    context = {"order": order, "lines": [], "site_url": "https://shop.test", "shop_name": "S"}

    assert code in client.get(order.get_absolute_url()).content.decode()
    assert code in render_to_string("shop/email/order_paid.txt", context)
    assert code in render_to_string("shop/email/order_paid.html", context)


def test_the_sms_text_fits_one_message(order, settings):
    settings.SITE_URL = "https://boutique.ashtech.example"
    text = lookup.sms_text(order)

    assert len(text) <= 160 and order.number in text and lookup.lookup_code(order) in text


def test_a_wrong_code_and_an_unknown_number_get_the_same_answer(client, order):
    def strip(response) -> str:
        pattern = r'name="csrfmiddlewaretoken" value="[^"]+"|AS-999999|' + order.number
        return re.sub(pattern, "", response.content.decode())

    wrong = by_code(client, order.number, "AAAA-AAAA")
    unknown = by_code(client, "AS-999999", "AAAA-AAAA")

    assert wrong.status_code == unknown.status_code == 400
    assert strip(wrong) == strip(unknown)


def test_an_order_number_takes_five_wrong_codes_a_day_from_any_addresses(client, order):
    for n in range(lookup.ATTEMPTS_PER_NUMBER):
        assert by_code(client, order.number, "AAAA-AAAA", ip=f"198.51.100.{n + 1}").status_code
    right_code_after = by_code(client, order.number, lookup.lookup_code(order), ip="192.0.2.9")
    unknown_after = [
        by_code(client, "AS-999999", "AAAA-AAAA", ip=f"192.0.2.{n + 20}") for n in range(6)
    ][-1]

    assert right_code_after.status_code == unknown_after.status_code == 400, "locked for the day"
    assert "trop d" in right_code_after.content.decode()
    assert order.get_absolute_url() not in right_code_after.content.decode()


def test_one_address_is_capped_per_hour(client, settings):
    settings.SHOP_ORDER_LOOKUP_RATE = "100/m"
    settings.SHOP_ORDER_LOOKUP_HOURLY = "4/h"
    codes = [by_code(client, f"AS-{n}", "AAAA-AAAA").status_code for n in range(1, 6)]

    assert codes == [400, 400, 400, 400, 429]
    assert by_link(client, "AS-1", "x@example.bf").status_code == 429


def test_a_link_is_mailed_to_the_order_s_address_and_opens_it_once(client, order, eager):
    response = by_link(client, order.number, "ELODIE@example.bf")

    assert response.status_code == 200
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["elodie@example.bf"]
    link = re.search(r"https://shop\.test(/mes-commandes/lien/\S+/)", mail.outbox[0].body).group(1)
    other_browser = client_class_client()

    opened = other_browser.get(link)
    again = client_class_client().get(link)

    assert opened.status_code == 302 and opened["Location"] == order.get_absolute_url()
    assert again.status_code == 404


def client_class_client():
    from django.test import Client

    return Client()


def test_a_link_request_never_tells_whether_the_number_or_address_matched(client, order, eager):
    def strip(response) -> str:
        pattern = r'name="csrfmiddlewaretoken" value="[^"]+"|AS-999999|' + order.number
        return re.sub(pattern, "", response.content.decode())

    matched = by_link(client, order.number, "elodie@example.bf")
    wrong_address = by_link(client, order.number, "someone@example.bf")
    unknown = by_link(client, "AS-999999", "elodie@example.bf")

    assert matched.status_code == wrong_address.status_code == unknown.status_code == 200
    assert strip(matched) == strip(wrong_address) == strip(unknown)
    assert len(mail.outbox) == 1


def test_an_order_number_gets_three_links_a_day(client, order, eager):
    for n in range(lookup.LINKS_PER_NUMBER + 2):
        by_link(client, order.number, "elodie@example.bf", ip=f"198.51.100.{n + 1}")

    assert len(mail.outbox) == lookup.LINKS_PER_NUMBER


@pytest.mark.parametrize("link", ["abc", "eyJvIjoxfQ:1tFoo:bad-signature"])
def test_a_forged_link_is_404(client, link):
    assert client.get(f"{LINK_URL}{link}/").status_code == 404

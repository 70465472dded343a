"""Production behaviour that is not a page: health, CSP, rate limits, logs."""

from __future__ import annotations

import json
import logging

import pytest
from django.urls import reverse

from ashtech_store.logging import JsonFormatter
from payments.redaction import RedactingFilter
from tests.support.factories import make_order, make_product

pytestmark = pytest.mark.django_db


def test_health_reports_database_and_broker(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_health_is_503_when_the_broker_is_unreachable(client, settings):
    from ashtech_store.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/health/")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503 and response.json()["broker"].startswith("error")


def test_pages_carry_a_content_security_policy(client):
    make_product()
    policy = client.get("/").headers["Content-Security-Policy"]
    assert (
        "default-src 'self'" in policy
        and "script-src 'self'" in policy
        and "unsafe-inline" not in policy
    )


def test_checkout_is_rate_limited(client, settings):
    settings.RATELIMIT_CHECKOUT = "2/m"
    product = make_product(stock=50)
    client.post(reverse("shop:cart_add"), {"product_id": product.pk, "quantity": 1})
    codes = [client.post(reverse("shop:checkout"), {"full_name": ""}).status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    assert "Trop de tentatives" in client.post(reverse("shop:checkout"), {}).content.decode()


def test_order_page_is_rate_limited(client, settings):
    settings.RATELIMIT_ORDER_PAGE = "3/m"
    order = make_order()
    codes = [client.get(order.get_absolute_url()).status_code for _ in range(3)]
    codes += [client.get("/commande/guessing-a-token/").status_code]
    assert codes == [200, 200, 200, 429], "guessing tokens counts against the same limit"


def test_json_logs_are_one_object_per_line_without_secrets(settings):
    key = settings.PAYMENT_PROVIDERS["ligdicash"]["api_key"]
    record = logging.LogRecord(
        "payments", logging.WARNING, __file__, 1, "calling with %s", (key,), None
    )
    RedactingFilter().filter(record)
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "payments"
    assert key not in line and "***" in entry["message"]


def test_staff_login_is_rate_limited_per_username(client):
    codes = [
        client.post("/admin/login/", {"username": "boss", "password": f"guess{n}"}).status_code
        for n in range(6)
    ]
    assert codes[:5] == [200] * 5 and codes[5] == 429

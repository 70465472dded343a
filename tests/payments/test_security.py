"""Security: CSRF exemptions, safe redirects, rate limits, no secret in logs or
the journal, timeouts on every call, and the lock every entry point takes."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from payments import services
from payments.models import PaymentEvent
from payments.providers import get_provider
from payments.providers.base import PaymentView, ProviderError
from tests.support.factories import hold, make_order, make_product
from tests.support.kits.ligdicash import LigdicashKit

KIT = LigdicashKit()


def iter_patterns(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from iter_patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_csrf_exempt_only_on_the_provider_callback():
    exempt = sorted(
        path for path, view in iter_patterns(get_resolver()) if getattr(view, "csrf_exempt", False)
    )
    # The callback, with and without its trailing slash (one view).
    assert exempt == [
        "^payments/callback/(?P<provider>[A-Za-z0-9_-]+)$",
        "payments/callback/<str:provider>/",
    ]


@pytest.mark.urls("tests.support.sandbox_urls")
def test_with_the_sandbox_mounted_only_emulated_vendor_apis_skip_csrf():
    patterns = list(iter_patterns(get_resolver("tests.support.sandbox_urls")))
    exempt = sorted(path for path, view in patterns if getattr(view, "csrf_exempt", False))
    assert exempt == [
        "^payments/callback/(?P<provider>[A-Za-z0-9_-]+)$",
        "payments/callback/<str:provider>/",
    ]
    vendor = [path for path, view in patterns if getattr(view, "sandbox_vendor_api", False)]
    assert vendor and all(
        p.startswith("sandbox/") and not p.startswith("sandbox/page/") for p in vendor
    )


@pytest.mark.urls("tests.support.sandbox_urls")
def test_emulated_vendor_apis_skip_csrf_only_in_sandbox_mode(settings):
    client = Client(enforce_csrf_checks=True)
    url = "/sandbox/ligdicash/pay/v01/redirect/checkout-invoice/create"
    settings.PAYMENTS_SANDBOX = False
    assert client.post(url, data=b"{}", content_type="application/json").status_code == 403
    settings.PAYMENTS_SANDBOX = True
    assert (
        client.post(url, data=b"{}", content_type="application/json").status_code == 401
    )  # reached: no credentials
    assert client.post("/sandbox/page/ligdicash/nope/", {"action": "pay"}).status_code == 403, (
        "the hosted page keeps CSRF"
    )


@pytest.mark.parametrize(
    "target",
    [
        "http://evil.example/",
        "//evil.example",
        "https:///evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/\\evil.example",
        "/\\evil.example",
        "",
    ],
)
def test_redirect_targets_from_user_input_stay_on_our_host(client, target):
    """The only redirect taken from user input is the language switch's ``next``."""
    response = client.post("/i18n/setlang/", {"language": "en", "next": target}, HTTP_REFERER="")
    assert response.status_code == 302
    assert response["Location"].startswith("/") and not response["Location"].startswith("//")


def test_redirect_target_on_our_host_is_kept(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/panier/"})
    assert response["Location"] == "/panier/"


@pytest.mark.django_db
def test_payment_start_is_rate_limited(client, settings):
    settings.RATELIMIT_PAYMENT_START = "3/m"
    order = make_order()
    url = reverse("payments:pay", args=[order.token])
    codes = [client.post(url, {"choice": "nope:nope"}).status_code for _ in range(4)]
    assert codes[:3] == [400, 400, 400]
    assert codes[3] == 429


@pytest.mark.django_db
def test_status_json_and_wait_page_are_only_for_the_orders_holder(client, rsps):
    KIT.mock_initiate_ok(rsps)
    mine = services.start_payment(make_order(), "ligdicash", "hosted")
    other = make_order(full_name="Autre Personne", email="autre@example.bf")
    good = reverse("payments:status", args=[mine.order.token, mine.reference])
    assert client.get(good).status_code == 200
    for token, reference in [
        (other.token, mine.reference),
        (mine.order.token, uuid.uuid4()),
        (mine.order.token[:-1], mine.reference),
    ]:
        for name in ("payments:status", "payments:wait"):
            response = client.get(reverse(name, args=[token, reference]))
            assert response.status_code == 404
            assert mine.order.full_name.encode() not in response.content


@pytest.mark.django_db
def test_return_view_without_the_order_in_session_shows_no_order_data(client, rsps):
    KIT.mock_initiate_ok(rsps)
    payment = services.start_payment(make_order(full_name="Fatou Diallo"), "ligdicash", "hosted")
    KIT.mock_status(rsps, payment, "pending")
    response = client.get(reverse("payments:return", args=[payment.reference]))
    assert response.status_code == 200
    assert b"Fatou" not in response.content and payment.order.token.encode() not in response.content


# --- nothing secret in logs or the journal -----------------------------------------
@pytest.mark.django_db(transaction=True)
def test_no_secret_otp_or_phone_in_logs_during_a_full_payment(client, rsps, caplog):
    caplog.set_level(logging.DEBUG)
    rsps.post(
        "https://ligdicash.test/pay/v01/straight/checkout-invoice/create",
        json={
            "response_code": "00",
            "token": "tok-otp-1",
            "response_text": "",
            "description": "",
            "custom_data": {},
        },
    )
    order = make_order((make_product(), 1), phone="+22670998877")
    hold(client, order)
    response = client.post(
        reverse("payments:pay", args=[order.token]),
        {"choice": "ligdicash:orange_bf", "payer_phone": "70 99 88 77", "otp": "734512"},
    )
    assert response.status_code == 302
    payment = order.payments.get()
    body, _ = KIT.callback(payment)
    client.post(
        reverse("payments:callback", args=["ligdicash"]), data=body, content_type="application/json"
    )
    KIT.mock_status(rsps, payment, "succeeded")
    services.process_callback(PaymentEvent.objects.get(kind="callback").pk)
    logging.getLogger("payments").warning(
        "key leak test %s", settings.PAYMENT_PROVIDERS["ligdicash"]["api_key"]
    )
    sent = json.loads(rsps.calls[0].request.body)
    assert sent["commande"]["invoice"]["otp"] == "734512", "the OTP does reach the provider"
    journal = json.dumps(
        list(PaymentEvent.objects.values("data", "headers", "message")), default=str
    )
    logs = caplog.text + "".join(r.getMessage() for r in caplog.records)
    secrets = [
        settings.PAYMENT_PROVIDERS["ligdicash"]["api_key"],
        settings.PAYMENT_PROVIDERS["ligdicash"]["api_token"],
        "734512",
    ]
    for secret in secrets:
        assert secret not in journal
    for secret in [*secrets[:2], "22670998877", "70998877"]:
        assert secret not in caplog.text
    assert "***" in caplog.text  # the redacting filter replaced the key in the deliberate log line
    del logs


# --- every call has a timeout; a slow provider does not hold a worker ---------
class SlowHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        time.sleep(3)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_a_slow_provider_ends_at_the_configured_timeout():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        config = dict(
            settings.PAYMENT_PROVIDERS["ligdicash"],
            base_url=f"http://127.0.0.1:{server.server_port}",
        )
        provider = get_provider("ligdicash", config=config, timeout=(1.0, 0.5))
        started = time.monotonic()
        with pytest.raises(ProviderError) as excinfo:
            provider.fetch_status(
                PaymentView(reference="r", provider_reference="t", amount=1, currency="XOF")
            )
        assert time.monotonic() - started < 1.5
        assert excinfo.value.kind == "timeout" and excinfo.value.retryable
    finally:
        server.shutdown()


def test_default_timeouts_are_bounded():
    provider = get_provider("ligdicash")
    connect, read = provider.timeout
    assert connect <= 5 and 0 < read <= 20


# --- every entry point locks the payment row -------------------------------------
def locked_payment(queries) -> bool:
    return any(
        "FOR UPDATE" in q["sql"]
        and '"payments_payment"' in q["sql"].split("FOR UPDATE")[0].split("FROM")[1]
        for q in queries
        if "FROM" in q["sql"]
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_every_entry_point_changes_state_under_the_payment_row_lock(client, admin_client, rsps):
    KIT.mock_initiate_ok(rsps)

    def fresh():
        payment = services.start_payment(make_order(), "ligdicash", "hosted")
        KIT.mock_status(rsps, payment, "succeeded")
        return payment

    entry_points = {
        "poll": lambda p: services.check_payment(p.pk, source="poll"),
        "return view": lambda p: client.get(reverse("payments:return", args=[p.reference])),
        "callback task": lambda p: (
            client.post(
                reverse("payments:callback", args=["ligdicash"]),
                data=KIT.callback(p)[0],
                content_type="application/json",
            ),
            services.process_callback(
                PaymentEvent.objects.filter(kind="callback", payment=p).latest("id").pk
            ),
        ),
        "staff action": lambda p: admin_client.post(
            reverse("admin:payments_payment_changelist"),
            {"action": "recheck_now", "_selected_action": [p.pk]},
        ),
    }
    for name, call in entry_points.items():
        payment = fresh()
        with CaptureQueriesContext(connection) as ctx:
            call(payment)
        payment.refresh_from_db()
        assert payment.status == "succeeded", name
        assert locked_payment(ctx.captured_queries), f"{name} did not lock the payment row"

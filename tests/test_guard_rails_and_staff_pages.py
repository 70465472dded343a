"""Guard rails that cannot be silenced, 404 on malformed staff ids, and a
Content-Security-Policy on every staff page (review 2026-12-03 G-12, G-13, G-14)."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from ashtech_store import checks
from ashtech_store.middleware import admin_inline_hashes
from tests.support.backoffice import paid_order
from tests.support.deploy import ROOT, production_env

SILENCE_ALL = "ashtech.E001,ashtech.E010,ashtech.E011,ashtech.E012"


def python(env: dict, code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


# --- G-12: the sandbox in production cannot be silenced ----------------------
def test_silencing_the_checks_does_not_start_the_sandbox_in_production():
    """The review's switch: DEBUG=false PAYMENTS_SANDBOX=true with the guard
    rails listed in SILENCED_SYSTEM_CHECKS imported the WSGI app (rc=0)."""
    env = production_env()
    env.update(PAYMENTS_SANDBOX="true", SILENCED_SYSTEM_CHECKS=SILENCE_ALL)

    for code in ("import ashtech_store.wsgi", "import django; django.setup()"):
        result = python(env, code)
        assert result.returncode != 0, code
        assert "ImproperlyConfigured" in result.stderr and "ashtech.E010" in result.stderr


def test_silencing_the_checks_does_not_start_the_sandbox_on_an_https_site_either():
    env = production_env()
    env.update(
        DEBUG="true", PAYMENTS_SANDBOX="true", SILENCED_SYSTEM_CHECKS=SILENCE_ALL
    )  # https SITE_URL

    result = python(env, "import ashtech_store.wsgi")

    assert result.returncode != 0 and "ashtech.E011" in result.stderr


def test_a_debug_sandbox_on_http_still_starts():
    env = production_env()
    env.update(DEBUG="true", PAYMENTS_SANDBOX="true", SITE_URL="http://127.0.0.1:8000")

    result = python(env, "import django; django.setup()")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("check_id", ["ashtech.E010", "ashtech.E001"])
def test_server_start_ignores_silencing_for_the_guard_rails(settings, check_id):
    """A settings module built on ours (tests, bench) is stopped at WSGI import."""
    settings.DEBUG = False
    settings.PAYMENTS_SANDBOX = True
    settings.SILENCED_SYSTEM_CHECKS = sorted(SILENCE_ALL.split(","))

    with pytest.raises(ImproperlyConfigured, match=check_id):
        checks.refuse_unsafe_start()


def test_other_checks_can_still_be_silenced_at_server_start(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = "x" * 60
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"  # E002
    settings.SILENCED_SYSTEM_CHECKS = ["ashtech.E002"]

    checks.refuse_unsafe_start()


# --- G-13: malformed staff ids are 404 ----------------------------------------
@pytest.fixture
def boss(django_user_model, client):
    user = django_user_model.objects.create_superuser("boss", "boss@shop.test", "pw-long-enough")
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["payment", "refund", "mismatch"])
@pytest.mark.parametrize("pk", ["99999999", "99999999999999999999"])
def test_resolving_a_review_item_that_does_not_exist_is_404(boss, kind, pk):
    response = boss.post(
        f"/admin/backoffice/review/{kind}/{pk}/", {"action": "close", "note": "vu"}
    )

    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("payment", ["abc", "", "1e3", "99999999"])
def test_a_refund_form_naming_a_malformed_payment_is_404(boss, payment):
    order, _ = paid_order()

    response = boss.post(
        reverse("backoffice:refund", args=[order.pk]), {"payment": payment, "amount": "100"}
    )

    assert response.status_code == 404


# --- G-14: a CSP on every staff page, inline admin blocks allowed by hash -----
INLINE = re.compile(r"<(script|style)(\s[^>]*)?>(.*?)</\1>", re.S)


def sha256(body: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"


@pytest.mark.django_db
def test_every_staff_page_carries_a_policy_that_allows_only_its_own_inline_blocks(boss):
    order, payment = paid_order()
    pages = [
        "/admin/",
        "/admin/shop/order/",
        f"/admin/shop/order/{order.pk}/change/",
        "/admin/shop/product/add/",
        "/admin/payments/payment/",
        f"/admin/payments/payment/{payment.pk}/change/",
        reverse("backoffice:review"),
        reverse("backoffice:reconciliation"),
        reverse("backoffice:dashboard"),
        reverse("backoffice:refund", args=[order.pk]),
        reverse("backoffice:route_health"),
        "/admin/payments/routehealth/",
    ]
    for page in pages:
        response = boss.get(page)
        assert response.status_code == 200, page
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy, page
        assert "unsafe-inline" not in policy
        for kind, attributes, body in INLINE.findall(response.content.decode()):
            if "src=" in (attributes or "") or "application/json" in (attributes or ""):
                continue
            assert sha256(body) in policy, (page, kind, body[:80])


def test_the_staff_login_page_carries_the_policy_too(client):
    assert "script-src 'self'" in client.get("/admin/login/")["Content-Security-Policy"]


def test_the_change_list_s_inline_style_is_allowed_by_its_hash():
    """Django's change list has one inline <style> (a list without actions)."""
    import django.contrib.admin

    template = django.contrib.admin.__path__[0] + "/templates/admin/change_list.html"
    body = re.search(r"<style>(.*?)</style>", open(template).read(), re.S).group(1)

    assert sha256(body) in admin_inline_hashes()["style"]

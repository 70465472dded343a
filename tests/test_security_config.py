"""Configuration guard rails and staff access (security review 2026-11-29):
the real client address, the sandbox kept out of production,
SECRET_KEY, e-mail and media defaults, server-side staff
sessions, staff login back-off and ensure_staff."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client, RequestFactory

from ashtech_store import checks, staff_login
from ashtech_store.client_ip import client_ip
from payments.sandbox.models import SandboxPayment
from payments.sandbox.tasks import deliver_callback
from tests.support.deploy import ROOT, production_env

# --- one function knows the client's address -------------------------------
PROXY = "10.0.0.2"


def request_from(remote: str = PROXY, **headers):
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


def test_without_a_configured_proxy_header_the_peer_address_is_the_client(settings):
    settings.TRUSTED_PROXY_HEADER = ""

    assert (
        client_ip(request_from(HTTP_X_FORWARDED_FOR="203.0.113.7", HTTP_X_REAL_IP="203.0.113.8"))
        == PROXY
    )


def test_x_real_ip_set_by_the_proxy_is_the_client(settings):
    settings.TRUSTED_PROXY_HEADER = "X-Real-IP"

    assert client_ip(request_from(HTTP_X_REAL_IP="203.0.113.7")) == "203.0.113.7"
    assert client_ip(request_from(HTTP_X_REAL_IP="not-an-ip")) == PROXY
    assert client_ip(request_from()) == PROXY


@pytest.mark.parametrize(
    ("count", "header", "client"),
    [
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "192.0.2.66, 203.0.113.7", "203.0.113.7"),  # the client's own left entry is ignored
        (2, "192.0.2.66, 203.0.113.7, 10.0.0.9", "203.0.113.7"),  # two proxies
        (2, "203.0.113.7", PROXY),  # fewer hops than proxies: not through them
        (1, "", PROXY),
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "203.0.113.7, garbage", PROXY),
    ],
)
def test_x_forwarded_for_is_read_from_the_right(settings, count, header, client):
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    settings.TRUSTED_PROXY_COUNT = count

    assert client_ip(request_from(HTTP_X_FORWARDED_FOR=header)) == client


def test_the_header_is_ignored_from_anyone_but_the_listed_proxies(settings):
    settings.TRUSTED_PROXY_HEADER = "X-Real-IP"
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]

    assert client_ip(request_from("10.0.0.2", HTTP_X_REAL_IP="203.0.113.7")) == "203.0.113.7"
    assert client_ip(request_from("198.51.100.1", HTTP_X_REAL_IP="203.0.113.7")) == "198.51.100.1"


def test_django_ratelimit_keys_ip_limits_on_the_same_function(settings):
    from django_ratelimit.core import _get_ip

    settings.TRUSTED_PROXY_HEADER = "X-Real-IP"

    assert _get_ip(request_from(HTTP_X_REAL_IP="203.0.113.7")) == "203.0.113.7"


# --- the sandbox never runs in production ------------------------------------
def ids(errors) -> set[str]:
    return {e.id for e in errors}


@pytest.fixture
def sandbox_on(settings):
    settings.PAYMENTS_SANDBOX = True
    settings.DEBUG = True
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.PAYMENT_PROVIDERS = {
        "ligdicash": {
            "base_url": "http://127.0.0.1:8000/sandbox/ligdicash",
            "api_key": "sandbox-ligdicash_api_key",
            "api_token": "sandbox-x",
        },
        "novasend": {
            "base_url": "http://127.0.0.1:8000/sandbox/novasend",
            "webhook_secrets": ["sandbox-novasend-webhook"],
        },
    }
    return settings


def test_the_sandbox_in_a_debug_run_on_http_with_dummy_keys_is_fine(sandbox_on):
    assert checks.check_sandbox() == []


def test_the_sandbox_with_debug_off_is_an_error(sandbox_on):
    sandbox_on.DEBUG = False

    assert ids(checks.check_sandbox()) == {"ashtech.E010"}


def test_the_sandbox_on_an_https_site_is_an_error(sandbox_on):
    sandbox_on.SITE_URL = "https://shop.example.com"

    assert ids(checks.check_sandbox()) == {"ashtech.E011"}


@pytest.mark.parametrize(
    ("provider", "key", "value"),
    [("ligdicash", "api_key", "live-key-123"), ("novasend", "webhook_secrets", ["whsec-live"])],
)
def test_the_sandbox_with_a_real_credential_is_an_error(sandbox_on, provider, key, value):
    sandbox_on.PAYMENT_PROVIDERS[provider][key] = value

    errors = checks.check_sandbox()

    assert ids(errors) == {"ashtech.E012"}
    assert f"{provider}.{key}" in errors[0].msg and "live" not in errors[0].msg


def run_manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_manage_py_refuses_the_review_s_production_sandbox():
    """The review's reproduction of the sandbox in production passed
    `check --deploy --fail-level WARNING`."""
    env = production_env()
    env.update(
        PAYMENTS_SANDBOX="true", LIGDICASH_API_KEY="real-key", LIGDICASH_API_TOKEN="real-token"
    )

    result = run_manage(env, "check")

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "ashtech.E010" in output and "ashtech.E011" in output and "ashtech.E012" in output


def test_the_wsgi_application_refuses_to_start_with_the_sandbox_in_production():
    env = production_env()
    env.update(PAYMENTS_SANDBOX="true")

    result = subprocess.run(
        [sys.executable, "-c", "import ashtech_store.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0 and "ashtech.E010" in result.stderr


def settings_of(env: dict, expression: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_dummy_credentials_and_public_webhook_secrets_exist_only_with_debug():
    env = production_env()
    env.update(PAYMENTS_SANDBOX="true", SITE_URL="http://127.0.0.1:8000")
    expression = (
        "(settings.PAYMENT_PROVIDERS['ligdicash']['api_key'], "
        "settings.PAYMENT_PROVIDERS['novasend']['webhook_secrets'])"
    )

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "ashtech.E010" in result.stderr, "no settings, no dummies"
    env["DEBUG"] = "true"
    assert (
        settings_of(env, expression)
        == "('sandbox-ligdicash_api_key', ['sandbox-novasend-webhook'])"
    )


# --- the sandbox's own endpoints call and send browsers only to the shop ----
@pytest.fixture
def sandbox_urls(settings):
    settings.ROOT_URLCONF = "tests.support.sandbox_urls"
    settings.PAYMENTS_SANDBOX = True
    return settings


def sandbox_payment(**urls) -> SandboxPayment:
    values = {
        "provider": "ligdicash",
        "token": f"sb-{time.monotonic_ns()}",
        "merchant_reference": "ref",
        "amount": 15000,
        "currency": "XOF",
        "method": "hosted",
    }
    return SandboxPayment.objects.create(**values, **urls)


@pytest.mark.django_db
def test_the_sandbox_page_never_redirects_off_the_shop(client, sandbox_urls):
    sp = sandbox_payment(return_url="https://evil.example/", cancel_url="https://evil.example/")

    response = client.post(f"/sandbox/page/{sp.provider}/{sp.token}/", {"action": "pay"})

    assert response.status_code == 200
    assert "evil.example" not in response.get("Location", "")


@pytest.mark.django_db
def test_the_sandbox_page_still_returns_the_shopper_to_the_shop(client, sandbox_urls):
    back = f"{sandbox_urls.SITE_URL}/payments/return/abc/"
    sp = sandbox_payment(return_url=back, cancel_url=back)

    response = client.post(f"/sandbox/page/{sp.provider}/{sp.token}/", {"action": "pay"})

    assert response.status_code == 302 and response["Location"] == back


@pytest.mark.django_db
@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:8310/internal-admin-endpoint",
        "https://shop.test.evil.example/x",
        "https://shop.test@evil.example/",
    ],
)
def test_sandbox_callbacks_never_leave_the_shop(rsps, sandbox_urls, target):
    sp = sandbox_payment(callback_url=target, status=SandboxPayment.Status.SUCCEEDED)

    codes = deliver_callback(sp.pk)

    assert codes == [] and len(rsps.calls) == 0


@pytest.mark.django_db
def test_sandbox_callbacks_to_the_shop_are_delivered(rsps, sandbox_urls):
    target = f"{sandbox_urls.SITE_URL}/payments/callback/ligdicash/"
    rsps.add(responses.POST, target, json={"status": "received"})
    sp = sandbox_payment(callback_url=target, status=SandboxPayment.Status.SUCCEEDED)

    codes = deliver_callback(sp.pk)

    assert codes and set(codes) == {200}
    assert {call.request.url for call in rsps.calls} == {target}


# --- production defaults -------------------------------------
def test_the_development_secret_key_stops_start_up_with_debug_off():
    env = production_env()
    env.pop("SECRET_KEY")

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert (
        result.returncode != 0
        and "ImproperlyConfigured" in result.stderr
        and "SECRET_KEY" in result.stderr
    )


def test_a_settings_module_built_on_ours_is_caught_by_the_check(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = settings.DEV_SECRET_KEY

    assert ids(checks.check_secret_key()) == {"ashtech.E001"}


def test_an_unset_email_url_stops_start_up_with_debug_off():
    env = production_env()
    env.pop("EMAIL_URL", None)

    result = run_manage(env, "check")

    assert result.returncode != 0 and "ashtech.E002" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.mail.backends.console.EmailBackend",
        "ashtech_store.mail.UnconfiguredEmailBackend",
    ],
)
def test_mail_to_the_logs_or_nowhere_is_an_error_in_production(settings, backend):
    settings.DEBUG = False
    settings.EMAIL_BACKEND = backend

    assert ids(checks.check_email()) == {"ashtech.E002"}


def test_unconfigured_mail_is_refused_not_printed(settings, capsys):
    settings.EMAIL_BACKEND = "ashtech_store.mail.UnconfiguredEmailBackend"

    with pytest.raises(ImproperlyConfigured):
        mail.send_mail(
            "Commande",
            "Suivre votre commande : https://shop.test/commande/secret/",
            None,
            ["a@example.bf"],
        )

    assert "secret" not in capsys.readouterr().out


def test_media_is_not_served_by_django_in_production_by_default():
    env = production_env()
    env.pop("SERVE_MEDIA", None)

    assert settings_of(env, "settings.SERVE_MEDIA") == "False"
    env["SERVE_MEDIA"] = "true"
    assert settings_of(env, "settings.SERVE_MEDIA") == "True"


# --- staff sessions end on the server ---------------------------------------
@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "boss", password="right-horse-battery", is_staff=True, is_superuser=True
    )


def log_in(
    client: Client,
    password: str = "right-horse-battery",
    ip: str = "203.0.113.7",
    username: str = "boss",
):
    return client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


@pytest.mark.django_db
def test_a_staff_cookie_copied_before_logout_is_useless_after_it(staff, settings):
    browser = Client()
    assert log_in(browser).status_code == 302
    stolen = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert browser.get("/admin/shop/order/").status_code == 200

    browser.post("/admin/logout/")
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = stolen

    response = thief.get("/admin/shop/order/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_a_staff_session_ends_with_the_browser_and_after_its_lifetime(staff, settings):
    browser = Client()
    log_in(browser)
    assert browser.session.get_expire_at_browser_close()
    assert browser.get("/admin/shop/order/").status_code == 200

    session = browser.session
    session[staff_login.LOGIN_AT_KEY] = int(time.time()) - settings.STAFF_SESSION_AGE - 1
    session.save()

    response = browser.get("/admin/shop/order/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- failed staff logins slow their sender, nobody else ----------------------
@pytest.mark.django_db
def test_failures_from_one_address_never_lock_out_the_right_password_from_another(staff):
    attacker = Client()
    codes = [
        log_in(attacker, password=f"guess{n}", ip="198.51.100.66").status_code for n in range(6)
    ]

    assert codes[:5] == [200] * 5 and codes[5] == 429
    assert int(log_in(attacker, password="guess9", ip="198.51.100.66")["Retry-After"]) >= 1
    assert log_in(Client(), ip="203.0.113.7").status_code == 302, (
        "the owner gets in from their own address"
    )


@pytest.mark.django_db
def test_only_failures_count_not_successful_logins(staff):
    for _ in range(8):
        assert log_in(Client(), ip="203.0.113.7").status_code == 302


@pytest.mark.django_db
def test_the_wait_doubles_with_each_failure_and_is_capped(settings):
    settings.LOGIN_FREE_FAILURES = 5
    settings.LOGIN_MAX_DELAY = 900
    waits = []
    for _ in range(20):
        staff_login.record_failure("boss", "198.51.100.66")
        waits.append(staff_login.seconds_to_wait("boss", "198.51.100.66"))

    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4:9] == [2, 4, 8, 16, 32]
    assert max(waits) == 900
    assert staff_login.seconds_to_wait("boss", "203.0.113.7") == 0


@pytest.mark.django_db
def test_one_address_trying_many_usernames_is_slowed_down_too(staff, settings):
    settings.RATELIMIT_LOGIN = "100/m"
    client = Client()
    codes = [
        log_in(client, username=f"user{n}", password="x", ip="198.51.100.66").status_code
        for n in range(21)
    ]

    assert codes[:20] == [200] * 20 and codes[20] == 429
    assert log_in(Client(), ip="203.0.113.7").status_code == 302


@pytest.mark.django_db
def test_login_back_off_sees_the_client_behind_the_proxy(staff, settings):
    settings.TRUSTED_PROXY_HEADER = "X-Real-IP"
    attacker = Client()
    for n in range(6):
        attacker.post(
            "/admin/login/",
            {"username": "boss", "password": f"g{n}"},
            REMOTE_ADDR=PROXY,
            HTTP_X_REAL_IP="198.51.100.66",
        )

    owner = Client().post(
        "/admin/login/?next=/admin/",
        {"username": "boss", "password": "right-horse-battery"},
        REMOTE_ADDR=PROXY,
        HTTP_X_REAL_IP="203.0.113.7",
    )

    assert owner.status_code == 302


# --- ensure_staff ----------------------------------------------------------
@pytest.mark.django_db
def test_ensure_staff_keeps_a_password_changed_in_the_admin(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.STAFF_PASSWORD = ""
    call_command("ensure_staff", stdout=open(os.devnull, "w"))
    secret_file = tmp_path / "staff-password.txt"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    user = get_user_model().objects.get(username=settings.STAFF_USERNAME)
    assert user.check_password(secret_file.read_text())

    user.set_password("changed-in-the-admin-42")
    user.save()
    call_command("ensure_staff", stdout=open(os.devnull, "w"))

    user.refresh_from_db()
    assert user.check_password("changed-in-the-admin-42")


@pytest.mark.django_db
def test_ensure_staff_creates_the_password_file_owner_only_whatever_the_umask(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.STAFF_PASSWORD = ""
    previous = os.umask(0)
    try:
        call_command("ensure_staff", stdout=open(os.devnull, "w"))
    finally:
        os.umask(previous)

    assert stat.S_IMODE((tmp_path / "staff-password.txt").stat().st_mode) == 0o600

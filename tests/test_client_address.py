"""The client address behind the proxy (review 2026-12-03 G-09, G-15): a proxy
header trusted from anyone fails the deploy check, .env.example names the
compose network's proxy, and IPv6 clients are counted by their /64."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from ashtech_store import checks
from ashtech_store.client_ip import client_ip, rate_key, session_or_ip
from tests.support.deploy import ROOT, production_env


def deploy_check(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def env_example(name: str) -> str:
    return re.search(rf"^{name}=(.*)$", (ROOT / ".env.example").read_text(), re.M).group(1)


def test_a_proxy_header_trusted_from_anyone_fails_the_deploy_check():
    env = production_env()
    env.update(TRUSTED_PROXY_HEADER="X-Real-IP", TRUSTED_PROXIES="")

    result = deploy_check(env)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "ashtech.E020" in output and "TRUSTED_PROXIES" in output


def test_the_env_example_proxy_settings_pass_the_deploy_check():
    env = production_env()
    env.update(
        TRUSTED_PROXY_HEADER=env_example("TRUSTED_PROXY_HEADER"),
        TRUSTED_PROXIES=env_example("TRUSTED_PROXIES"),
    )

    result = deploy_check(env)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_env_example_proxy_is_the_compose_network_gateway():
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    gateway = compose["networks"]["default"]["ipam"]["config"][0]["gateway"]

    assert env_example("TRUSTED_PROXIES") == gateway
    assert env_example("TRUSTED_PROXY_HEADER") == "X-Real-IP"


def test_without_a_header_or_in_debug_there_is_nothing_to_check(settings):
    settings.DEBUG = False
    settings.TRUSTED_PROXY_HEADER = ""
    settings.TRUSTED_PROXIES = []
    assert checks.check_trusted_proxies() == []

    settings.TRUSTED_PROXY_HEADER = "X-Real-IP"
    settings.DEBUG = True
    assert checks.check_trusted_proxies() == []


def test_the_header_from_a_container_beside_the_proxy_is_ignored(settings):
    settings.TRUSTED_PROXY_HEADER = "X-Real-IP"
    settings.TRUSTED_PROXIES = ["172.30.0.1"]
    factory = RequestFactory()

    from_proxy = factory.get("/", REMOTE_ADDR="172.30.0.1", HTTP_X_REAL_IP="203.0.113.7")
    from_neighbour = factory.get("/", REMOTE_ADDR="172.30.0.5", HTTP_X_REAL_IP="203.0.113.7")

    assert client_ip(from_proxy) == "203.0.113.7"
    assert client_ip(from_neighbour) == "172.30.0.5"


# --- IPv6: one host, one /64 --------------------------------------------------
def request_from(address: str):
    return RequestFactory().get("/", REMOTE_ADDR=address)


def test_ipv6_clients_are_counted_by_their_slash_64():
    one = rate_key(request_from("2001:db8:1:2::1"))

    assert one == rate_key(request_from("2001:db8:1:2:ffff:abcd:1234:5678")) == "2001:db8:1:2::/64"
    assert one != rate_key(request_from("2001:db8:1:3::1"))
    assert rate_key(request_from("203.0.113.7")) == "203.0.113.7"


def test_an_ipv4_client_written_as_ipv6_is_the_same_client():
    assert client_ip(request_from("::ffff:203.0.113.7")) == "203.0.113.7"
    assert rate_key(request_from("::ffff:203.0.113.7")) == rate_key(request_from("203.0.113.7"))


def test_a_cookieless_request_is_keyed_by_its_slash_64():
    assert session_or_ip("g", request_from("2001:db8::1")) == session_or_ip(
        "g", request_from("2001:db8::9:9")
    )


@pytest.mark.django_db
def test_rotating_ipv6_addresses_inside_a_slash_64_does_not_reset_the_login_back_off():
    get_user_model().objects.create_user("boss", password="right-horse-battery", is_staff=True)
    codes = [
        Client()
        .post(
            "/admin/login/",
            {"username": "boss", "password": f"guess{n}"},
            REMOTE_ADDR=f"2001:db8:7:7::{n + 1:x}",
        )
        .status_code
        for n in range(6)
    ]

    assert codes[:5] == [200] * 5 and codes[5] == 429

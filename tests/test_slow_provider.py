"""No web worker waits on a provider (review 2026-12-03 F-25): a real gunicorn,
started with the production image's config (ashtech_store/gunicorn_conf.py)
cut down to ONE worker, keeps serving pages and checkouts while two payment
starts wait 15 s on a stub provider. With the former sync workers that one
worker answered nothing for 15 s.

Runs in ``make test`` (PostgreSQL: gunicorn reads the rows this test commits);
about 20 s."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django.db import connection

from tests.support.deploy import ROOT, production_env
from tests.support.e2e import csrf
from tests.support.factories import make_product

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
STUB_DELAY = 15.0
PROMPT = 3.0  # seconds a page or a checkout may take on this busy 2-core box


class SlowProvider(BaseHTTPRequestHandler):
    """Answers every call after STUB_DELAY seconds (the review's stalled vendor)."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(STUB_DELAY)
        try:
            self.send_response(503)
            self.end_headers()
        except OSError:  # the shop gave up first (read timeout)
            pass

    do_GET = do_POST  # noqa: N815

    def log_message(self, *args):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def stub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowProvider)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def shop(stub):
    db = connection.settings_dict
    port = free_port()
    env = production_env()
    env.update(
        DJANGO_SETTINGS_MODULE="tests.gunicorn_settings",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        STUB_PROVIDER_URL=stub,
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "-c",
            "python:ashtech_store.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            "/dev/null",
            "ashtech_store.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(f"{base}/", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


PHONES = iter(f"+22177123450{n}" for n in range(10))


def check_out(base: str, product) -> tuple[requests.Session, str]:
    """Product page → cart → checkout; returns the session and the pay page."""
    s = requests.Session()
    page = s.get(f"{base}/produit/{product.slug}/", timeout=10)
    s.post(
        f"{base}/panier/ajouter/",
        data={"csrfmiddlewaretoken": csrf(page.text), "product_id": product.pk, "quantity": "1"},
        timeout=10,
    )
    form = s.get(f"{base}/commande/", timeout=10)
    data = {
        "csrfmiddlewaretoken": csrf(form.text),
        "checkout_key": re.search(r'name="checkout_key" value="([^"]+)"', form.text).group(1),
        "full_name": "Awa Traoré",
        "email": f"awa{time.monotonic_ns()}@example.com",
        "country": "SN",
        "phone": next(PHONES),
    }
    pay = s.post(f"{base}/commande/", data=data, timeout=10)
    assert "/paiement/" in pay.url, re.findall(r"<li[^>]*>([^<]+)</li>", pay.text)
    return s, pay


def test_a_provider_answering_in_15_s_does_not_stop_other_shoppers(shop, settings):
    product = make_product(price=5000, stock=50)
    slow = []

    def start_payment():
        s, pay = check_out(shop, product)
        began = time.monotonic()
        answer = s.post(
            pay.url,
            data={"csrfmiddlewaretoken": csrf(pay.text), "choice": "dexchange:hosted"},
            allow_redirects=False,
            timeout=40,
        )
        slow.append((time.monotonic() - began, answer.status_code))

    starts = [threading.Thread(target=start_payment) for _ in range(2)]
    for thread in starts:
        thread.start()
    time.sleep(3)  # both payment starts are now waiting on the provider

    timings = {}
    for name, url in [
        ("home", "/"),
        ("list", "/produits/"),
        ("detail", f"/produit/{product.slug}/"),
    ]:
        began = time.monotonic()
        assert requests.get(f"{shop}{url}", timeout=10).status_code == 200
        timings[name] = time.monotonic() - began
    began = time.monotonic()
    check_out(shop, product)
    timings["checkout"] = time.monotonic() - began
    for thread in starts:
        thread.join(timeout=40)

    assert all(
        seconds < PROMPT * (3 if name == "checkout" else 1) for name, seconds in timings.items()
    ), timings
    assert len(slow) == 2 and all(seconds >= STUB_DELAY - 1 for seconds, _ in slow), slow
    assert max(timings.values()) < min(seconds for seconds, _ in slow) - 5, (timings, slow)

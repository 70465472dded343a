"""Fault tests with real processes.

A live server serves the shop and the sandbox; Celery worker and beat run as
separate processes (``tests/fault_settings.py``) on a Redis of their own
(port 6390) that these tests start, stop and kill. Callbacks are switched
off: only the poller and the sweep can finish a payment, which is what a
lost worker, broker or scheduler puts to the test. Each test ends with every
payment in its right final state and one e-mail per paid order.

Run with ``make test`` (a separate pytest run with
``TEST_CELERY_BROKER_URL=redis://127.0.0.1:6390/0``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse

from ashtech_store.queues import all_queues
from payments import services
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.sandbox.core import settle
from payments.sandbox.models import SandboxPayment
from shop.models import Order
from tests.conftest import _close_other_connections
from tests.support.factories import make_order, make_product, wait_for
from tests.support.sandbox_config import sandbox_providers

PORT = 6390
ROOT = Path(settings.BASE_DIR)
pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        f":{PORT}/" not in settings.CELERY_BROKER_URL,
        reason=f"run with TEST_CELERY_BROKER_URL=redis://127.0.0.1:{PORT}/0 (make test does)",
    ),
]


class Redis:
    """A redis-server of the tests' own, on loopback."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        if self.alive():
            return
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.alive, 10)

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
        else:
            redis.Redis(port=PORT).shutdown(nosave=True)
        wait_for(lambda: not self.alive(), 10)

    def alive(self) -> bool:
        try:
            return redis.Redis(port=PORT, socket_connect_timeout=0.2).ping()
        except redis.RedisError:
            return False


class Processes:
    """Celery worker / beat processes with the fault settings."""

    def __init__(self, site_url: str, mail_dir: str):
        db = connection.settings_dict
        self.env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="tests.fault_settings",
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            TEST_CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
            FAULT_SITE_URL=site_url,
            FAULT_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
            FAULT_MAIL_DIR=mail_dir,
        )
        self.running: list[subprocess.Popen] = []
        self.tmp = tempfile.mkdtemp(prefix="ashtech-beat-")

    def start(self, kind: str) -> subprocess.Popen:
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        if kind == "worker":
            args = [
                "worker",
                "-Q",
                ",".join(all_queues(queue)),
                "--pool",
                "threads",
                "-c",
                "4",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "WARNING",
            ]
        else:
            args = ["beat", "--schedule", f"{self.tmp}/beat-{len(self.running)}", "-l", "WARNING"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "ashtech_store", *args],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=open(f"{self.tmp}/{kind}-{len(self.running)}.log", "w"),  # noqa: SIM115
        )
        self.running.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(20)

    def stop_all(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                self.kill(proc, signal.SIGTERM)
        self.running.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture
def broker():
    server = Redis()
    server.start()
    yield server
    server.start()


@pytest.fixture
def shop(live_server, settings, broker):
    settings.ROOT_URLCONF = "tests.support.sandbox_urls"
    settings.SITE_URL = live_server.url
    settings.PAYMENTS_SANDBOX = True
    settings.ALLOWED_HOSTS = ["*"]
    settings.PAYMENT_POLL_BACKOFF = [1, 1, 2, 2, 3]
    settings.SANDBOX_SEND_CALLBACKS = False
    settings.PAYMENT_PROVIDERS = sandbox_providers(settings.PAYMENT_PROVIDERS, live_server.url)
    return live_server.url


@pytest.fixture
def procs(shop):
    mail_dir = tempfile.mkdtemp(prefix="ashtech-mail-")
    processes = Processes(shop, mail_dir)
    processes.mail_dir = mail_dir
    yield processes
    processes.stop_all()
    _close_other_connections()  # a killed worker's backend may linger
    shutil.rmtree(mail_dir, ignore_errors=True)


def emails_to(mail_dir: str, address: str) -> int:
    return sum(
        1
        for f in Path(mail_dir).glob("*.log")
        for block in f.read_text(errors="replace").split("\n" + "-" * 79 + "\n")
        if f"To: {address}" in block
    )


def start_paid_payment(email: str) -> Payment:
    """An attempt the shopper has paid in the sandbox; no callback, no return."""
    order = make_order((make_product(stock=2), 1), email=email)
    payment = services.start_payment(order, "ligdicash", "hosted")
    settle(
        SandboxPayment.objects.get(token=payment.provider_reference),
        SandboxPayment.Status.SUCCEEDED,
    )
    return payment


def status_checks(payment: Payment) -> int:
    return payment.events.filter(
        kind=PaymentEvent.Kind.REQUEST, message__contains="checkout-invoice/confirm"
    ).count()


def assert_paid_once(mail_dir: str, payment: Payment) -> None:
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and not payment.needs_review
    assert Order.objects.get(pk=payment.order_id).status == Order.Status.PAID
    assert (
        payment.events.filter(
            kind=PaymentEvent.Kind.DECISION, message__startswith="succeeded"
        ).count()
        == 1
    )
    order = Order.objects.get(pk=payment.order_id)
    wait_for(lambda: emails_to(mail_dir, order.email) >= 1, 20)
    time.sleep(1)
    assert emails_to(mail_dir, order.email) == 1


def test_f3_redis_down_during_checkout_then_the_sweep_finishes(shop, broker, procs, client):
    broker.stop()
    product = make_product(stock=2)
    client.post(reverse("shop:cart_add"), {"product_id": product.pk, "quantity": 1})
    data = {
        "full_name": "Moussa Koné",
        "email": "moussa@example.com",
        "country": "BF",
        "phone": "70 11 22 33",
        "checkout_key": "f3-key-0123456789abcdef",
    }
    response = client.post(reverse("shop:checkout"), data)
    assert response.status_code == 302
    response = client.post(response["Location"], {"choice": "ligdicash:hosted"})
    assert response.status_code == 302 and "/sandbox/page/" in response["Location"], (
        "no 500 while the broker is down"
    )
    payment = Payment.objects.get(order__email="moussa@example.com")
    settle(
        SandboxPayment.objects.get(token=payment.provider_reference),
        SandboxPayment.Status.SUCCEEDED,
    )
    broker.start()
    procs.start("worker")
    procs.start("beat")
    wait_for(lambda: Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED)
    assert_paid_once(procs.mail_dir, payment)


def test_f4_beat_down_for_a_while_then_every_due_payment_is_polled_once(shop, procs):
    payments = [start_paid_payment(f"f4-{n}@example.com") for n in range(5)]
    redis.Redis(
        port=PORT
    ).flushall()  # the polls enqueued at start are lost with the broker's memory
    Payment.objects.filter(pk__in=[p.pk for p in payments]).update(next_check_at=time_ago(600))
    procs.start("worker")
    procs.start("beat")
    wait_for(lambda: all(Payment.objects.get(pk=p.pk).is_final for p in payments))
    for payment in payments:
        assert_paid_once(procs.mail_dir, payment)
        assert status_checks(payment) == 1


def test_f5_two_beats_enqueue_each_due_payment_once(shop, procs):
    payments = [start_paid_payment(f"f5-{n}@example.com") for n in range(6)]
    redis.Redis(port=PORT).flushall()
    Payment.objects.filter(pk__in=[p.pk for p in payments]).update(next_check_at=time_ago(60))
    procs.start("beat")
    procs.start("beat")
    procs.start("worker")
    wait_for(lambda: all(Payment.objects.get(pk=p.pk).is_final for p in payments))
    time.sleep(5)  # two more sweep rounds of both beats
    for payment in payments:
        assert_paid_once(procs.mail_dir, payment)
        assert status_checks(payment) == 1


def test_f6_worker_killed_after_the_provider_answered_and_before_commit(shop, procs):
    payment = start_paid_payment("f6@example.com")
    worker = procs.start("worker")
    procs.start("beat")
    # Hold the order row: the worker's check gets the provider's answer, then
    # blocks on the lock inside apply_status — the moment to kill it.
    with transaction.atomic():
        Order.objects.select_for_update().get(pk=payment.order_id)
        wait_for(lambda: status_checks(payment) >= 1)
        time.sleep(0.5)
        procs.kill(worker)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING, "the killed worker committed nothing"
    procs.start("worker")
    started = time.monotonic()
    wait_for(lambda: Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED)
    assert time.monotonic() - started <= 2 * 2 + 10, (
        "within about two sweep intervals (+ worker start-up)"
    )
    assert_paid_once(procs.mail_dir, payment)


def time_ago(seconds: int):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(seconds=seconds)

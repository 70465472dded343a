"""A mail server that hangs holds up no money (issue 15, item 7).

The confirmation is claimed in a short transaction, sent by the worker with
no lock held (``EMAIL_TIMEOUT`` bounds it), then recorded; a failed or
crashed send is queued again by the sweep; two sends at once give one
e-mail. Django's real SMTP backend talks to real servers on loopback
(``tests.support.smtp``), one of which accepts and never answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from payments import services
from shop import emails
from shop.models import Order
from tests.support.factories import make_order, make_product
from tests.support.kits.ligdicash import LigdicashKit
from tests.support.smtp import HungSmtpServer, SmtpServer

KIT = LigdicashKit()
ROOT = Path(__file__).resolve().parents[2]
PROMPT = 1.0  # seconds: a money path that takes longer waited on the mail server


def paid_by_return(rsps):
    """An order paid through the shopper's return (the status API says so)."""
    KIT.mock_initiate_ok(rsps)
    payment = services.start_payment(make_order((make_product(stock=3), 1)), KIT.code, KIT.method)
    KIT.mock_status(rsps, payment, "succeeded")
    payment = services.check_payment(payment.pk, source="return")
    return payment, Order.objects.get(pk=payment.order_id)


class Background(threading.Thread):
    """Run ``target`` in a thread with its own database connection."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.target, self.result, self.error = target, None, None

    def run(self):
        try:
            self.result = self.target()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            self.error = exc
        finally:
            connection.close()


def timed(action) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


# --- the money paths never wait on the mail server ---------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_hung_mail_server_holds_up_no_money_path_on_the_order(rsps, settings, queued_mail):
    payment, order = paid_by_return(rsps)
    assert queued_mail.names() == ["send_order_confirmation"], "queued, not sent by the return"
    with HungSmtpServer() as server:
        server.settings(settings, timeout=4)
        send = Background(queued_mail.run)  # the worker, stuck on the mail server
        send.start()
        assert server.connected.wait(10)

        # While it hangs: the order row is free, a status check on the same
        # order (the return, a poll) and the sweep all finish at once.
        def lock_order_now():
            with transaction.atomic():
                Order.objects.select_for_update(nowait=True).get(pk=order.pk)

        assert timed(lock_order_now) < PROMPT
        assert timed(lambda: services.check_payment(payment.pk, source="return")) < PROMPT
        assert timed(services.sweep) < PROMPT
        assert send.is_alive(), "the send was still hanging throughout"
        send.join(15)
    assert not send.is_alive() and send.error is None
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.confirmation_sent_at is None


@pytest.mark.django_db(transaction=True)
def test_email_timeout_ends_a_send_to_a_hung_server_and_the_sweep_retries_it(
    rsps, settings, queued_mail
):
    _, order = paid_by_return(rsps)
    with HungSmtpServer() as server:
        server.settings(settings, timeout=0.5)
        took = timed(queued_mail.run)
    assert took < 5, "EMAIL_TIMEOUT bounds the send"
    order.refresh_from_db()
    assert order.confirmation_sent_at is None

    # Not hammered: nothing is due again before the retry delay…
    assert services.sweep().emails == 0
    # …then the sweep queues it once, and a working server gets it.
    later = timezone.now() + emails.RETRY_DELAY + timedelta(seconds=1)
    assert emails.queue_due_confirmations(later) == 1
    assert emails.queue_due_confirmations(later) == 0, "leased: queued once"
    with SmtpServer() as server:
        server.settings(settings, timeout=5)
        queued_mail.run()
    assert len(server.messages) == 1
    order.refresh_from_db()
    assert order.confirmation_sent_at and order.confirmation_claimed_until is None


@pytest.mark.django_db(transaction=True)
def test_a_send_that_died_mid_way_is_sent_by_the_sweep_once_its_claim_runs_out(rsps, queued_mail):
    _, order = paid_by_return(rsps)
    queued_mail.calls.clear()
    # A worker claimed the send, then died (SIGKILL) before sending.
    assert emails._claim(order.pk, None)
    assert emails.deliver_order_confirmation(order.pk) is False, "the claim holds"
    assert emails.queue_due_confirmations() == 0

    assert emails.queue_due_confirmations(timezone.now() + emails.claim_ttl()) == 1
    queued_mail.run()
    assert [m.to for m in mail.outbox] == [[order.email]]


def test_a_claim_outlives_any_task():
    assert emails.claim_ttl().total_seconds() > django_settings.CELERY_TASK_TIME_LIMIT


@pytest.mark.django_db(transaction=True)
def test_the_sweep_gives_up_on_a_confirmation_after_the_retry_window(rsps, queued_mail):
    _, order = paid_by_return(rsps)
    later = timezone.now() + emails.RETRY_WINDOW + timedelta(minutes=1)
    assert emails.queue_due_confirmations(later) == 0
    assert emails.queue_due_confirmations() == 1


# --- exactly one e-mail ---------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("iteration", range(5))
def test_two_sends_at_once_give_one_email(rsps, settings, queued_mail, iteration):
    _, order = paid_by_return(rsps)
    # The return's task and a sweep's (carrying its lease) run together.
    lease = timezone.now() - timedelta(seconds=1)
    Order.objects.filter(pk=order.pk).update(confirmation_claimed_until=lease)
    barrier = threading.Barrier(2)

    def deliver(lease_iso):
        barrier.wait()
        return emails.deliver_order_confirmation(order.pk, lease_iso)

    with SmtpServer(delay=0.3) as server:
        server.settings(settings, timeout=5)
        sends = [Background(lambda: deliver(None)), Background(lambda: deliver(lease.isoformat()))]
        for send in sends:
            send.start()
        for send in sends:
            send.join(20)
    assert [s.error for s in sends] == [None, None]
    assert sorted(s.result for s in sends) == [False, True]
    assert len(server.messages) == 1
    order.refresh_from_db()
    assert order.confirmation_sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_second_send_while_the_first_is_in_flight_sends_nothing(rsps, settings, queued_mail):
    _, order = paid_by_return(rsps)
    with SmtpServer(delay=1.0) as server:
        server.settings(settings, timeout=5)
        first = Background(lambda: emails.deliver_order_confirmation(order.pk))
        first.start()
        assert server.connected.wait(10)
        assert emails.deliver_order_confirmation(order.pk) is False
        assert emails.queue_due_confirmations() == 0
        first.join(10)
    assert first.result is True and len(server.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_the_sweep_queues_nothing_once_sent(rsps, queued_mail):
    _, order = paid_by_return(rsps)
    queued_mail.run()
    assert len(mail.outbox) == 1
    assert services.sweep().emails == 0
    assert emails.deliver_order_confirmation(order.pk) is False
    assert len(mail.outbox) == 1


# --- staff alerts ---------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_staff_alert_is_queued_by_the_money_path_and_sent_by_the_worker(rsps, queued_mail):
    KIT.mock_initiate_ok(rsps)
    payment = services.start_payment(make_order((make_product(), 1)), KIT.code, KIT.method)
    KIT.mock_status(rsps, payment, "succeeded", amount=payment.amount - 1)
    services.check_payment(payment.pk, source="return")
    assert mail.outbox == [] and queued_mail.names() == ["alert_staff"]
    queued_mail.run()
    [alert] = mail.outbox
    assert alert.to == ["staff@shop.test"] and "needs review" in alert.subject


@pytest.mark.django_db(transaction=True)
def test_a_staff_alert_to_a_hung_server_gives_up_within_the_timeout(settings):
    with HungSmtpServer() as server:
        server.settings(settings, timeout=0.5)
        took = timed(lambda: emails.deliver_staff_alert("x", "y"))
    assert took < 5


# --- EMAIL_TIMEOUT from the environment -------------------------------------------------
@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, 10.0),
        ({"EMAIL_TIMEOUT": "3"}, 3.0),
        ({"EMAIL_URL": "smtp+tls://u:p@mail.test:587?timeout=7"}, 7.0),
        ({"EMAIL_URL": "smtp+tls://u:p@mail.test:587?timeout=7", "EMAIL_TIMEOUT": "2"}, 2.0),
    ],
)
def test_email_timeout_is_read_from_the_environment(env, expected):
    base = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_")}
    base["DEBUG"] = "true"
    base.update({"EMAIL_URL": "smtp://mail.test:25", **env})
    code = "from ashtech_store import settings; print(settings.EMAIL_TIMEOUT, settings.EMAIL_HOST)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(expected), "mail.test"]


def test_env_example_lists_email_timeout():
    assert "\nEMAIL_TIMEOUT=" in (ROOT / ".env.example").read_text()

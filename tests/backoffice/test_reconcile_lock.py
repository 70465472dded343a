"""One reconciliation per provider at a time (issue 20): the lock is a
PostgreSQL transaction-level advisory lock held by a transaction of its own,
so it works behind PgBouncer in transaction pooling. Two runs for one
provider at once: the second is skipped as "already running"; the lock is
gone when a run ends, finished or failed; while a run waits on the provider
it holds no row lock, and what it journalled stays written when it fails.

Real threads, each on its own PostgreSQL connection; the provider answers
through ``responses`` at its HTTP boundary."""

from __future__ import annotations

import html
import json
import threading
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.urls import reverse
from django.utils import timezone

from backoffice.reconcile import reconcile
from payments.models import Payment, PaymentEvent
from shop.locks import lock_order_and
from tests.support.backoffice import paid_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
LIGDI = "https://ligdicash.test/pay/v01/redirect/checkout-invoice/confirm/"


def completed(amount: int = 15000) -> str:
    return json.dumps(
        {"response_code": "00", "token": "t", "amount": str(amount), "status": "completed"}
    )


def since():
    return timezone.now() - timezone.timedelta(days=1)


def advisory_locks() -> list[str]:
    """The state of each backend holding an advisory lock in this database,
    seen from a fresh connection."""
    observer = connections.create_connection("default")
    try:
        with observer.cursor() as cursor:
            cursor.execute(
                "SELECT a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()"
            )
            return [state for (state,) in cursor.fetchall()]
    finally:
        observer.close()


def in_thread(work) -> tuple[threading.Thread, dict]:
    """``work()`` in a thread of its own (its own database connection)."""
    result: dict = {}

    def run() -> None:
        try:
            result["report"] = work()
        except Exception as exc:  # the caller asserts on it
            result["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@contextmanager
def ligdicash_run_held(rsps, on_call: int = 1):
    """A Ligdicash reconciliation in a thread of its own, held inside its
    ``on_call``-th provider call until the block ends; yields the calls seen
    so far and the run's result (filled once it ends)."""
    asking, answer = threading.Event(), threading.Event()
    calls: list[str] = []

    def provider(request):
        calls.append(request.params["invoiceToken"])
        if len(calls) == on_call:
            asking.set()
            assert answer.wait(20)
        return 200, {}, completed()

    rsps.add_callback("GET", LIGDI, callback=provider)
    thread, running = in_thread(lambda: reconcile(since=since(), provider="ligdicash"))
    try:
        assert asking.wait(20), running
        yield calls, running
    finally:
        answer.set()
        thread.join(30)


def test_a_second_run_for_the_same_provider_is_skipped_while_the_first_runs(rsps):
    _o, first = paid_order(provider_reference="A")
    _o, second = paid_order(provider_reference="B")
    # The first answer is journalled; the second call is held.
    with ligdicash_run_held(rsps, on_call=2) as (calls, running):
        # Held by an open transaction (transaction-level: PgBouncer-safe), not a session.
        assert advisory_locks() == ["idle in transaction"]

        skipped = reconcile(since=since(), provider="ligdicash")

        assert skipped.skipped == ["ligdicash"] and skipped.checked == 0
        assert len(calls) == 2  # the second run asked the provider nothing
        # A callback or a poll can lock a payment the run has already journalled:
        # the run holds no row lock while it waits on the provider.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            lock_order_and(Payment, first.pk)

    assert "error" not in running, running
    assert running["report"].skipped == [] and running["report"].checked == 2
    assert advisory_locks() == []
    PaymentEvent.objects.update(created_at=timezone.now() - timezone.timedelta(seconds=10))
    again = reconcile(since=since(), provider="ligdicash")
    assert again.skipped == [] and again.checked == 2


def test_the_staff_page_says_which_provider_was_already_being_reconciled(rsps, admin_client):
    paid_order(provider_reference="A")
    with ligdicash_run_held(rsps) as (_calls, running):
        page = admin_client.post(
            reverse("backoffice:reconciliation"), {"provider": "ligdicash"}, follow=True
        )

    said = html.unescape(page.content.decode())
    assert page.status_code == 200
    assert "0 paiements vérifiés, 0 nouveaux écarts." in said
    assert (
        "Ligdicash : une autre réconciliation est en cours, ses paiements n'ont pas été "
        "vérifiés. Relancez dans quelques minutes."
    ) in said
    assert running["report"].checked == 1


def test_another_provider_is_reconciled_while_one_runs(rsps):
    paid_order(provider_reference="A")
    paid_order("lengopay", provider_reference="cGF5MQ")
    rsps.post(
        "https://lengopay.test/api/v1/cashin/all-transactions",
        json=[{"pay_id": "cGF5MQ", "status": "SUCCESS", "amount": 15000}],
    )
    with ligdicash_run_held(rsps) as (_calls, running):
        other = reconcile(since=since(), provider="lengopay")

    assert other.skipped == [] and other.checked == 1
    assert running["report"].skipped == []


def test_a_run_that_fails_releases_the_lock_and_keeps_what_it_journalled(rsps):
    """The run's database connection dies during its second provider call
    (a restart, a pooler closing it): the run fails; the first call's journal
    stays written, and the next run is not told "already running"."""
    for reference in ("A", "B", "C"):
        paid_order(provider_reference=reference)
    calls: list[str] = []

    def provider(request):
        calls.append(request.params["invoiceToken"])
        if len(calls) == 2:  # end the run's own connection (this thread's)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            killer = connections.create_connection("default")
            try:
                with killer.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            finally:
                killer.close()
        return 200, {}, completed()

    rsps.add_callback("GET", LIGDI, callback=provider)
    thread, failed = in_thread(lambda: reconcile(since=since(), provider="ligdicash"))
    thread.join(30)

    assert isinstance(failed.get("error"), DatabaseError), failed
    assert len(calls) == 2
    journalled = PaymentEvent.objects.filter(kind="request", message__startswith="reconcile:")
    assert journalled.count() == 1  # the first exchange survived the failure
    assert advisory_locks() == []
    journalled.update(created_at=timezone.now() - timezone.timedelta(seconds=10))
    again = reconcile(since=since(), provider="ligdicash")
    assert again.skipped == [] and again.checked == 3

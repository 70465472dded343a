"""One lock order for the whole money path: the order row, then the payment
or refund row, every ``select_for_update`` through ``shop.locks``."""

import ast
import pathlib
import threading
import time

import pytest
from django.db import OperationalError, connection, transaction

from payments.models import Payment, PaymentStatus
from payments.providers import get_provider
from payments.providers.base import Initiation
from payments.services import cancel_payment
from payments.services.start import _keep_answer
from shop.locks import lock_order
from tests.support.factories import make_order, make_payment

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOCK_MODULES = {"shop/locks.py"}


def test_no_select_for_update_outside_the_lock_module():
    found = []
    for app in ("shop", "payments", "backoffice"):
        for path in (ROOT / app).rglob("*.py"):
            rel = str(path.relative_to(ROOT))
            if "migrations" in path.parts or "sandbox" in path.parts or rel in LOCK_MODULES:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr == "select_for_update":
                    found.append(f"{rel}:{node.lineno}")
    assert found == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_keeping_a_late_initiation_answer_locks_the_order_before_the_payment():
    """While another transaction holds the order row, keeping the provider's
    answer for an attempt that ended meanwhile must wait on the order first,
    without having touched the payment row (the old code updated the payment,
    then waited on the order: the inverse of every other path)."""
    order = make_order()
    payment = make_payment(order, provider_reference="")
    cancel_payment(payment.pk, reason="superseded")
    provider = get_provider("ligdicash")
    holding, release, done = threading.Event(), threading.Event(), threading.Event()

    def hold_order():
        try:
            with transaction.atomic():
                lock_order(order.pk)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    def keep():
        try:
            _keep_answer(
                Payment.objects.get(pk=payment.pk),
                provider,
                Initiation(provider_reference="late-tok"),
                redirect_refused=False,
            )
            done.set()
        finally:
            connection.close()

    holder = threading.Thread(target=hold_order)
    holder.start()
    assert holding.wait(10)
    keeper = threading.Thread(target=keep)
    keeper.start()
    time.sleep(0.5)  # the keeper is now waiting on the order row
    try:
        with transaction.atomic():
            Payment.objects.select_for_update(nowait=True).get(pk=payment.pk)
        payment_free = True
    except OperationalError:
        payment_free = False
    finally:
        release.set()
        holder.join(10)
        keeper.join(10)
        connection.close()
    assert payment_free, "the payment row was locked before the order row"
    assert done.is_set()
    payment.refresh_from_db()
    assert payment.provider_reference == "late-tok" and payment.status == PaymentStatus.CANCELLED
    assert payment.watch_until is not None

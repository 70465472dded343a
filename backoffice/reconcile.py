"""Reconciliation: compare our payments with what each provider says.

For every payment in the window, ask the provider (one call at a time per
provider — a PostgreSQL transaction-level advisory lock per provider, held
by a transaction of its own (``_provider_lock``), so a nightly run and a
staff click never overlap, even behind PgBouncer — and at most one per 5 s
per payment, as the poller), compare, and keep each mismatch once (unique per payment and kind):
a second run finds the same rows and changes nothing. Nothing here moves a
payment: a mismatch goes to the review queue; staff decide.

LengoPay's transaction history answers for many payments in one call; a
payment missing from it is asked by its status endpoint.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.providers import get_provider
from payments.providers.base import Outcome, ProviderError, StatusResult
from payments.services import gateway, payment_view, record

from .models import ReconciliationMismatch

log = logging.getLogger(__name__)
MIN_INTERVAL = 5.0  # seconds between two calls about one payment
NEGATIVE = (Outcome.FAILED, Outcome.EXPIRED, Outcome.CANCELLED)


@dataclass
class Report:
    checked: int = 0
    mismatches: list[ReconciliationMismatch] = field(default_factory=list)
    new: list[ReconciliationMismatch] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def compare(payment: Payment, result: StatusResult) -> tuple[str, str, str] | None:
    """(kind, ours, theirs) when our books and the provider's disagree."""
    here = payment.status == PaymentStatus.SUCCEEDED
    there = result.outcome
    if there == Outcome.SUCCEEDED and not here:
        return ReconciliationMismatch.Kind.PAID_THERE, payment.status, f"succeeded {result.amount}"
    if (
        here
        and there == Outcome.SUCCEEDED
        and result.amount is not None
        and result.amount != payment.amount
    ):
        return (
            ReconciliationMismatch.Kind.AMOUNT,
            f"{payment.amount} {payment.currency}",
            f"{result.amount} {result.currency or ''}".strip(),
        )
    if here and there in NEGATIVE + (Outcome.PENDING,):
        return ReconciliationMismatch.Kind.PAID_HERE, payment.status, there.value
    if (
        there == Outcome.UNKNOWN
        and payment.provider_reference
        and (here or payment.status == PaymentStatus.PENDING)
    ):
        return (
            ReconciliationMismatch.Kind.UNKNOWN_THERE,
            payment.status,
            (result.message or "unknown")[:60],
        )
    return None


def reconcile(since, provider: str | None = None, until=None) -> Report:
    """Reconcile every payment created since ``since`` (optionally one provider)."""
    until = until or timezone.now()
    payments = (
        Payment.objects.filter(created_at__gte=since, created_at__lte=until)
        .select_related("order")
        .order_by("provider", "created_at")
    )
    if provider:
        payments = payments.filter(provider=provider)
    report = Report()
    by_provider: dict[str, list[Payment]] = {}
    for payment in payments:
        by_provider.setdefault(payment.provider, []).append(payment)
    for code, rows in by_provider.items():
        with _provider_lock(code) as locked:
            if not locked:
                report.skipped.append(code)
                continue
            _reconcile_provider(code, rows, report)
    return report


def _reconcile_provider(code: str, payments: list[Payment], report: Report) -> None:
    provider = get_provider(code)
    history = None
    if provider.has_history:
        try:
            history = gateway.call(provider, "history", provider.history, _journal(None, code))
        except ProviderError as exc:  # scrubbed by the gateway
            log.info("%s history unavailable: %s", code, exc)
    for payment in payments:
        result = (history or {}).get(payment.provider_reference)
        if result is None:
            if not _may_ask(payment):
                continue
            result = _ask(provider, payment)
        report.checked += 1
        found = compare(payment, result)
        if found:
            mismatch, new = _keep(payment, result, *found)
            report.mismatches.append(mismatch)
            if new:
                report.new.append(mismatch)


def _may_ask(payment: Payment) -> bool:
    recent = timezone.now() - timedelta(seconds=MIN_INTERVAL)
    return not payment.events.filter(
        kind=PaymentEvent.Kind.REQUEST, created_at__gte=recent
    ).exists()


def _ask(provider, payment: Payment) -> StatusResult:
    view = payment_view(payment)
    return gateway.ask(
        provider, "status", lambda: provider.fetch_status(view), _journal(payment, provider.code)
    )


def _journal(payment: Payment | None, code: str):
    def write(exchanges: list[dict]) -> None:
        for exchange in exchanges:
            record(
                payment,
                code,
                PaymentEvent.Kind.REQUEST,
                f"reconcile: {exchange['method']} {exchange['url']}",
                exchange,
            )

    return write


def _keep(
    payment: Payment, result: StatusResult, kind: str, ours: str, theirs: str
) -> tuple[ReconciliationMismatch, bool]:
    evidence = {
        "outcome": result.outcome.value,
        "amount": result.amount,
        "currency": result.currency,
        "message": result.message[:200],
    }
    existing = ReconciliationMismatch.objects.filter(payment=payment, kind=kind).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            mismatch = ReconciliationMismatch.objects.create(
                payment=payment,
                provider=payment.provider,
                kind=kind,
                ours=ours[:60],
                theirs=theirs[:60],
                evidence=evidence,
            )
            record(
                payment,
                payment.provider,
                PaymentEvent.Kind.DECISION,
                f"reconciliation mismatch: {kind}",
                evidence,
            )
    except IntegrityError:  # a concurrent run kept it first
        return ReconciliationMismatch.objects.get(payment=payment, kind=kind), False
    return mismatch, True


class _provider_lock:
    """One reconciliation per provider at a time, across processes and machines:
    ``pg_try_advisory_xact_lock`` in a transaction of its own, on a database
    connection of its own, open while the provider is reconciled and rolled
    back (it writes nothing) when the run ends, finished or failed; a process
    that dies ends it with its connection. A no-op on SQLite.

    Transaction-scoped, so behind PgBouncer in transaction pooling the lock
    lives and ends on the one server connection the pooler gives that open
    transaction (a session lock's unlock could land on another server
    connection and leave the lock held). Not a transaction around the
    reconciliation itself: its journal (each provider exchange, each
    mismatch and its decision event) must stay written when a later call
    fails, and each journal row's insert holds a ``FOR KEY SHARE`` lock on its
    payment until commit — a callback or a poll locking that payment (``FOR
    UPDATE``, shop/locks.py) would wait for the whole run. The
    reconciliation's own writes commit as they are made."""

    def __init__(self, code: str):
        digest = hashlib.blake2b(f"reconcile:{code}".encode(), digest_size=8).digest()
        self.key = int.from_bytes(digest, "big", signed=True)
        self.holder: BaseDatabaseWrapper | None = None

    def __enter__(self) -> bool:
        if connection.vendor != "postgresql":
            return True
        holder = connections.create_connection(connection.alias)
        try:
            holder.set_autocommit(False)  # the next statement opens the transaction
            with holder.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [self.key])
                held = bool(cursor.fetchone()[0])
        except BaseException:
            holder.close()
            raise
        if not held:
            _end(holder)
            return False
        self.holder = holder
        return True

    def __exit__(self, *exc) -> None:
        if self.holder is not None:
            holder, self.holder = self.holder, None
            _end(holder)


def _end(holder: BaseDatabaseWrapper) -> None:
    """Roll the lock's transaction back (releasing the lock) and close its
    connection; closing alone also ends it, should the rollback fail."""
    try:
        holder.rollback()
    finally:
        holder.close()


def cash_collections(since, until=None):
    """Money taken at the door or a pickup point in the window, listed as
    "cash" beside the providers: no provider to ask, so staff match these
    against what the couriers hand in."""
    from shop.models import CashCollection

    rows = CashCollection.objects.filter(collected_at__gte=since)
    if until is not None:
        rows = rows.filter(collected_at__lte=until)
    return rows.select_related("order", "collected_by").order_by("collected_at")


def as_csv(mismatches) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["found_at", "provider", "payment", "order", "kind", "ours", "theirs", "resolved_at"]
    )
    for m in mismatches:
        writer.writerow(
            [
                m.found_at.isoformat(),
                m.provider,
                m.payment.reference,
                m.payment.order.number,
                m.kind,
                m.ours,
                m.theirs,
                m.resolved_at.isoformat() if m.resolved_at else "",
            ]
        )
    return out.getvalue()

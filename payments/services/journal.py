"""The payment journal: every outbound exchange, callback and decision is a
``PaymentEvent`` row (secrets and phone numbers removed before it is stored)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, connection, transaction

from ..models import Payment, PaymentEvent
from ..providers.base import Provider
from ..redaction import redact

log = logging.getLogger(__name__)


def record(
    payment: Payment | None, provider: str, kind: str, message: str, data: Any = None
) -> PaymentEvent:
    return PaymentEvent.objects.create(
        payment=payment,
        provider=provider,
        kind=kind,
        message=str(message)[:300],
        data=redact(data) if data is not None else {},
    )


def record_exchanges(payment: Payment, provider: Provider, *also: PaymentEvent) -> None:
    """Store the provider's outbound requests/answers (already redacted),
    and any further events, in one INSERT."""
    events = [
        PaymentEvent(
            payment=payment,
            provider=provider.code,
            kind=PaymentEvent.Kind.REQUEST,
            message=f"{x['method']} {x['url']}"[:300],
            data=x,
        )
        for x in provider.exchanges_for_journal()
    ]
    events.extend(also)
    if events:
        PaymentEvent.objects.bulk_create(events)
    provider.exchanges.clear()


def exchange_writer(model, **fields):
    """A journal for ``gateway.call``: each exchange one ``model`` row (a
    ``PaymentEvent``, a ``RefundEvent``) of kind REQUEST with ``fields``
    (its payment or refund), in one INSERT."""

    def write(exchanges: list[dict]) -> None:
        rows = [
            model(
                kind=model.Kind.REQUEST,
                message=f"{x['method']} {x['url']}"[:300],
                data=x,
                **fields,
            )
            for x in exchanges
        ]
        if len(rows) == 1 and not connection.in_atomic_block:
            # One row in autocommit: its INSERT is atomic by itself (no BEGIN/COMMIT).
            rows[0].save(force_insert=True)
            return
        with transaction.atomic():
            model.objects.bulk_create(rows)

    return write


def payment_journal(payment: Payment | None, provider_code: str):
    """The journal ``gateway.call`` writes a payment's exchanges to."""
    return exchange_writer(PaymentEvent, payment=payment, provider=provider_code)


def journal_safely(payment: Payment, provider: Provider, *also: PaymentEvent) -> None:
    """Journal the exchanges; a row the database refuses must not stop the
    answer from being applied (it is logged instead)."""
    try:
        with transaction.atomic():
            record_exchanges(payment, provider, *also)
    except DatabaseError as exc:
        provider.exchanges.clear()
        log.warning("exchanges of payment %s not journalled: %s", payment.pk, type(exc).__name__)


def record_failure(event_id: int, trace: str) -> None:
    """Journal a crash while handling a stored callback."""
    event = PaymentEvent.objects.filter(pk=event_id).values("payment_id", "provider").first()
    if event:
        PaymentEvent.objects.create(
            payment_id=event["payment_id"],
            provider=event["provider"],
            kind=PaymentEvent.Kind.ERROR,
            message=f"handling callback {event_id} failed",
            data={"event": event_id, "traceback": trace[-4000:]},
        )

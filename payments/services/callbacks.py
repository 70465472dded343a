"""Provider callbacks: the intake (store, verify, deduplicate, enqueue) and
what a stored callback does (it only triggers a status check).

``receive_callback`` is all the webhook view calls. Anything a vendor can
legitimately send gets a 2xx — a replay, a callback for a payment not known
yet — with one answer for all (no existence oracle); only an oversized,
malformed or forged body gets a 4xx, and every request is journalled.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from ashtech_store.client_ip import client_ip

from ..models import Payment, PaymentEvent, PaymentStatus
from ..providers import get_provider
from ..providers.base import CallbackRejected
from ..redaction import mask_phones_in_body, redact_headers
from .apply import check_payment, start_watch, watched
from .journal import record, record_failure
from .locks import lock
from .schedule import enqueue_poll, wake_once

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    """What the webhook view answers."""

    status: int = 200
    body: dict = field(default_factory=lambda: {"status": "received"})


RECEIVED = Receipt()


def receive_callback(provider_code: str, request) -> Receipt:
    """Store the request raw, check what can be checked locally, deduplicate,
    and enqueue a status check of its payment; answer at once."""
    provider = get_provider(provider_code)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "cookie"}
    stored = {
        "provider": provider.code,
        "kind": PaymentEvent.Kind.CALLBACK,
        "headers": redact_headers(headers),
        "remote_ip": client_ip(request),
    }
    length = _content_length(request)
    if length is None or length > settings.CALLBACK_MAX_BYTES:
        PaymentEvent.objects.create(
            **stored, valid=False, message=f"refused: body too large ({length} bytes)"
        )
        return Receipt(413, {"error": "body too large"})
    content_type = (request.content_type or "").lower()
    body = request.body
    # Refused bodies are kept for the record, but only their beginning.
    refused = {
        **stored,
        "body": mask_phones_in_body(body[: settings.CALLBACK_REFUSED_BODY_BYTES]),
        "valid": False,
    }
    if content_type not in provider.callback_content_types:
        PaymentEvent.objects.create(
            **refused, message=f"refused: content type {content_type[:50]!r}"
        )
        return Receipt(415 if body else 400, {"error": "unsupported content type"})
    try:
        info = provider.parse_callback(body, headers)
    except CallbackRejected as exc:
        PaymentEvent.objects.create(**refused, message=f"refused: {exc}"[:300])
        return Receipt(exc.status_code, {"error": str(exc)})

    payment_id = _callback_payment_id(provider.code, info.reference, info.provider_reference)
    dedup_key = (
        f"{provider.code}:{hashlib.sha256(info.event_id.encode()).hexdigest()}"
        if info.event_id
        else None
    )
    if payment_id is None:
        # The create call may still be in flight (its answer not stored yet):
        # kept, and linked by the sweep or the initiation when it lands.
        message = "callback for a payment not known yet (kept)"
    else:
        message = "signed callback" if info.authentic else "unsigned callback (hint only)"
    data = {
        "reference": info.reference[:64],
        "provider_reference": info.provider_reference[:512],
        "signed": bool(info.authentic),
    }
    try:
        event = _insert_once(
            **stored,
            payment_id=payment_id,
            body=mask_phones_in_body(body),
            valid=True,
            dedup_key=dedup_key,
            message=message,
            data=data,
        )
    except IntegrityError:
        # A replay (or Ligdicash's second encoding of the same event): counted
        # on the first row, not stored again, and acts on nothing.
        PaymentEvent.objects.filter(dedup_key=dedup_key).update(deliveries=F("deliveries") + 1)
        return RECEIVED
    if payment_id is None:
        log.warning(
            "callback from %s for a payment not known yet (event %s)", provider.code, event.pk
        )
    else:
        enqueue_callback(event.pk, payment_id, provider.code)
    return RECEIVED


def _insert_once(**fields) -> PaymentEvent:
    """Insert a callback row; a replay hits the unique ``dedup_key``.

    In autocommit (how requests run) a failed INSERT needs no savepoint; inside
    an outer transaction one is taken so the caller's transaction survives.
    """
    if not connection.in_atomic_block:
        return PaymentEvent.objects.create(**fields)
    with transaction.atomic():
        return PaymentEvent.objects.create(**fields)


def _content_length(request) -> int | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    return length if length >= 0 else None


def _callback_payment_id(provider: str, reference: str, provider_reference: str) -> int | None:
    """``callback_payment``'s id only: the intake reads nothing else of the row."""
    if reference:
        try:
            ours = uuid.UUID(str(reference))
        except ValueError:
            pass
        else:
            # The reference is unique: no ordering needed.
            found = Payment.objects.filter(provider=provider, reference=ours).values_list(
                "pk", flat=True
            )[:1]
            return next(iter(found), None)
    if provider_reference:
        return (
            Payment.objects.filter(provider=provider, provider_reference=provider_reference[:512])
            .values_list("pk", flat=True)
            .first()
        )
    return None


def callback_payment(provider: str, reference: str, provider_reference: str) -> Payment | None:
    """The payment a callback is about: by our reference, else the vendor's."""
    if reference:
        try:
            return Payment.objects.filter(
                provider=provider, reference=uuid.UUID(str(reference))
            ).first()
        except ValueError:
            pass
    if provider_reference:
        return Payment.objects.filter(
            provider=provider, provider_reference=provider_reference[:512]
        ).first()
    return None


# The stored row is the queue (``processed_at`` NULL until acted on): no
# Celery publish per callback (one cost ~1-2 ms of CPU, most of the intake),
# only a wake-up of that provider's drain, at most once per DRAIN_WINDOW per
# cache. One drain per provider: a burst from one provider (each row costs a
# status call to it) delays only that provider's callbacks, and the drains of
# several providers run side by side on the ``callbacks`` workers.
DRAIN_KEY = "payments:callback-drain:{}"
DRAIN_WINDOW = 1  # second


def enqueue_callback(event_id: int, payment_id: int, provider: str) -> None:
    """Wake ``provider``'s drain for a stored callback (its row already committed).

    The first callback of a window publishes one ``drain_callbacks`` task for
    that provider, due when the window closes; the others only find the key
    taken. Their rows were committed before the window closed, so that drain
    sees them. The beat runs the drain of every provider too, as the safety
    net of a lost wake-up."""
    from ..tasks import drain_callbacks

    wake_once(
        drain_callbacks,
        DRAIN_KEY.format(provider),
        DRAIN_WINDOW,
        DRAIN_WINDOW,
        args=(provider,),
        what=f"callback event {event_id} (payment {payment_id}, stays on its poll schedule)",
    )


def queued_callbacks():
    """Stored, locally valid callbacks of a known payment not acted on yet."""
    return PaymentEvent.objects.filter(
        kind=PaymentEvent.Kind.CALLBACK,
        valid=True,
        processed_at__isnull=True,
        payment__isnull=False,
    )


def _next_batch(provider: str | None, batch: int) -> list[int]:
    """The oldest queued callbacks of ``provider``; without one, of every
    provider taken in turn (each provider's oldest first), so that the beat's
    drain behind a burst from one provider still reaches the others at once."""
    queued = queued_callbacks()

    def oldest(code: str) -> list[int]:
        rows = queued.filter(provider=code).order_by("id").values_list("pk", flat=True)
        return list(rows[:batch])

    if provider is not None:
        return oldest(provider)
    providers = sorted(queued.order_by().values_list("provider", flat=True).distinct())
    per_provider = [oldest(code) for code in providers]
    taken_in_turn = [
        pk for row in itertools.zip_longest(*per_provider) for pk in row if pk is not None
    ]
    return taken_in_turn[:batch]


def drain_callbacks(provider: str | None = None, batch: int = 200) -> int:
    """Act on every queued callback of ``provider`` (oldest first), or of
    every provider in turn; returns how many.

    Each row is claimed (``processed_at`` set) before it is acted on, so two
    drains at once act on it once. A crash while acting is journalled next to
    the raw callback (``record_failure``) and the payment stays on its poll
    schedule, as before; a database outage gives the row back and raises (the
    task retries)."""
    done = 0
    while True:
        ids = _next_batch(provider, batch)
        for event_id in ids:
            if not PaymentEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(
                processed_at=timezone.now()
            ):
                continue  # another drain took it
            try:
                process_callback(event_id)
            except (OperationalError, InterfaceError):
                PaymentEvent.objects.filter(pk=event_id).update(processed_at=None)
                raise
            except Exception:
                log.exception("handling callback %s failed", event_id)
                record_failure(event_id, traceback.format_exc())
            done += 1
        if len(ids) < batch:
            return done


def _orphans(since):
    return PaymentEvent.objects.filter(
        kind=PaymentEvent.Kind.CALLBACK, valid=True, payment__isnull=True, created_at__gte=since
    )


def link_orphan_callbacks(payment: Payment | None = None, now=None, batch: int = 100) -> list[int]:
    """Attach valid callbacks that arrived before their payment was known
    (LengoPay's ``pay_id`` while the create answer was still in flight) and
    act on each once. With ``payment``: only that payment's (at initiation);
    without: any (the sweep), for ``PAYMENT_ORPHAN_WINDOW`` seconds."""
    now = now or timezone.now()
    if payment is not None:
        if not payment.provider_reference:
            return []
        rows = _orphans(payment.created_at - timedelta(seconds=5)).filter(
            provider=payment.provider, data__provider_reference=payment.provider_reference
        )
    else:
        rows = _orphans(now - timedelta(seconds=settings.PAYMENT_ORPHAN_WINDOW)).order_by(
            "-created_at"
        )
    linked = []
    for event_id, provider, data in rows.values_list("pk", "provider", "data")[:batch]:
        data = data if isinstance(data, dict) else {}
        target = payment or callback_payment(
            provider, str(data.get("reference") or ""), str(data.get("provider_reference") or "")
        )
        if target is None:
            continue
        if PaymentEvent.objects.filter(pk=event_id, payment__isnull=True).update(
            payment=target, message="callback linked to its payment"
        ):
            linked.append(event_id)
            pk = target.pk
            transaction.on_commit(
                lambda event_id=event_id, pk=pk, code=provider: enqueue_callback(event_id, pk, code)
            )
    return linked


def process_callback(event_id: int) -> Payment | None:
    """Act on a stored, locally-valid callback: it only triggers a status
    check; for a provider without a status API the check reads the result
    from the stored callbacks (``result_from_callbacks``).

    Unsigned callbacks cost us an outbound call each, so one payment gets at
    most one callback-triggered check per ``PAYMENT_CALLBACK_CHECK_INTERVAL``;
    a callback inside that interval moves the next scheduled check forward
    instead (nothing is dropped)."""
    payment_id = PaymentEvent.objects.values_list("payment_id", flat=True).get(pk=event_id)
    if payment_id is None:
        return None
    payment = Payment.objects.get(pk=payment_id)
    now = timezone.now()
    interval = timedelta(seconds=settings.PAYMENT_CALLBACK_CHECK_INTERVAL)
    if (
        payment.last_callback_check_at
        and payment.last_callback_check_at > now - interval
        and get_provider(payment.provider).has_status_api
    ):
        return _check_soon(payment_id, payment.last_callback_check_at + interval)
    return check_payment(payment_id, source="callback")


def _check_soon(payment_id: int, due) -> Payment:
    """Bring the next check of a live or watched attempt forward to ``due``."""
    with transaction.atomic():
        order, payment = lock(payment_id)
        if payment.status == PaymentStatus.PENDING or watched(payment):
            if payment.next_check_at is None or payment.next_check_at > due:
                payment.next_check_at = due
                payment.save(update_fields=["next_check_at", "updated_at"])
                transaction.on_commit(lambda: enqueue_poll(payment_id, due))
        elif payment.status != PaymentStatus.SUCCEEDED and not payment.needs_review:
            start_watch(
                payment,
                get_provider(payment.provider),
                "callback about an ended attempt",
                at_least=timedelta(hours=1),
            )
            payment.save(update_fields=["watch_until", "next_check_at", "updated_at"])
        record(
            payment,
            payment.provider,
            PaymentEvent.Kind.DECISION,
            "callback: checked moments ago, next check brought forward",
        )
        return payment

"""Factories for staff tests: paid orders, paid through the real payment
engine (``apply_status`` with the provider's success), so the payment keeps
what the provider reported and the order its "paid" event."""

from payments.providers.base import Outcome, StatusResult
from payments.services import apply_status
from tests.support.factories import make_order, make_payment, make_product


def paid_order(
    provider: str = "ligdicash",
    price: int = 15000,
    provider_reference: str = "tok-123",
    received: int | None = None,
    payer: str = "",
    **extra,
):
    """An order and its payment after the provider reported a success of
    ``received`` (the order's total by default). A short ``received`` leaves
    the payment flagged and the order unpaid, as the engine does."""
    order = make_order((make_product(price=price), 1))
    extra.setdefault("payer_phone", "+22670123456")
    payment = make_payment(order, provider=provider, provider_reference=provider_reference, **extra)
    payment = succeed(payment, received, payer)
    order.refresh_from_db()
    return order, payment


def late_paid(order, provider: str = "ligdicash", received: int | None = None, **extra):
    """A payment the provider took after the attempt had ended on our side:
    cancelled by us (another method chosen), then a success reported by a
    callback — the engine flags it (``LATE_SUCCESS``), status unchanged."""
    from payments.services import cancel_payment

    extra.setdefault("payer_phone", "+22670123456")
    payment = make_payment(order, provider=provider, **extra)
    cancel_payment(payment.pk, reason="superseded")
    return succeed(payment, received, source="callback")


def enable_novasend_refunds(settings) -> None:
    """Turn on Novasend's uncertain refund API, as NOVASEND_REFUNDS_ENABLED=true does."""
    providers = dict(settings.PAYMENT_PROVIDERS)
    providers["novasend"] = {**providers["novasend"], "refunds_enabled": "true"}
    settings.PAYMENT_PROVIDERS = providers


def succeed(payment, received: int | None = None, payer: str = "", source: str = "poll"):
    """The provider reports ``payment`` succeeded (its amount by default),
    as ``source`` (a poll; a callback for an attempt that had ended)."""
    apply_status(
        payment.pk,
        StatusResult(
            Outcome.SUCCEEDED,
            amount=payment.amount if received is None else received,
            currency=payment.currency,
            payer=payer,
        ),
        source=source,
    )
    payment.refresh_from_db()
    return payment

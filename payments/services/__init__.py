"""The only code that moves a payment (and, through it, an order) between states.

Where each thing happens:

* ``start`` — ``start_payment``: from the shopper's choice to the provider's answer.
* ``apply`` — ``check_payment`` / ``apply_status``: a provider's answer applied
  under lock, as ``payments.transitions.decide`` says; ``cancel_payment``.
* ``callbacks`` — ``receive_callback`` (the webhook intake) and
  ``process_callback`` (a stored callback only triggers a status check).
* ``schedule`` — when a payment is checked next; ``sweep`` — the safety net.
* ``journal`` — ``PaymentEvent`` rows; ``locks`` — the lock order.

Rules every caller can rely on:

* Lock order: the order row, then the payment row (``locks.lock``, through
  ``shop.locks``), both row-locked inside ``atomic()``. No lock is held
  during a provider call.
* Forward only: ``pending → succeeded | failed | expired | cancelled``; a final
  state never changes. Anomalies (money after an attempt ended, a second
  success, money that does not match) set ``needs_review``: never fulfilled,
  never dropped. An attempt ended on our side is watched until the provider
  can no longer take money on it.
* Exactly once: the order is marked paid once (its e-mail after commit); stock
  is released once (``Order.stock_reserved``).
* Tasks are enqueued after commit; the schedule lives in
  ``Payment.next_check_at``, so a lost task or a dead broker loses nothing.
"""

from .apply import apply_status, cancel_payment, check_payment, payment_view
from .callbacks import (
    RECEIVED,
    Receipt,
    callback_payment,
    drain_callbacks,
    enqueue_callback,
    link_orphan_callbacks,
    process_callback,
    queued_callbacks,
    receive_callback,
)
from .journal import record, record_exchanges, record_failure
from .schedule import (
    enqueue_poll,
    is_scheduled,
    poll_delay,
    poll_first_checks,
    wake_first_polls,
)
from .start import PaymentStartError, start_payment
from .sweep import SweepReport, expire_stale_orders, overdue_pending, sweep

__all__ = [
    "RECEIVED",
    "PaymentStartError",
    "Receipt",
    "SweepReport",
    "apply_status",
    "callback_payment",
    "cancel_payment",
    "check_payment",
    "drain_callbacks",
    "enqueue_callback",
    "enqueue_poll",
    "expire_stale_orders",
    "is_scheduled",
    "link_orphan_callbacks",
    "overdue_pending",
    "payment_view",
    "poll_delay",
    "poll_first_checks",
    "process_callback",
    "queued_callbacks",
    "receive_callback",
    "record",
    "record_exchanges",
    "record_failure",
    "start_payment",
    "wake_first_polls",
    "sweep",
]

"""The one way the shop talks to a provider: every call — a payment's
initiation or status, a refund or its status, the reconciliation's history —
goes through ``call`` or ``ask``, so each is treated the same way:

* timeouts: ``Provider.request`` puts ``PAYMENT_HTTP_TIMEOUT`` on every HTTP
  call (connect, read), follows no redirect;
* errors: a ``ProviderError`` keeps its flags (``unknown``, ``retryable``,
  ``retry_after``) and loses any credential from its message; anything else
  a module raises on a vendor's answer (odd types, too deep) becomes a
  ``ProviderError`` marked ``unknown`` — the vendor may have acted;
* journal: the exchanges the call made (secrets and phone numbers already
  removed by ``Provider.request``) go to the caller's journal whatever
  happened, and a journal the database refuses never hides the answer.

``ask`` is for questions whose answer is a ``StatusResult`` (status,
refund, refund status): any failure there is ``Outcome.UNKNOWN`` — never a
success, never a refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from ..providers.base import InvalidAmount, Outcome, Provider, ProviderError, StatusResult
from ..redaction import credentials_of, scrub

log = logging.getLogger(__name__)
T = TypeVar("T")
Journal = Callable[[list[dict]], None]


def call(provider: Provider, what: str, fn: Callable[[], T], journal: Journal) -> T:
    """Run ``fn`` (one provider call) and journal its exchanges; failures
    are raised as a scrubbed ``ProviderError`` (``InvalidAmount``, our own
    refusal before any call, passes through)."""
    try:
        return fn()
    except InvalidAmount:
        raise
    except ProviderError as exc:
        raise _scrubbed(provider, exc) from None
    except Exception as exc:  # an answer the module cannot read: the vendor may have acted
        log.exception("%s %s: unreadable answer", provider.code, what)
        raise ProviderError(
            f"{provider.code}: unreadable {what} answer ({type(exc).__name__})",
            kind="malformed",
            unknown=True,
        ) from None
    finally:
        exchanges = provider.exchanges_for_journal()
        provider.exchanges.clear()
        if exchanges:
            try:
                journal(exchanges)
            except Exception as exc:  # the answer must still be applied
                log.warning("%s %s: exchanges not journalled (%s)", provider.code, what, exc)


def ask(
    provider: Provider, what: str, fn: Callable[[], StatusResult], journal: Journal
) -> StatusResult:
    """A question whose answer is a ``StatusResult``; any failure is ``UNKNOWN``."""
    try:
        return call(provider, what, fn, journal)
    except ProviderError as exc:
        return StatusResult(Outcome.UNKNOWN, message=str(exc)[:500], retry_after=exc.retry_after)


def _scrubbed(provider: Provider, exc: ProviderError) -> ProviderError:
    clean = ProviderError(
        scrub(str(exc), credentials_of(provider.config)),
        kind=exc.kind,
        status_code=exc.status_code,
        retryable=exc.retryable,
        unknown=exc.unknown,
        retry_after=exc.retry_after,
        reached=exc.reached,
    )
    return clean

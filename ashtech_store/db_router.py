"""Where a query goes: the primary, except catalogue reads of catalogue pages,
which may go to a read replica (``DATABASE_REPLICA_URL``, issue 20 item 3).

A replica lags. A callback that reads a stale payment row, a stock check that
sees units already sold or an order total built from an old price would lose
or invent money, so the rule is narrow and fails safe:

* writes, and every read of any model not in ``CATALOGUE_MODELS`` (orders,
  payments, callbacks, refunds, stock movements, sessions, users): **primary**;
* catalogue models (categories, products, shop pages) read while serving a
  ``GET``/``HEAD`` of a catalogue page (home, product list, category, product,
  shop page), outside any transaction and before that request wrote
  anything: **replica**;
* everything else — a POST (cart, checkout, payment, callback), a Celery task,
  a management command, the admin, a read inside ``atomic()`` (where the
  money code takes its locks), a request after its first write: **primary**.

The request's kind comes from ``request_started`` (the WSGI environ), so
nothing in the views changes; a thread that did not see a request start (a
worker, a command, the first request of a process) reads the primary.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import connections
from django.urls import Resolver404, resolve

PRIMARY = "default"
REPLICA = "replica"

CATALOGUE_MODELS = frozenset({"shop.category", "shop.product", "shop.page"})
CATALOGUE_PAGES = frozenset(
    {"shop:home", "shop:products", "shop:category", "shop:product", "shop:page"}
)

_state = threading.local()


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def is_catalogue_page(method: str, path: str) -> bool:
    if method not in ("GET", "HEAD"):
        return False
    try:
        return resolve(path).view_name in CATALOGUE_PAGES
    except Resolver404:
        return False


def _request_started(sender: Any, environ: dict | None = None, **kwargs: Any) -> None:
    _state.catalogue = bool(
        environ is not None
        and replica_configured()
        and is_catalogue_page(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
    )


def _request_finished(sender: Any, **kwargs: Any) -> None:
    _state.catalogue = False


request_started.connect(_request_started, dispatch_uid="ashtech_store.db_router.started")
request_finished.connect(_request_finished, dispatch_uid="ashtech_store.db_router.finished")


class PrimaryUnlessCatalogueRouter:
    """``DATABASE_ROUTERS``: see the module docstring."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        if (
            getattr(_state, "catalogue", False)
            and model._meta.label_lower in CATALOGUE_MODELS
            and not connections[PRIMARY].in_atomic_block
            and replica_configured()
        ):
            return REPLICA
        return PRIMARY

    def db_for_write(self, model: Any, **hints: Any) -> str:
        _state.catalogue = False  # read your own writes for the rest of the request
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY

"""Shared fixtures. PostgreSQL-only tests carry ``@pytest.mark.postgres``."""

import pytest
import responses as responses_lib
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.cache import cache, caches
from django.utils import translation

from ashtech_store.celery import app
from ashtech_store.queues import all_queues
from tests.support.sandbox_config import sandbox_providers

# ``queued_mail``: run the e-mail tasks a test queued, as the worker would.
# The migrations' seeds put back after a transactional test's flush (``-n``).
pytest_plugins = ["tests.support.mail", "tests.support.seed"]

IS_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_collection_modifyitems(config, items):
    if IS_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL; `make test` does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters and cached fragments never leak between tests."""
    for alias in ("default", "fragments"):
        caches[alias].clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _french_again():
    """A request in English leaves English active in this thread: every test
    starts in the shop's language."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def rsps():
    """``responses`` at the provider's HTTP boundary; unexpected URLs fail."""
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    """A real Celery worker (threads) consuming this run's Redis queues, for
    one module only: other tests expect nobody to consume what they enqueue."""
    app.control.purge()
    with django_db_blocker.unblock():
        with start_worker(
            app,
            pool="threads",
            concurrency=4,
            perform_ping_check=False,
            shutdown_timeout=20,
            queues=all_queues(),  # every queue, each named under this run's default queue
        ):
            yield
        _close_other_connections()


def _close_other_connections() -> None:
    """The worker's threads leave their database connections open; end them
    so the test database can be dropped at the end of the run."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                "current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture
def sandbox_shop(live_server, settings, worker):
    """The live shop with the sandbox mounted and every provider pointed at it."""
    settings.ROOT_URLCONF = "tests.support.sandbox_urls"
    settings.SITE_URL = live_server.url
    settings.PAYMENTS_SANDBOX = True
    settings.ALLOWED_HOSTS = ["*"]
    settings.CSRF_TRUSTED_ORIGINS = [live_server.url]
    settings.PAYMENT_POLL_BACKOFF = [1, 1, 2, 2, 3]
    settings.SANDBOX_SEND_CALLBACKS = True
    settings.PAYMENT_PROVIDERS = sandbox_providers(settings.PAYMENT_PROVIDERS, live_server.url)
    return live_server.url


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Expose each phase's report on the item (screenshots on failure)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report

"""Shared fixtures. PostgreSQL-only tests carry ``@pytest.mark.postgres``."""

import pytest
import responses as responses_lib
from django.conf import settings
from django.core.cache import cache

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
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rsps():
    """``responses`` at the provider's HTTP boundary; unexpected URLs fail."""
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock

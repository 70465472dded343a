"""Settings of the real gunicorn that tests/test_slow_provider.py starts: the
test settings, with DEXCHANGE pointed at a local stub that answers slowly."""

from ashtech_store.settings import env
from tests.settings import *  # noqa: F403
from tests.settings import PAYMENT_PROVIDERS

SECRET_KEY = "gunicorn-test-key-not-the-development-one-0123456789abcdefghijkl"
CELERY_BROKER_URL = "memory://"
# Counters and sessions of this server only (not a Redis shared with other runs).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "fragments": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
PAYMENT_PROVIDERS = {
    **PAYMENT_PROVIDERS,
    "dexchange": {**PAYMENT_PROVIDERS["dexchange"], "base_url": env("STUB_PROVIDER_URL")},
}

"""Settings of the gunicorn and Celery processes that
tests/test_two_of_everything.py starts: the test settings, with Ligdicash
pointed at the purchase scenario's local stub (bench/purchase.py), this
run's queues, e-mails written to files, no rate limits (every shopper
comes from 127.0.0.1)."""

from ashtech_store.settings import env
from tests.settings import *  # noqa: F403
from tests.settings import PAYMENT_PROVIDERS

SECRET_KEY = "scale-test-key-not-the-development-one-0123456789abcdefghijklmn"
SITE_URL = env("SCALE_SITE_URL")
CELERY_TASK_DEFAULT_QUEUE = env("SCALE_QUEUE")
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = env("SCALE_MAIL_DIR")
RATELIMIT_ENABLE = False
SHOP_MAX_ORDERS_PER_ADDRESS_HOUR = 1_000_000
SHOP_MAX_HELD_VALUE_PER_ADDRESS = 10**12
PAYMENT_POLL_BACKOFF = [1, 1, 2, 2, 3]
PAYMENT_PROVIDERS = {
    **PAYMENT_PROVIDERS,
    "ligdicash": {**PAYMENT_PROVIDERS["ligdicash"], "base_url": env("STUB_PROVIDER_URL")},
}

"""Settings of the worker and beat *processes* that the fault tests start
and kill (tests/faults). The values come from the test that starts them."""

from ashtech_store.settings import env
from tests.settings import *  # noqa: F403
from tests.settings import PAYMENT_PROVIDERS
from tests.support.sandbox_config import sandbox_providers

SITE_URL = env("FAULT_SITE_URL")
PAYMENTS_SANDBOX = True
CELERY_TASK_DEFAULT_QUEUE = env("FAULT_QUEUE")
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = env("FAULT_MAIL_DIR")
PAYMENT_POLL_BACKOFF = [1, 1, 2, 2, 3]
PAYMENT_SWEEP_INTERVAL = 2
PAYMENT_SWEEP_GRACE = 1
CELERY_BEAT_SCHEDULE = {
    "sweep-payments": {"task": "payments.tasks.sweep_payments", "schedule": 2.0}
}
SANDBOX_SEND_CALLBACKS = False


PAYMENT_PROVIDERS = sandbox_providers(PAYMENT_PROVIDERS, SITE_URL)

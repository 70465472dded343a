"""The one retry policy of the Celery tasks that take ids and re-read rows under lock.

Database outages are retried with back-off and jitter, capped; the tasks of
``payments`` and ``backoffice`` pass it as ``@shared_task(acks_late=True, **RETRY)``.
"""

from django.db import InterfaceError, OperationalError

RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}

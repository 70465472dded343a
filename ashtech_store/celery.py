"""Celery application.

Settings come from Django's settings (namespace ``CELERY_``). With no
``CELERY_BROKER_URL`` the broker is kombu's ``filesystem://`` transport in
``var/broker`` so ``make run`` needs no Redis and still runs a real worker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ashtech_store.settings")

app = Celery("ashtech_store")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

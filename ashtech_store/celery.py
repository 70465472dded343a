"""Celery application.

Settings come from Django's settings (namespace ``CELERY_``). With no
``CELERY_BROKER_URL`` the broker is kombu's ``filesystem://`` transport in
``var/broker`` so ``make run`` needs no Redis and still runs a real worker.
"""

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

from .broker import ALIAS

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ashtech_store.settings")

# The embedded broker writes its messages atomically (ashtech_store/broker.py).
TRANSPORT_ALIASES["filesystem"] = ALIAS

app = Celery("ashtech_store")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Tasks that live beside the code they serve: product photo copies, lookup links.
app.autodiscover_tasks(["shop"], related_name="images")
app.autodiscover_tasks(["shop"], related_name="lookup")

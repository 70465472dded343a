"""WSGI entry point (gunicorn ashtech_store.wsgi).

The guard-rail checks run before the first request: gunicorn does not run
Django's system checks, and a sandbox or a public SECRET_KEY in production
must stop the server, not warn (ashtech_store.checks)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ashtech_store.settings")
application = get_wsgi_application()

from ashtech_store.checks import refuse_unsafe_start  # noqa: E402 - needs the app registry

refuse_unsafe_start()

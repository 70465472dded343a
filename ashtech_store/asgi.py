"""ASGI entry point; refuses to start on a guard-rail error (see wsgi.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ashtech_store.settings")
application = get_asgi_application()

from ashtech_store.checks import refuse_unsafe_start  # noqa: E402 - needs the app registry

refuse_unsafe_start()

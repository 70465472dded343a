"""WSGI entry point (gunicorn ashtech_store.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ashtech_store.settings")
application = get_wsgi_application()

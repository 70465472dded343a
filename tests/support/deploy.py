"""The production environment of ``.env.example``, for the deploy checks."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def production_env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PAYMENTS_", "SECURE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="ashtech_store.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="false",
        ALLOWED_HOSTS="shop.example.com",
        SITE_URL="https://shop.example.com",
        SECURE_SSL_REDIRECT="true",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_COOKIES="true",
        CACHE_URL="redis://127.0.0.1:6379/1",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        EMAIL_URL="smtp+tls://shop:secret@smtp.example.com:587",
        SILENCED_SYSTEM_CHECKS="",
    )
    return env

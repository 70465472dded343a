"""Test settings: the real settings, with fixed fake credentials and vendor
hosts that only ``responses`` answers (no test reaches the internet)."""

from ashtech_store.settings import *  # noqa: F403
from ashtech_store.settings import env

DEBUG = False
PAYMENTS_SANDBOX = False
SITE_URL = "https://shop.test"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost", "shop.test"]
CSRF_TRUSTED_ORIGINS = ["https://shop.test"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
SHOP_CURRENCY = "XOF"
SHOP_ALERT_EMAILS = ["staff@shop.test"]
CELERY_BROKER_URL = env("TEST_CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = False
CELERY_TASK_PUBLISH_RETRY = False
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

PAYMENT_PROVIDERS = {
    "ligdicash": {
        "base_url": "https://ligdicash.test",
        "api_key": "test-ligdi-apikey-7Q2",
        "api_token": "test-ligdi-token-9XK",
    },
    "novasend": {
        "base_url": "https://novasend.test",
        "api_key": "test-nova-key-4RT",
        "api_client": "test-nova-client-8PL",
        "account_id": "merchant_test01",
        "webhook_secrets": ["test-nova-whsec-old", "test-nova-whsec-new"],
    },
    "lygos": {
        "base_url": "https://lygos.test/v1",
        "api_key": "test-lygos-key-5MN",
        "webhook_secrets": ["test-lygos-whsec-old", "test-lygos-whsec-new"],
    },
    "lengopay": {
        "base_url": "https://lengopay.test",
        "license_key": "test-lengo-license-3JD",
        "website_id": "testWebsite01",
        "status_path": "/api/v2/cashin/transaction",
        "status_fallback_path": "/api/v1/transaction/status",
    },
    "dexchange": {"base_url": "https://dexchange.test", "api_key": "test-dex-key-6HW"},
}
# Each test run has its own queue, so parallel runs never consume each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = f"ashtech-test-{__import__('os').getpid()}"

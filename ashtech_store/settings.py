"""Settings for Ashtech Store.

Everything that differs between a laptop, CI and production comes from the
environment (django-environ); ``.env.example`` lists every variable. Nothing
else in the code base reads ``os.environ``.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="django-insecure-dev-only-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
# Every absolute URL we hand out (provider return/cancel/callback, e-mails) is
# built from SITE_URL, never from the request's Host header.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "shop",
    "payments",
    "payments.sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ashtech_store.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "payments.sandbox.middleware.SandboxVendorApiMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
]

ROOT_URLCONF = "ashtech_store.urls"
WSGI_APPLICATION = "ashtech_store.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.shop",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # SQLite for the embedded run: wait for the write lock rather than fail.
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://ashtech"),
    # Rendered page fragments (product grids), apart so they never evict
    # rate-limit counters; content-keyed, so a per-process memory cache is fine.
    "fragments": env.cache("FRAGMENT_CACHE_URL", default="locmemcache://fragments"),
}
CACHES["fragments"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 5000)

SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- i18n: French by default, English available -----------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env("TIME_ZONE", default="Africa/Ouagadougou")
USE_TZ = True

# --- static and media --------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
# Product pictures are served by the app when no proxy does it (embedded run,
# small deployments); a front proxy can take /media/ over.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
WHITENOISE_MAX_AGE = 60 * 60 * 24 * 30

# --- e-mail ------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Ashtech Store <boutique@ashtech.store>")
SHOP_ALERT_EMAILS = env.list("SHOP_ALERT_EMAILS", default=[])

# --- security ----------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG and SITE_URL.startswith("https"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Webhook bodies are small; anything bigger is refused before parsing (C-16).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
CALLBACK_MAX_BYTES = env.int("CALLBACK_MAX_BYTES", default=65_536)

# Rate limits (S-6): django-ratelimit, counted in the default cache.
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_VIEW = "shop.views.rate_limited"
RATELIMIT_CHECKOUT = env("RATELIMIT_CHECKOUT", default="10/m")
RATELIMIT_PAYMENT_START = env("RATELIMIT_PAYMENT_START", default="10/m")
RATELIMIT_ORDER_PAGE = env("RATELIMIT_ORDER_PAGE", default="60/m")
RATELIMIT_LOGIN = env("RATELIMIT_LOGIN", default="10/m")
RATELIMIT_LOGIN_PER_USER = env("RATELIMIT_LOGIN_PER_USER", default="5/m")
# The embedded run and tests use a per-process memory cache on purpose.
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=["django_ratelimit.W001"])

# --- the shop ----------------------------------------------------------------
SHOP_NAME = env("SHOP_NAME", default="Ashtech Store")
SHOP_CURRENCY = env("SHOP_CURRENCY", default="XOF").upper()
# Countries whose phone numbers checkout accepts (ISO 3166-1 alpha-2).
SHOP_COUNTRIES = env.list("SHOP_COUNTRIES", default=["BF", "CI", "SN", "ML", "BJ", "TG", "NE", "GN", "CM", "GA", "CG"])
SHOP_DEFAULT_COUNTRY = env("SHOP_DEFAULT_COUNTRY", default="BF")
PRODUCTS_PER_PAGE = 24
# The embedded run's staff login (manage.py ensure_staff).
STAFF_USERNAME = env("STAFF_USERNAME", default="staff")
STAFF_PASSWORD = env("STAFF_PASSWORD", default="")
CART_MAX_QUANTITY = 99

# --- payments ----------------------------------------------------------------
PAYMENTS_SANDBOX = env.bool("PAYMENTS_SANDBOX", default=False)
# How long a shopper has to pay one attempt before it expires (seconds).
PAYMENT_TTL = env.int("PAYMENT_TTL", default=30 * 60)
# Growing delays between status checks; every one is far below a quarter of
# the Redis visibility timeout.
PAYMENT_POLL_BACKOFF = [5, 10, 20, 40, 80, 160, 300]
PAYMENT_SWEEP_INTERVAL = env.int("PAYMENT_SWEEP_INTERVAL", default=30)
# A payment is "overdue" for the sweep this long after its next_check_at.
PAYMENT_SWEEP_GRACE = env.int("PAYMENT_SWEEP_GRACE", default=20)
# requests timeouts: (connect, read) seconds (S-9).
PAYMENT_HTTP_TIMEOUT = (
    env.float("PAYMENT_HTTP_CONNECT_TIMEOUT", default=5.0),
    env.float("PAYMENT_HTTP_READ_TIMEOUT", default=15.0),
)
# The browser return view asks the provider with a shorter read timeout.
PAYMENT_RETURN_TIMEOUT = (3.0, 5.0)
# A valid callback for a payment not known yet is kept and re-linked by the
# sweep for this long (seconds).
PAYMENT_ORPHAN_WINDOW = env.int("PAYMENT_ORPHAN_WINDOW", default=2 * 24 * 3600)

_sandbox_base = f"{SITE_URL}/sandbox"


def _provider_url(name: str, production: str) -> str:
    default = f"{_sandbox_base}/{name.lower()}" if PAYMENTS_SANDBOX else production
    return env(f"{name}_BASE_URL", default=default).rstrip("/")


def _secret(name: str) -> str:
    """A credential from the environment; the sandbox accepts a fixed dummy."""
    return env(name, default="sandbox-" + name.lower() if PAYMENTS_SANDBOX else "")


def _redirect_hosts(name: str) -> list[str]:
    """Hosts a provider may send shoppers to; empty: the module's defaults."""
    return env.list(f"{name}_REDIRECT_HOSTS", default=[])


PAYMENT_PROVIDERS = {
    "ligdicash": {
        "base_url": _provider_url("LIGDICASH", "https://app.ligdicash.com"),
        "api_key": _secret("LIGDICASH_API_KEY"),
        "api_token": _secret("LIGDICASH_API_TOKEN"),
        "redirect_hosts": _redirect_hosts("LIGDICASH"),
    },
    "novasend": {
        "base_url": _provider_url("NOVASEND", "https://business.novasend.app"),
        "api_key": _secret("NOVASEND_API_KEY"),
        "api_client": _secret("NOVASEND_API_CLIENT"),
        "account_id": _secret("NOVASEND_ACCOUNT_ID"),
        "webhook_secrets": env.list("NOVASEND_WEBHOOK_SECRETS", default=["sandbox-novasend-webhook"] if PAYMENTS_SANDBOX else []),
        "redirect_hosts": _redirect_hosts("NOVASEND"),
    },
    "lygos": {
        "base_url": _provider_url("LYGOS", "https://api.lygosapp.com/v1"),
        "api_key": _secret("LYGOS_API_KEY"),
        "webhook_secrets": env.list("LYGOS_WEBHOOK_SECRETS", default=["sandbox-lygos-webhook"] if PAYMENTS_SANDBOX else []),
        "redirect_hosts": _redirect_hosts("LYGOS"),
    },
    "lengopay": {
        "base_url": _provider_url("LENGOPAY", "https://portal.lengopay.com"),
        "license_key": _secret("LENGOPAY_LICENSE_KEY"),
        "website_id": _secret("LENGOPAY_WEBSITE_ID"),
        # Every callback is verified with the status endpoint; the v1 path is
        # the fallback when the v2 one answers 404 / 405.
        "status_path": env("LENGOPAY_STATUS_PATH", default="/api/v2/cashin/transaction"),
        "status_fallback_path": env("LENGOPAY_STATUS_FALLBACK_PATH", default="/api/v1/transaction/status"),
        "redirect_hosts": _redirect_hosts("LENGOPAY"),
    },
    "dexchange": {
        "base_url": _provider_url("DEXCHANGE", "https://api-m.dexchange.sn"),
        "api_key": _secret("DEXCHANGE_API_KEY"),
        "redirect_hosts": _redirect_hosts("DEXCHANGE"),
    },
}

# --- Celery ------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# A checkout must answer even when the broker is down (F-3): give up fast,
# the payment schedule is in the database and the sweep re-queues it.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # Q-3, safe because every task is idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# soft limit above connect + read timeout; hard limit = soft + 10 s.
CELERY_TASK_SOFT_TIME_LIMIT = int(sum(PAYMENT_HTTP_TIMEOUT)) + 10
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 10
# Keep our logging (and its redaction) in worker processes.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE = {
    "sweep-payments": {
        "task": "payments.tasks.sweep_payments",
        "schedule": float(PAYMENT_SWEEP_INTERVAL),
    },
}

# --- logging (no secrets: see payments.logging.RedactingFilter) --------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "payments.redaction.RedactingFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "ashtech_store.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": env("LOG_FORMAT", default="plain"), "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}

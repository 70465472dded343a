"""Settings for Ashtech Store.

Everything that differs between a laptop, CI and production comes from the
environment (django-environ); ``.env.example`` lists every variable. Nothing
else in the code base reads ``os.environ``.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from ashtech_store import guard_rails
from payments import registry

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# With DEBUG on, shoppers still get the shop's 404/429/500 pages (as in
# production); a developer who wants Django's debug pages sets this.
DEBUG_ERROR_PAGES = env.bool("DEBUG_ERROR_PAGES", default=False)
DEV_SECRET_KEY = "django-insecure-dev-only-set-SECRET_KEY-in-production"
SECRET_KEY = env("SECRET_KEY", default=DEV_SECRET_KEY)
# a public key signs sessions, CSRF tokens and password-reset links. This
# module refuses it outside DEBUG; a settings module built on top of this one
# (tests, bench) is caught by the system check ashtech.E001 instead.
if (
    not DEBUG
    and SECRET_KEY == DEV_SECRET_KEY
    and env("DJANGO_SETTINGS_MODULE", default=__name__) == __name__
):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: with DEBUG off the development key is refused. Set SECRET_KEY in "
        "the environment."
    )
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
    "django.contrib.postgres",  # full-text search with unaccent (shop search)
    "shop",
    "payments",
    "payments.sandbox",
    "backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ashtech_store.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "shop.middleware.FrenchUnlessChosen",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "payments.sandbox.middleware.SandboxVendorApiMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ashtech_store.middleware.StaffSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    "shop.middleware.FriendlyErrors",
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
# Optional read replica, for catalogue pages only; money, stock and orders always
# read and write the primary (ashtech_store/db_router.py says exactly what goes where).
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["ashtech_store.db_router.PrimaryUnlessCatalogueRouter"]
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Behind PgBouncer in transaction pooling (docker-compose.yml): no server-side
    # cursors and no prepared statements (each transaction may get another server
    # connection); persistent client connections to the pooler are fine.
    _transaction_pooling = env.bool("DATABASE_TRANSACTION_POOLING", default=False)
    for _db in DATABASES.values():
        _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
        _db["CONN_HEALTH_CHECKS"] = True
        if _transaction_pooling:
            _db["DISABLE_SERVER_SIDE_CURSORS"] = True
            _db.setdefault("OPTIONS", {})["prepare_threshold"] = None
else:
    # SQLite for the embedded run: wait for the write lock rather than fail.
    # IMMEDIATE takes the write lock at BEGIN, where the busy timeout applies
    # (a deferred transaction upgrading read→write fails at once with
    # "database is locked"); WAL lets readers run beside the one writer.
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://ashtech"),
    # Rendered page fragments (product grids), apart so they never evict
    # rate-limit counters; content-keyed, so a per-process memory cache is fine.
    "fragments": env.cache("FRAGMENT_CACHE_URL", default="locmemcache://fragments"),
}
CACHES["fragments"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 5000)

# sessions live on the server, so logging out (or a staff member being
# removed) ends them everywhere; a copied cookie is worthless afterwards.
# cached_db needs a cache every process shares (Redis, file); with a
# per-process memory cache another worker could still hold a logged-out
# session, so plain database sessions are used then.
_shared_cache = not CACHES["default"]["BACKEND"].endswith(
    ("locmem.LocMemCache", "dummy.DummyCache")
)
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if _shared_cache
    else "django.contrib.sessions.backends.db"
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
# Staff sessions are shorter and end with the browser (set at login, shop.apps).
STAFF_SESSION_AGE = env.int("STAFF_SESSION_AGE", default=8 * 3600)

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
FORMAT_MODULE_PATH = ["ashtech_store.formats"]  # en: day first (d/m/Y), 24-hour clock
USE_I18N = True
TIME_ZONE = env("TIME_ZONE", default="Africa/Ouagadougou")
USE_TZ = True

# --- static and media --------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
# Product pictures are served by the app in development; in production the
# front proxy serves /media/ unless SERVE_MEDIA=true says otherwise.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
WHITENOISE_MAX_AGE = 60 * 60 * 24 * 30

# --- e-mail ------------------------------------------------------------------
# outside DEBUG an unset EMAIL_URL never means "print to the logs" (the
# confirmation carries a bearer link to the order): mail is refused and the
# system check ashtech.E002 stops start-up.
EMAIL_URL = env("EMAIL_URL", default="consolemail://" if DEBUG else "")
_email_options = {}
if EMAIL_URL:
    _email = environ.Env.email_url_config(EMAIL_URL)
    # django-environ puts `?timeout=` in OPTIONS, which Django's SMTP backend never reads.
    _email_options = _email.pop("OPTIONS", {})
    vars().update(_email)
else:
    EMAIL_BACKEND = "ashtech_store.mail.UnconfiguredEmailBackend"
# Seconds an SMTP connection waits on the server (Django's default waits forever).
# E-mails are sent by the worker outside any lock (shop.emails); a send that times
# out is retried by the sweep.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=float(_email_options.get("TIMEOUT", 10)))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Ashtech Store <boutique@ashtech.store>")
SHOP_ALERT_EMAILS = env.list("SHOP_ALERT_EMAILS", default=[])

# --- security ----------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SESSION_COOKIE_SECURE = env.bool(
    "SECURE_COOKIES", default=not DEBUG and SITE_URL.startswith("https")
)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Webhook bodies are small; anything bigger is refused before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
CALLBACK_MAX_BYTES = env.int("CALLBACK_MAX_BYTES", default=65_536)
# A refused callback is journalled with only this many bytes of its body.
CALLBACK_REFUSED_BODY_BYTES = env.int("CALLBACK_REFUSED_BODY_BYTES", default=2048)

# The client's address. Behind the TLS proxy every request comes from
# the proxy, so rate limits and PaymentEvent.remote_ip use the header the
# proxy sets: "X-Real-IP" (the proxy overwrites it) or "X-Forwarded-For"
# (the TRUSTED_PROXY_COUNT-th address from the right, the one our own proxy
# appended). Empty: REMOTE_ADDR (no proxy). TRUSTED_PROXIES, when set, lists
# the proxies' own addresses (IPs or networks): a header from anyone else is
# ignored. See ashtech_store.client_ip.
TRUSTED_PROXY_HEADER = env("TRUSTED_PROXY_HEADER", default="")
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# With DEBUG off, a header without TRUSTED_PROXIES fails `check --deploy`
# (ashtech.E020). Counters hold an IPv6 client by its /64.
RATELIMIT_IP_META_KEY = "ashtech_store.client_ip.client_ip"
RATELIMIT_IPV4_MASK = 32
RATELIMIT_IPV6_MASK = 64

# Rate limits: django-ratelimit, counted in the default cache.
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_VIEW = "shop.views.rate_limited"
RATELIMIT_CHECKOUT = env("RATELIMIT_CHECKOUT", default="10/m")
# Per browser session too: many shoppers share one address behind a carrier NAT.
RATELIMIT_CHECKOUT_PER_SESSION = env("RATELIMIT_CHECKOUT_PER_SESSION", default="5/m")
RATELIMIT_PAYMENT_START_PER_SESSION = env("RATELIMIT_PAYMENT_START_PER_SESSION", default="5/m")
RATELIMIT_PAYMENT_START = env("RATELIMIT_PAYMENT_START", default="10/m")
RATELIMIT_ORDER_PAGE = env("RATELIMIT_ORDER_PAGE", default="60/m")
RATELIMIT_LOGIN = env("RATELIMIT_LOGIN", default="10/m")
# Callbacks per source address (vendors send a few a second at most).
RATELIMIT_CALLBACK = env("RATELIMIT_CALLBACK", default="300/m")
# Staff login: failed logins are counted per (username, address) and
# per address; from LOGIN_FREE_FAILURES on, each new failure doubles the wait
# (2, 4, 8 … seconds, at most LOGIN_MAX_DELAY). A correct password from
# another address is never held back by someone else's failures.
LOGIN_FREE_FAILURES = env.int("LOGIN_FREE_FAILURES", default=5)
LOGIN_MAX_DELAY = env.int("LOGIN_MAX_DELAY", default=15 * 60)
# The embedded run and tests use a per-process memory cache on purpose.
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=["django_ratelimit.W001"])

# --- the shop ----------------------------------------------------------------
SHOP_NAME = env("SHOP_NAME", default="Ashtech Store")
SHOP_CURRENCY = env("SHOP_CURRENCY", default="XOF").upper()
# Countries whose phone numbers checkout accepts (ISO 3166-1 alpha-2).
SHOP_COUNTRIES = env.list(
    "SHOP_COUNTRIES", default=["BF", "CI", "SN", "ML", "BJ", "TG", "NE", "GN", "CM", "GA", "CG"]
)
# The shop's own country: the checkout's default (a GNF shop is in Guinea).
# SHOP_DEFAULT_COUNTRY is its former name, still read.
SHOP_COUNTRY = env(
    "SHOP_COUNTRY",
    default=env("SHOP_DEFAULT_COUNTRY", default={"GNF": "GN"}.get(SHOP_CURRENCY, "BF")),
).upper()
SHOP_DEFAULT_COUNTRY = SHOP_COUNTRY
PRODUCTS_PER_PAGE = 24
# The embedded run's staff login (manage.py ensure_staff).
STAFF_USERNAME = env("STAFF_USERNAME", default="staff")
STAFF_PASSWORD = env("STAFF_PASSWORD", default="")
CART_MAX_QUANTITY = 99
# Denial of inventory: what one order may hold. Per line: the
# product's own max_per_order, else SHOP_MAX_PER_LINE. Order value in the
# shop currency (0: the default for the currency).
SHOP_MAX_PER_LINE = env.int("SHOP_MAX_PER_LINE", default=5)
SHOP_MAX_ORDER_LINES = env.int("SHOP_MAX_ORDER_LINES", default=10)
SHOP_MAX_ORDER_VALUE = env.int("SHOP_MAX_ORDER_VALUE", default=0) or {"GNF": 20_000_000}.get(
    SHOP_CURRENCY, 1_500_000
)
# Unpaid orders holding stock, per phone, per e-mail and per browser session.
SHOP_MAX_OPEN_ORDERS = env.int("SHOP_MAX_OPEN_ORDERS", default=3)
# Per client address (IPv6: per /64), whatever names and numbers are typed:
# orders placed an hour, and value reserved by orders placed within
# ORDER_RESERVATION_TTL (0: three times SHOP_MAX_ORDER_VALUE). shop.hoarding.
SHOP_MAX_ORDERS_PER_ADDRESS_HOUR = env.int("SHOP_MAX_ORDERS_PER_ADDRESS_HOUR", default=8)
SHOP_MAX_HELD_VALUE_PER_ADDRESS = (
    env.int("SHOP_MAX_HELD_VALUE_PER_ADDRESS", default=0) or 3 * SHOP_MAX_ORDER_VALUE
)
# The short delivery promise shown on product and cart pages (the delivery
# page, editable by staff, has the details). Empty hides it.
SHOP_DELIVERY_LINE = env(
    "SHOP_DELIVERY_LINE",
    default="Livraison à Ouagadougou sous 48 h, partout au Burkina en 3 à 5 jours.",
)
# Product photos above this many pixels are refused on upload, from their
# header (Pillow's own limit is set to it too: an error at twice it).
PRODUCT_IMAGE_MAX_PIXELS = env.int("PRODUCT_IMAGE_MAX_PIXELS", default=40_000_000)
# Order lookup by number + code, or a link mailed to the order (shop.lookup):
# attempts per client address.
SHOP_ORDER_LOOKUP_RATE = env("SHOP_ORDER_LOOKUP_RATE", default="5/m")
# ... and per hour (order number + code, or a link mailed to the order's address).
SHOP_ORDER_LOOKUP_HOURLY = env("SHOP_ORDER_LOOKUP_HOURLY", default="20/h")
# An order's stock is held at most this long (seconds) whatever its attempts do.
ORDER_RESERVATION_TTL = env.int("ORDER_RESERVATION_TTL", default=45 * 60)
# --- delivery (issue 16) -------------------------------------------------------
# A pay-on-delivery order holds its stock this long (seconds) until staff confirm it.
SHOP_COD_HOLD = env.int("SHOP_COD_HOLD", default=48 * 3600)
# Where delivery notices go: shop.notify.EmailBackend, or shop.notify.LogBackend (tests).
SHOP_NOTIFY_BACKEND = env("SHOP_NOTIFY_BACKEND", default="shop.notify.EmailBackend")

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
# requests timeouts: (connect, read) seconds.
PAYMENT_HTTP_TIMEOUT = (
    env.float("PAYMENT_HTTP_CONNECT_TIMEOUT", default=5.0),
    env.float("PAYMENT_HTTP_READ_TIMEOUT", default=15.0),
)
# The browser return view asks the provider with a shorter read timeout.
PAYMENT_RETURN_TIMEOUT = (3.0, 5.0)
# A valid callback for a payment not known yet is kept and re-linked by the
# sweep for this long (seconds).
PAYMENT_ORPHAN_WINDOW = env.int("PAYMENT_ORPHAN_WINDOW", default=2 * 24 * 3600)
# A callback no payment claims is deleted by the sweep this many days after it
# came (never before PAYMENT_ORPHAN_WINDOW ends); payments keep theirs.
CALLBACK_UNMATCHED_RETENTION_DAYS = env.int("CALLBACK_UNMATCHED_RETENTION_DAYS", default=3)
# An attempt that ended on our side is re-checked this often (seconds) until
# the provider can no longer take money on it.
PAYMENT_LATE_CHECK_INTERVAL = env.int("PAYMENT_LATE_CHECK_INTERVAL", default=600)
# At most one callback-triggered status call per payment in this many seconds.
PAYMENT_CALLBACK_CHECK_INTERVAL = env.int("PAYMENT_CALLBACK_CHECK_INTERVAL", default=10)
PAYMENT_MAX_ATTEMPTS_PER_ORDER = env.int("PAYMENT_MAX_ATTEMPTS_PER_ORDER", default=6)
# Payment requests pushed to one wallet number per hour.
PAYMENT_MAX_PUSHES_PER_NUMBER = env.int("PAYMENT_MAX_PUSHES_PER_NUMBER", default=5)
# Route health (payments/routing.py; README "Route health" says where each
# number comes from). Windows in minutes, rates as shares.
ROUTING_WINDOW_SIZE = env.int("ROUTING_WINDOW_SIZE", default=20)
ROUTING_WINDOW_MINUTES = env.int("ROUTING_WINDOW_MINUTES", default=60)
ROUTING_MIN_SAMPLE = env.int("ROUTING_MIN_SAMPLE", default=5)
ROUTING_DEGRADED_CONSECUTIVE = env.int("ROUTING_DEGRADED_CONSECUTIVE", default=3)
ROUTING_DEGRADED_RATE = env.float("ROUTING_DEGRADED_RATE", default=0.70)
ROUTING_DOWN_CONSECUTIVE = env.int("ROUTING_DOWN_CONSECUTIVE", default=5)
ROUTING_DOWN_INITIATION_ERRORS = env.int("ROUTING_DOWN_INITIATION_ERRORS", default=3)
ROUTING_DOWN_INITIATION_MINUTES = env.int("ROUTING_DOWN_INITIATION_MINUTES", default=5)
ROUTING_DOWN_RATE = env.float("ROUTING_DOWN_RATE", default=0.40)
ROUTING_DOWN_MIN_SAMPLE = env.int("ROUTING_DOWN_MIN_SAMPLE", default=10)
ROUTING_PROBE_AFTER_MINUTES = env.list(
    "ROUTING_PROBE_AFTER_MINUTES", cast=int, default=[15, 30, 60]
)
ROUTING_PROBE_ATTEMPTS = env.int("ROUTING_PROBE_ATTEMPTS", default=5)
ROUTING_PROBE_SUCCESSES = env.int("ROUTING_PROBE_SUCCESSES", default=2)
ROUTING_EXPLORE_SHARE = env.float("ROUTING_EXPLORE_SHARE", default=0.10)
# Sandbox only: these providers' emulated create call answers 503 (an outage
# to try the fallback with; tests also set it through payments.sandbox.core).
SANDBOX_FAIL_CREATE = env.list("SANDBOX_FAIL_CREATE", default=[])

_sandbox_base = f"{SITE_URL}/sandbox"


def _provider_url(name: str, production: str) -> str:
    default = f"{_sandbox_base}/{name.lower()}" if PAYMENTS_SANDBOX else production
    return env(f"{name}_BASE_URL", default=default).rstrip("/")


# Public dummy credentials exist only for a sandbox run in DEBUG; any
# other sandbox run is stopped by the system check ashtech.E010.
_SANDBOX_DUMMIES = PAYMENTS_SANDBOX and DEBUG


def _secret(name: str) -> str:
    """A credential from the environment; a DEBUG sandbox accepts a fixed dummy."""
    return env(name, default="sandbox-" + name.lower() if _SANDBOX_DUMMIES else "")


def _redirect_hosts(name: str) -> list[str]:
    """Hosts a provider may send shoppers to; empty: the module's defaults."""
    return env.list(f"{name}_REDIRECT_HOSTS", default=[])


def _provider_config(entry: registry.Entry) -> dict:
    """One provider's settings, from the environment (payments/registry.py)."""
    config = {
        "base_url": _provider_url(entry.env, entry.production_url),
        "redirect_hosts": _redirect_hosts(entry.env),
    }
    config.update({key: _secret(f"{entry.env}_{key.upper()}") for key in entry.credentials})
    if entry.webhook_secrets:
        # The sandbox signs with a public secret: only in a DEBUG sandbox.
        default = [f"sandbox-{entry.code}-webhook"] if _SANDBOX_DUMMIES else []
        config["webhook_secrets"] = env.list(f"{entry.env}_WEBHOOK_SECRETS", default=default)
    config.update(
        {
            key: env(f"{entry.env}_{key.upper()}", default=default)
            for key, default in entry.options.items()
        }
    )
    return config


PAYMENT_PROVIDERS = {entry.code: _provider_config(entry) for entry in registry.PROVIDERS}
# LENGOPAY_STATUS_PATH= (empty) lets an unsigned callback decide a payment:
# refused with DEBUG off (ashtech.E013) unless this accepts the risk.
LENGOPAY_ACCEPT_UNVERIFIED_CALLBACKS = env.bool(
    "LENGOPAY_ACCEPT_UNVERIFIED_CALLBACKS", default=False
)
# The sandbox in production stops every process at settings load, before any
# system check, so SILENCED_SYSTEM_CHECKS cannot switch it off (a settings
# module built on this one is stopped by the same checks at server start).
if env("DJANGO_SETTINGS_MODULE", default=__name__) == __name__:
    _unsafe = guard_rails.sandbox_problems(PAYMENTS_SANDBOX, DEBUG, SITE_URL, PAYMENT_PROVIDERS)
    if _unsafe:
        raise ImproperlyConfigured(
            "; ".join(f"{check_id}: {message}" for check_id, message in _unsafe)
            + " "
            + guard_rails.SANDBOX_HINT
        )

# --- Celery ------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # kombu's exchange tables (it would write ./control otherwise).
        "control_folder": str(_broker_dir / "control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# A checkout must answer even when the broker is down: give up fast,
# the payment schedule is in the database and the sweep re-queues it.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_TASK_IGNORE_RESULT = True
# Queues per kind of work (callbacks, polling, refunds, email, images, and the
# default for the beat's sweeps), late acknowledgement for the idempotent tasks
# only and a per-provider limit on provider calls: ashtech_store/queues.py.
CELERY_TASK_ROUTES = ("ashtech_store.queues.route_task",)
CELERY_TASK_ANNOTATIONS = ("ashtech_store.queues.TaskPolicy",)
CELERY_TASK_ACKS_LATE = False  # per task: queues.ACKS_LATE lists the idempotent ones
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message at a time per worker process: a slow provider call never holds
# a second task hostage (long polls and short e-mails share no prefetch).
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Provider calls a second, per provider, all workers together (0: no limit).
CELERY_PROVIDER_RATE_LIMIT = env.int("CELERY_PROVIDER_RATE_LIMIT", default=20)
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
    # The stored callbacks are the queue: the intake wakes this drain at most
    # once a second; the beat runs it too, in case a wake-up was lost.
    "drain-callbacks": {
        "task": "payments.tasks.drain_callbacks",
        "schedule": float(PAYMENT_SWEEP_INTERVAL),
    },
    "sweep-refunds": {
        "task": "backoffice.tasks.sweep_refunds",
        "schedule": float(PAYMENT_SWEEP_INTERVAL),
    },
    # Every night at 02:30 in TIME_ZONE (Celery takes Django's), when the shops sleep.
    "reconcile-nightly": {
        "task": "backoffice.tasks.reconcile_recent",
        "schedule": crontab(hour=2, minute=30),
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
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="plain"),
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}

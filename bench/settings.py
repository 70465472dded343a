"""Settings for the benchmark: the shop's own settings plus only what the
benchmark needs. bench/run.py sets the environment (a fresh SECRET_KEY,
DEBUG=false, DATABASE_URL of the bench database, Redis broker, SITE_URL of
the gunicorn it starts, LIGDICASH_BASE_URL of its local provider stub).
"""

from django.core.exceptions import ImproperlyConfigured

from ashtech_store.settings import *  # noqa: F403
from ashtech_store.settings import DATABASES, PAYMENT_PROVIDERS, SECRET_KEY, VAR_DIR, env

# The minimal "hello" view (the baseline), then the shop's URLs unchanged.
ROOT_URLCONF = "bench.urls"

DEBUG = False
if "insecure" in SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "bench: run through bench/run.py, which generates a SECRET_KEY for the run"
    )
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
# Loopback over plain HTTP: cookies must not be marked Secure.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False

# The load comes from one IP: do not throttle it.
RATELIMIT_ENABLE = False

# Persistent connections, as in production.
DATABASES["default"]["CONN_MAX_AGE"] = 600

# Collected static files (WhiteNoise, manifest + compressed) and the generated
# catalogue pictures live apart from the developer's own.
STATIC_ROOT = env.path("BENCH_STATIC_ROOT", default=str(VAR_DIR / "bench" / "static"))
MEDIA_ROOT = env.path("BENCH_MEDIA_ROOT", default=str(VAR_DIR / "bench" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Payments "mocked at the HTTP boundary": every provider talks to the local
# stub started by bench/run.py; only Ligdicash is configured (so it is the one
# offered at checkout). Nothing may leave the machine.
_stub = env("LIGDICASH_BASE_URL", default="").rstrip("/")
if not _stub.startswith("http://127.0.0.1:"):
    raise ImproperlyConfigured(
        "bench: LIGDICASH_BASE_URL must be the local stub (http://127.0.0.1:PORT)"
    )
PAYMENTS_SANDBOX = False
PAYMENT_PROVIDERS = {
    code: {**config, "base_url": f"{_stub}/unconfigured/{code}"}
    for code, config in PAYMENT_PROVIDERS.items()
}
PAYMENT_PROVIDERS["ligdicash"] = {
    "base_url": _stub,
    "api_key": "bench-ligdicash-apikey",
    "api_token": "bench-ligdicash-token",
}
for _code, _config in PAYMENT_PROVIDERS.items():
    if _code != "ligdicash":
        _config.update({key: "" for key in _config if key not in ("base_url",)})

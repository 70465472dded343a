from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from django_ratelimit.decorators import ratelimit

from . import health

# Staff login: 10 tries a minute per IP and 5 per username (S-6).
_login = admin.site.login
_login = ratelimit(key="ip", rate=lambda g, r: settings.RATELIMIT_LOGIN, method="POST", block=True)(_login)
_login = ratelimit(key="post:username", rate=lambda g, r: settings.RATELIMIT_LOGIN_PER_USER, method="POST", block=True)(_login)
admin.site.login = _login

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("health/", health.health, name="health"),
    path("payments/", include("payments.urls")),
    path("", include("shop.urls")),
]
if settings.PAYMENTS_SANDBOX:
    urlpatterns.insert(0, path("sandbox/", include("payments.sandbox.urls")))
if settings.SERVE_MEDIA:
    urlpatterns.append(re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}))

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.cache import cache_control
from django.views.static import serve
from django_ratelimit.decorators import ratelimit

from . import health, staff_login

# Staff login: failed passwords slow down their sender only, and at
# most RATELIMIT_LOGIN posts a minute per client address. Both see the
# real client behind the proxy (ashtech_store.client_ip).
_login = staff_login.throttled(admin.site.login)
_login = ratelimit(key="ip", rate=lambda g, r: settings.RATELIMIT_LOGIN, method="POST", block=True)(
    _login
)
admin.site.login = _login

# /media/ when Django serves it (SERVE_MEDIA): phones keep product pictures a
# day instead of revalidating each one on every page; not longer, as a
# re-uploaded photo keeps its file name.
MEDIA_MAX_AGE = 24 * 3600
serve_media = cache_control(public=True, max_age=MEDIA_MAX_AGE)(serve)

urlpatterns = [
    path("admin/backoffice/", include("backoffice.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("health/", health.health, name="health"),
    path(
        "", include("payments.urls")
    ),  # /paiement/… for shoppers, /payments/callback/… for providers
    path("", include("shop.urls")),
]
if settings.PAYMENTS_SANDBOX:
    urlpatterns.insert(0, path("sandbox/", include("payments.sandbox.urls")))
if settings.SERVE_MEDIA:
    urlpatterns.append(
        re_path(r"^media/(?P<path>.*)$", serve_media, {"document_root": settings.MEDIA_ROOT})
    )

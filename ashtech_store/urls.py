from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from . import health

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

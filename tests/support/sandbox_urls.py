"""The project's URLs with the sandbox mounted (tests run with PAYMENTS_SANDBOX off)."""

from django.urls import include, path

from ashtech_store.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("sandbox/", include("payments.sandbox.urls")), *project_urlpatterns]

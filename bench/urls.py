"""The shop's URLs plus the benchmark's baseline: a minimal "hello" view that
goes through the same middleware stack and gunicorn, and touches no database."""

from django.http import HttpResponse
from django.urls import path

from ashtech_store.urls import urlpatterns as shop_urlpatterns


def hello(request):
    return HttpResponse(b"hello", content_type="text/plain")


urlpatterns = [path("bench/hello/", hello, name="bench-hello"), *shop_urlpatterns]

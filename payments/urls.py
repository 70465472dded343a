from django.urls import path, re_path

from shop import converters  # noqa: F401 - registers <token:…>

from . import views

app_name = "payments"

urlpatterns = [
    path("pay/<token:token>/", views.pay, name="pay"),
    path("pay/<token:token>/<uuid:reference>/", views.wait, name="wait"),
    path("pay/<token:token>/<uuid:reference>/status.json", views.status_json, name="status"),
    path("return/<uuid:reference>/", views.provider_return, name="return"),
    path("cancel/<uuid:reference>/", views.provider_return, {"cancelled": True}, name="cancel"),
    path("callback/<str:provider>/", views.callback, name="callback"),
    # The same without the trailing slash: a 301 would lose the POST (vendors
    # count a 3xx as a failed delivery), so both spellings are answered here.
    re_path(r"^callback/(?P<provider>[A-Za-z0-9_-]+)$", views.callback),
]

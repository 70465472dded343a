from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("pay/<str:token>/", views.pay, name="pay"),
    path("pay/<str:token>/<uuid:reference>/", views.wait, name="wait"),
    path("pay/<str:token>/<uuid:reference>/status.json", views.status_json, name="status"),
    path("return/<uuid:reference>/", views.provider_return, name="return"),
    path("cancel/<uuid:reference>/", views.provider_return, {"cancelled": True}, name="cancel"),
    path("callback/<str:provider>/", views.callback, name="callback"),
]

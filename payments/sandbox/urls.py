"""/sandbox/… — only mounted when PAYMENTS_SANDBOX is true."""

from django.urls import include, path

from . import views
from .core import available_emulators

app_name = "sandbox"

urlpatterns = [path("page/<str:provider>/<path:token>/", views.page, name="page")]
urlpatterns += [
    path(f"{code}/", include((module.urlpatterns, code)))
    for code, module in available_emulators().items()
]

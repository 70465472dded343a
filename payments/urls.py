"""Payment URLs. The shopper's pages are French, like the shop's (/paiement/…);
the provider webhook stays at /payments/callback/<provider>/, where every
provider is configured to call it.

Paths kept for what is already out there: the English return and cancel
paths are held by providers for attempts started before the move (same
views), and a shopper's open waiting page under /payments/pay/… is sent to
its French address.
"""

from django.urls import path, re_path
from django.views.generic import RedirectView

from shop import converters  # noqa: F401 - registers <token:…>

from . import views

app_name = "payments"


def _moved(name: str):
    return RedirectView.as_view(pattern_name=name, query_string=True)


urlpatterns = [
    # Before the token paths: "retour" and "annulation" would read as tokens.
    path("paiement/retour/<uuid:reference>/", views.provider_return, name="return"),
    path(
        "paiement/annulation/<uuid:reference>/",
        views.provider_return,
        {"cancelled": True},
        name="cancel",
    ),
    path("paiement/<token:token>/", views.pay, name="pay"),
    path("paiement/<token:token>/<uuid:reference>/", views.wait, name="wait"),
    path("paiement/<token:token>/<uuid:reference>/statut.json", views.status_json, name="status"),
    path("payments/callback/<str:provider>/", views.callback, name="callback"),
    # The same without the trailing slash: a 301 would lose the POST (vendors
    # count a 3xx as a failed delivery), so both spellings are answered here.
    re_path(r"^payments/callback/(?P<provider>[A-Za-z0-9_-]+)$", views.callback),
    # The English paths of before: providers hold the return and cancel ones
    # for attempts in flight; an open waiting page is sent to its new address.
    path("payments/return/<uuid:reference>/", views.provider_return),
    path("payments/cancel/<uuid:reference>/", views.provider_return, {"cancelled": True}),
    path("payments/pay/<token:token>/", _moved("payments:pay")),
    path("payments/pay/<token:token>/<uuid:reference>/", _moved("payments:wait")),
    path("payments/pay/<token:token>/<uuid:reference>/status.json", _moved("payments:status")),
]

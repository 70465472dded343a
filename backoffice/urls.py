"""Staff pages outside the model admin, each behind ``admin.site.admin_view``."""

from django.contrib import admin
from django.urls import path

from . import delivery_views, health_views, views

app_name = "backoffice"

urlpatterns = [
    path("review/", admin.site.admin_view(views.review_queue), name="review"),
    path("review/<str:kind>/<int:pk>/", admin.site.admin_view(views.resolve), name="resolve"),
    path("reconciliation/", admin.site.admin_view(views.reconciliation), name="reconciliation"),
    path(
        "reconciliation.csv",
        admin.site.admin_view(views.reconciliation_csv),
        name="reconciliation_csv",
    ),
    path("dashboard/", admin.site.admin_view(views.dashboard), name="dashboard"),
    path("paiements/sante/", admin.site.admin_view(health_views.route_health), name="route_health"),
    path(
        "paiements/sante/action/",
        admin.site.admin_view(health_views.route_health_action),
        name="route_health_action",
    ),
    path("orders/<int:pk>/refund/", admin.site.admin_view(views.refund_order), name="refund"),
    path(
        "livraisons/<slug:which>/",
        admin.site.admin_view(delivery_views.delivery_list),
        name="deliveries",
    ),
    path(
        "livraisons/commande/<int:pk>/encaisser/",
        admin.site.admin_view(delivery_views.collect),
        name="collect",
    ),
    path(
        "livraisons/commande/<int:pk>/<slug:step>/",
        admin.site.admin_view(delivery_views.delivery_step),
        name="delivery_step",
    ),
    path(
        "orders/<int:pk>/bordereau/",
        admin.site.admin_view(delivery_views.packing_slip),
        name="packing_slip",
    ),
]

"""Staff pages outside the model admin, each behind ``admin.site.admin_view``."""

from django.contrib import admin
from django.urls import path

from . import views

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
    path("orders/<int:pk>/refund/", admin.site.admin_view(views.refund_order), name="refund"),
]

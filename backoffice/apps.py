from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    """Staff tools after the money arrives: order workflow, refunds, review
    queue, reconciliation, dashboard. Writes go through ``backoffice`` services
    (and ``shop.workflow`` for order moves), each locked and journalled."""

    name = "backoffice"
    verbose_name = _("Caisse")
    default_auto_field = "django.db.models.BigAutoField"

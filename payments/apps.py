from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Paiements")

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .providers import load_all
        from .redaction import install_record_factory

        install_record_factory()
        # Every provider module is imported now: one that fails stops the
        # shop at start-up instead of vanishing from checkout.
        load_all()

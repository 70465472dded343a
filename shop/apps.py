from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = _("Boutique")

    def ready(self) -> None:
        from ashtech_store import checks  # noqa: F401 - registers the guard-rail checks

        from . import (
            delivery,  # noqa: F401 - a staff edit of a rate bumps the cached table
            page_admin,  # noqa: F401 - registers the Page admin
            signals,  # noqa: F401 - connects the shop's receivers
        )

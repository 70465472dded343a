from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = _("Boutique")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from ashtech_store import (
            checks,  # noqa: F401 - registers the guard-rail checks
            staff_login,
        )

        from . import (
            page_admin,  # noqa: F401 - registers the Page admin
            search,  # noqa: F401 - registers shop_fold on SQLite connections
        )

        user_login_failed.connect(staff_login.on_login_failed, dispatch_uid="shop.staff_login_failed")
        user_logged_in.connect(staff_login.on_logged_in, dispatch_uid="shop.staff_logged_in")

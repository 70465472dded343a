"""The shop's signal receivers, connected by ``ShopConfig.ready()``."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.backends.signals import connection_created
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ashtech_store import staff_login

from . import fragments, search
from .models import Category, Product


@receiver([post_save, post_delete], sender=Product, dispatch_uid="shop.product_changed")
def product_changed(**kwargs) -> None:
    """A product, its price or its stock changed: cached pages are retired."""
    fragments.bump_catalogue_on_commit()


@receiver([post_save, post_delete], sender=Category, dispatch_uid="shop.category_changed")
def category_changed(**kwargs) -> None:
    """A category changed: the header's category bar and every page are rebuilt."""
    fragments.forget_categories()


@receiver(connection_created, dispatch_uid="shop.sqlite_fold")
def register_fold(sender, connection, **kwargs) -> None:
    """SQLite has no ``unaccent``: the search's fallback folds with ``search.fold``."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("shop_fold", 1, search.fold, deterministic=True)


user_login_failed.connect(staff_login.on_login_failed, dispatch_uid="shop.staff_login_failed")
user_logged_in.connect(staff_login.on_logged_in, dispatch_uid="shop.staff_logged_in")

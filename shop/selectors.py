"""Reads shared by several pages."""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Category

NAV_KEY = "shop:nav-categories:v1"


def nav_categories() -> list[Category]:
    """Categories for the header, cached until a category changes."""
    categories = cache.get(NAV_KEY)
    if categories is None:
        categories = list(Category.objects.all())
        cache.set(NAV_KEY, categories, 300)
    return categories


@receiver([post_save, post_delete], sender=Category)
def _forget_nav(**kwargs) -> None:
    cache.delete(NAV_KEY)

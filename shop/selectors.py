"""Reads shared by several pages, and the fragments they render.

The header's category bar and the product grids are the costly parts of a
page to render (one URL reverse and a few filters per link or card), and
the same for every shopper: they are cached. The category bar is dropped
when a category changes; a grid is cached under a fingerprint of everything
its cards show (name, price, stock, picture…), so it can never be stale.
"""

import hashlib
import secrets

from django.conf import settings
from django.core.cache import cache, caches
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from .models import Category, Product

NAV_KEY = "shop:nav-categories:v1"
VERSION_KEY = "shop:catalogue-version"
NAV_HTML_KEY = "shop:nav-html:v1:{language}"


def nav_categories() -> list[Category]:
    """Categories for the header, cached until a category changes."""
    categories = cache.get(NAV_KEY)
    if categories is None:
        categories = list(Category.objects.all())
        cache.set(NAV_KEY, categories, 300)
    return categories


def nav_html() -> SafeString:
    """The header's category bar in the current language."""
    key = NAV_HTML_KEY.format(language=get_language())
    html = cache.get(key)
    if html is None:
        html = render_to_string("shop/_nav.html", {"nav_categories": nav_categories()})
        cache.set(key, html, 300)
    return mark_safe(html)  # rendered by our own template, autoescaped there


class Fragment:
    """HTML rendered when the page template prints it (after the view's
    queries and the context processors), then cached."""

    def __init__(self, render):
        self._render = render

    def __html__(self) -> str:
        return self._render()

    __str__ = __html__


def fragment_key(*parts) -> str:
    """A cache key for a rendered fragment: language + catalogue version + parts."""
    wanted = (get_language(), catalogue_version(), *parts)
    return "shop:fragment:" + hashlib.blake2b(repr(wanted).encode(), digest_size=16).hexdigest()


def cached_fragment(key: str, template: str, context_factory) -> SafeString | Fragment:
    """The cached HTML under ``key``, or a Fragment that runs
    ``context_factory()`` now (its queries happen in the view) and renders
    ``template`` with the page, then caches it for five minutes."""
    html = caches["fragments"].get(key)
    if html is not None:
        return mark_safe(html)  # rendered by our own template, autoescaped there
    context = context_factory()

    def render() -> SafeString:
        rendered = render_to_string(template, context)
        caches["fragments"].set(key, rendered, 300)
        return mark_safe(rendered)  # rendered by our own template, autoescaped there

    return Fragment(render)


def product_grid(products, empty_message: str) -> Fragment:
    """The cards of ``products`` (with their categories loaded), cached by content."""

    def render() -> SafeString:
        shown = [(p.pk, p.slug, p.name, p.price, p.stock, p.thumbnail.name, p.category.name) for p in products]
        fingerprint = hashlib.blake2b(repr((get_language(), str(empty_message), shown)).encode(), digest_size=16).hexdigest()
        fragments = caches["fragments"]
        html = fragments.get(fingerprint)
        if html is None:
            html = render_to_string("shop/_grid.html", {"products": products, "empty_message": empty_message})
            fragments.set(fingerprint, html, 3600)
        return mark_safe(html)  # rendered by our own template, autoescaped there

    return Fragment(render)


def catalogue_version() -> str:
    """Changes whenever a product, its stock or a category changes: part of
    the key of every cached listing, so none outlives the data it shows."""
    version = cache.get(VERSION_KEY)
    if version is None:
        version = secrets.token_hex(8)
        cache.add(VERSION_KEY, version, None)
        version = cache.get(VERSION_KEY, version)
    return version


def bump_catalogue() -> None:
    """Call after a committed change of products or stock."""
    cache.set(VERSION_KEY, secrets.token_hex(8), None)


def bump_catalogue_on_commit() -> None:
    transaction.on_commit(bump_catalogue)


@receiver([post_save, post_delete], sender=Product)
def _product_changed(**kwargs) -> None:
    bump_catalogue_on_commit()


@receiver([post_save, post_delete], sender=Category)
def _forget_nav(**kwargs) -> None:
    keys = [NAV_KEY] + [NAV_HTML_KEY.format(language=code) for code, _ in settings.LANGUAGES]
    transaction.on_commit(lambda: cache.delete_many(keys))
    bump_catalogue_on_commit()

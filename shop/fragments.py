"""The shop's cached HTML fragments: what each one is keyed on, and the
catalogue version that retires them.

The header's category bar, the product grids and the home, listing and
product page contents are the costly parts of a page to render (one URL
reverse and a few filters per link or card), and the same for every shopper.
Every cache key for them is built here:

- ``key(*parts)``: a page's content (home, a listing, a product page), under
  the language and the **catalogue version**, which changes whenever a
  product, its stock or a category changes (``bump_catalogue``);
- ``grid()``: a product grid, under a fingerprint of everything its cards show
  (name, price, stock, picture…), so it can never be stale;
- the category bar and its categories, per language, dropped when a category
  changes (``forget_categories``).

The receivers that call ``bump_catalogue_on_commit`` and ``forget_categories``
on a model change are in ``shop/signals.py``.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.cache import cache, caches
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from .models import Category

VERSION_KEY = "shop:catalogue-version"
CATEGORIES_KEY = "shop:nav-categories:v1"
NAV_HTML_KEY = "shop:nav-html:v1:{language}"
PAGE_TIMEOUT = 300  # a page's content: the version retires it anyway
GRID_TIMEOUT = 3600  # a grid is keyed by its content: it cannot be stale


# --- the catalogue version ----------------------------------------------------------
def catalogue_version() -> str:
    """Changes whenever a product, its stock or a category changes: part of
    every ``key()``, so no cached page content outlives the data it shows."""
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


def forget_categories() -> None:
    """After a category change commits: the header is rebuilt, every page too."""
    keys = [CATEGORIES_KEY] + [
        NAV_HTML_KEY.format(language=code) for code, _name in settings.LANGUAGES
    ]
    transaction.on_commit(lambda: cache.delete_many(keys))
    bump_catalogue_on_commit()


# --- keys -----------------------------------------------------------------------------
def _digest(parts: tuple) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def key(*parts) -> str:
    """The key of a page's content: language + catalogue version + ``parts``
    (``key("home")``, ``key("listing", category, query, sort, page, filters)``,
    ``key("product", slug, "facts")``)."""
    return "shop:fragment:" + _digest((get_language(), catalogue_version(), *parts))


def keys(*parts, each: tuple[str, ...]) -> list[str]:
    """``[key(*parts, name) for name in each]`` for one read of the version."""
    language, version = get_language(), catalogue_version()
    return ["shop:fragment:" + _digest((language, version, *parts, name)) for name in each]


def grid_key(products, empty_message: str) -> str:
    """The key of a product grid: everything its cards show, in this language."""
    shown = [
        (
            p.pk,
            p.slug,
            p.name,
            p.price,
            p.stock,
            p.thumbnail.name,
            repr(p.renditions),
            p.category.name,
        )
        for p in products
    ]
    return "shop:grid:" + _digest((get_language(), str(empty_message), shown))


def cart_lines_key(lines) -> str:
    """The key of a cart's lines: everything they show, in this language and
    currency (a product's name, slug, price and stock, the quantity)."""
    shown = [
        (
            line.product.pk,
            line.product.slug,
            line.product.name,
            line.product.price,
            line.product.stock,
            line.quantity,
        )
        for line in lines
    ]
    return "shop:cart-lines:" + _digest((get_language(), settings.SHOP_CURRENCY, shown))


# --- fragments --------------------------------------------------------------------------
class Fragment:
    """HTML rendered when the page template prints it (after the view's
    queries and the context processors), then cached."""

    def __init__(self, render):
        self._render = render

    def __html__(self) -> str:
        return self._render()

    __str__ = __html__


def get(key: str):
    """What is cached under ``key`` in the fragments cache, or None."""
    return caches["fragments"].get(key)


def put(key: str, value, timeout: int = PAGE_TIMEOUT) -> None:
    caches["fragments"].set(key, value, timeout)


def cached(key: str, template: str, context_factory) -> SafeString | Fragment:
    """The cached HTML under ``key``, or a Fragment that runs
    ``context_factory()`` now (its queries happen in the view) and renders
    ``template`` with the page, then caches it."""
    html = get(key)
    if html is not None:
        return mark_safe(html)  # rendered by our own template, autoescaped there
    context = context_factory()
    return Fragment(lambda: render(key, template, context))


def render(key: str, template: str, context: dict, timeout: int = PAGE_TIMEOUT) -> SafeString:
    """Render ``template`` now and cache it under ``key``."""
    html = render_to_string(template, context)
    put(key, html, timeout)
    return mark_safe(html)  # rendered by our own template, autoescaped there


def grid(products, empty_message: str) -> Fragment:
    """The cards of ``products`` (with their categories loaded), cached by content."""

    def render_grid() -> SafeString:
        grid_cache_key = grid_key(products, empty_message)
        html = get(grid_cache_key)
        if html is not None:
            return mark_safe(html)  # rendered by our own template, autoescaped there
        return render(
            grid_cache_key,
            "shop/_grid.html",
            {"products": products, "empty_message": empty_message},
            GRID_TIMEOUT,
        )

    return Fragment(render_grid)


def cart_lines(lines) -> Fragment:
    """A cart's lines (``shop/_cart_lines.html``), cached by content: two
    shoppers with the same products and quantities share it, and a change of
    price, stock, name or quantity is another key."""

    def render_lines() -> SafeString:
        lines_key = cart_lines_key(lines)
        html = get(lines_key)
        if html is not None:
            return mark_safe(html)  # rendered by our own template, autoescaped there
        return render(lines_key, "shop/_cart_lines.html", {"lines": lines}, GRID_TIMEOUT)

    return Fragment(render_lines)


def nav_categories() -> list[Category]:
    """Categories for the header, cached until a category changes."""
    categories = cache.get(CATEGORIES_KEY)
    if categories is None:
        categories = list(Category.objects.all())
        cache.set(CATEGORIES_KEY, categories, PAGE_TIMEOUT)
    return categories


def nav_html() -> SafeString:
    """The header's category bar in the current language."""
    nav_key = NAV_HTML_KEY.format(language=get_language())
    html = cache.get(nav_key)
    if html is None:
        html = render_to_string("shop/_nav.html", {"nav_categories": nav_categories()})
        cache.set(nav_key, html, PAGE_TIMEOUT)
    return mark_safe(html)  # rendered by our own template, autoescaped there

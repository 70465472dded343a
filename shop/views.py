"""Shopper pages: catalogue, cart, checkout, order page.

Each view does its queries up front (templates never hit the database, see
tests/shop/test_queries.py) and keeps to a constant query count whatever the
page size (P-1, P-2, P-3, P-6).
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib import messages
from django.core.cache import caches
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from . import selectors, services
from .cart import Cart, cart_total, remember_order
from .forms import AddToCartForm, CheckoutForm, RemoveFromCartForm
from .models import Category, Order, Product

SORTS = {"new": ("-created_at", "-id"), "price": ("price", "id"), "-price": ("-price", "id")}
MAX_QUERY_LENGTH = 100


def rate_limited(request, exception=None):
    """django-ratelimit's view for a blocked request: 429 with a clear message."""
    body = render_to_string("shop/rate_limited.html", request=request)
    response = HttpResponse(body, status=429)
    response["Retry-After"] = "60"
    return response


@require_GET
def home(request):
    def context():
        featured = list(Product.objects.available().select_related("category").order_by("-created_at", "-id")[:8])
        grid = selectors.product_grid(featured, _("Aucun produit pour le moment."))
        return {"featured": featured, "nav_categories": selectors.nav_categories(), "grid": grid}

    body = selectors.cached_fragment(selectors.fragment_key("home"), "shop/_home.html", context)
    return render(request, "shop/home.html", {"body": body})


@require_GET
def product_list(request, slug: str | None = None):
    """Products of a category or a search, 24 a page.

    The listing (title, sort form, cards, pagination) is the same for every
    shopper, so it is cached under the catalogue version: a hit costs no
    query at all, and any product or stock change starts a new version.
    """
    category = None
    if slug:
        category = next((c for c in selectors.nav_categories() if c.slug == slug), None) or get_object_or_404(Category, slug=slug)
    query = request.GET.get("q", "").replace("\x00", "").strip()[:MAX_QUERY_LENGTH]
    sort = request.GET.get("sort", "new")
    if sort not in SORTS:
        sort = "new"
    version = selectors.catalogue_version()
    wanted = (get_language(), version, category.pk if category else None, query, sort, request.GET.get("page", "1")[:12])
    key = "shop:listing:" + hashlib.blake2b(repr(wanted).encode(), digest_size=16).hexdigest()
    html = caches["fragments"].get(key)
    if html is not None:
        listing = mark_safe(html)  # rendered by our own template, autoescaped there
    else:
        listing = _listing(request, category, query, sort, version, key)
    return render(request, "shop/product_list.html", {"category": category, "query": query, "listing": listing})


def _listing(request, category, query: str, sort: str, version: str, key: str) -> selectors.Fragment:
    """Run the listing's queries now; render (and cache) it with the page."""
    products = Product.objects.available().select_related("category")
    if category:
        products = products.filter(category_id=category.pk)
    if query:
        products = products.filter(Q(name__icontains=query) | Q(description__icontains=query))
    paginator = Paginator(products.order_by(*SORTS[sort]).defer("description"), settings.PRODUCTS_PER_PAGE)
    try:
        page = paginator.page(request.GET.get("page", 1))
    except PageNotAnInteger:
        page = paginator.page(1)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
    products = list(page.object_list)
    context = {"category": category, "page": page, "products": products, "query": query, "sort": sort}
    context["grid"] = selectors.product_grid(products, _("Aucun produit ne correspond."))

    def render_listing():
        html = render_to_string("shop/_listing.html", context)
        caches["fragments"].set(key, html, 300)
        return mark_safe(html)  # rendered by our own template, autoescaped there

    return selectors.Fragment(render_listing)


@require_GET
def product_detail(request, slug: str):
    """A product page; its content is cached under the catalogue version (the
    add-to-cart form, with its CSRF token, is the only part rendered fresh)."""
    key = selectors.fragment_key("product", slug)
    facts = caches["fragments"].get(key + ":facts")
    if facts is None:
        product = get_object_or_404(Product.objects.available().select_related("category"), slug=slug)
        facts = {
            "pk": product.pk,
            "name": product.name,
            "stock": product.stock,
            "summary": product.description[:150],
            "image": product.image.url if product.image else "",
        }
        caches["fragments"].set(key + ":facts", facts, 300)
        info = selectors.cached_fragment(key, "shop/_product_info.html", lambda: {"product": product})
        description = selectors.cached_fragment(key + ":desc", "shop/_product_description.html", lambda: {"product": product})
    else:
        info = selectors.cached_fragment(key, "shop/_product_info.html", lambda: {"product": _product(slug)})
        description = selectors.cached_fragment(key + ":desc", "shop/_product_description.html", lambda: {"product": _product(slug)})
    return render(request, "shop/product_detail.html", {"facts": facts, "info": info, "description": description})


def _product(slug: str) -> Product:
    return get_object_or_404(Product.objects.available().select_related("category"), slug=slug)


@never_cache
@require_GET
def cart_detail(request):
    cart = Cart(request)
    lines = cart.lines()
    return render(request, "shop/cart.html", {"lines": lines, "total": cart_total(lines)})


def _cart_error(request, message: str, status: int = 400):
    cart = Cart(request)
    lines = cart.lines()
    return render(request, "shop/cart.html", {"lines": lines, "total": cart_total(lines), "error": message}, status=status)


@require_POST
def cart_add(request):
    """Add to the cart (``replace=1``: set the quantity, from the cart page)."""
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        return _cart_error(request, " ".join(e for errors in form.errors.values() for e in errors))
    product = Product.objects.available().filter(pk=form.cleaned_data["product_id"]).first()
    if product is None:
        return _cart_error(request, _("Ce produit n'est plus disponible."), status=404)
    cart = Cart(request)
    quantity = form.cleaned_data["quantity"]
    if request.POST.get("replace") != "1":
        quantity += cart.quantity(product.pk)
    if quantity > product.stock:
        if product.stock == 0:
            message = _("« %(name)s » est en rupture de stock.") % {"name": product.name}
        else:
            message = _("Il ne reste que %(n)s « %(name)s » en stock.") % {"n": product.stock, "name": product.name}
        return _cart_error(request, message)
    if quantity > settings.CART_MAX_QUANTITY:
        return _cart_error(request, _("Saisissez une quantité entière entre 1 et %(max)s.") % {"max": settings.CART_MAX_QUANTITY})
    cart.set(product.pk, quantity)
    messages.success(request, _("« %(name)s » est dans votre panier.") % {"name": product.name})
    return redirect("shop:cart")


@require_POST
def cart_remove(request):
    form = RemoveFromCartForm(request.POST)
    if form.is_valid():
        Cart(request).remove(form.cleaned_data["product_id"])
    return redirect("shop:cart")


@never_cache
@ratelimit(key="ip", rate=lambda g, r: settings.RATELIMIT_CHECKOUT, method="POST", block=True)
@require_http_methods(["GET", "POST"])
def checkout(request):
    cart = Cart(request)
    lines = cart.lines()
    if not lines:
        messages.info(request, _("Votre panier est vide."))
        return redirect("shop:cart")
    if request.method == "POST":
        form = CheckoutForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            customer = services.Customer(
                full_name=data["full_name"],
                email=data["email"],
                phone=data["phone"],
                country=data["country"],
                address=data["address"],
                note=data["note"],
                language=get_language() or settings.LANGUAGE_CODE,
            )
            try:
                order = services.place_order(cart.quantities(), customer, checkout_key=data["checkout_key"] or None)
            except services.OutOfStock as exc:
                form.add_error(None, exc.message)
            except services.EmptyCart:
                form.add_error(None, _("Certains articles de votre panier ne sont plus en vente."))
            else:
                cart.clear()
                remember_order(request, order)
                return redirect("payments:pay", token=order.token)
        status = 400
    else:
        form = CheckoutForm(initial={"checkout_key": secrets.token_urlsafe(24)})
        status = 200
    return render(request, "shop/checkout.html", {"form": form, "lines": lines, "total": cart_total(lines)}, status=status)


@never_cache
@ratelimit(key="ip", rate=lambda g, r: settings.RATELIMIT_ORDER_PAGE, block=True)
@require_GET
def order_detail(request, token: str):
    """The guest's order page: reached only by its 256-bit token (S-4)."""
    order = get_object_or_404(Order, token=token)
    remember_order(request, order)
    lines = list(order.lines.all())
    payments = list(order.payments.all()[:10])
    return render(request, "shop/order.html", {"order": order, "lines": lines, "payments": payments})

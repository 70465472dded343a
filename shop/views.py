"""Shopper pages: catalogue, cart, checkout, order page.

Each view does its queries up front (templates never hit the database, see
tests/shop/test_queries.py) and keeps to a constant query count whatever the
page size.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import caches
from django.core.paginator import EmptyPage, Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)
from django_ratelimit.decorators import ratelimit

from ashtech_store.client_ip import session_or_ip
from backoffice.selectors import public_history
from payments.offers import payable_countries

from . import delivery, fragments, hoarding, pay_on_delivery, phones, search, services
from .cart import Cart, cart_total, held_orders, remember_order
from .forms import AddToCartForm, AreaForm, CheckoutForm, RemoveFromCartForm
from .models import Category, Order, Page, Product
from .notify import notify

SORTS = {"new": ("-created_at", "-id"), "price": ("price", "id"), "-price": ("-price", "id")}
MAX_QUERY_LENGTH = 100
# Checkout keys issued to this browser: only these are honoured.
CHECKOUT_KEYS = "checkout_keys"
KEPT_CHECKOUT_KEYS = 5
# The order page's self-refresh while a payment is pending (like the waiting page).
ORDER_REFRESH_SECONDS = 5
# A checkout posted with an empty cart this soon after an order leads to it.
JUST_PLACED = timedelta(minutes=30)
# The country last chosen at checkout in this browser (the form's default).
COUNTRY_KEY = "checkout_country"
# Add-to-cart form keys already used (a double tap adds once).
ADD_KEY_CACHE = "shop:add-key:"
ADD_KEY_TTL = 3600
# The shop page that lists the delivery areas and rates from the data.
DELIVERY_PAGE = "livraison"


def rate_limited(request, exception=None):
    """django-ratelimit's view for a blocked request: 429 with a clear message."""
    body = render_to_string("shop/rate_limited.html", request=request)
    response = HttpResponse(body, status=429)
    response["Retry-After"] = "60"
    return response


@require_safe
def home(request):
    def context():
        featured = list(
            Product.objects.available()
            .select_related("category")
            .order_by("-created_at", "-id")[:8]
        )
        grid = fragments.grid(featured, _("Aucun produit pour le moment."))
        return {"featured": featured, "nav_categories": fragments.nav_categories(), "grid": grid}

    body = fragments.cached(fragments.key("home"), "shop/_home.html", context)
    return render(request, "shop/home.html", {"body": body})


@require_safe
def product_list(request, slug: str | None = None):
    """Products of a category or a search, 24 a page.

    The listing (title, sort form, cards, pagination) is the same for every
    shopper, so it is cached under the catalogue version: a hit costs no
    query at all, and any product or stock change starts a new version.
    """
    category = None
    if slug:
        category = next(
            (c for c in fragments.nav_categories() if c.slug == slug), None
        ) or get_object_or_404(Category, slug=slug)
    query = request.GET.get("q", "").replace("\x00", "").strip()[:MAX_QUERY_LENGTH]
    sort = request.GET.get("sort", "")
    if sort not in SORTS and not (sort == "rel" and query):
        sort = "rel" if query else "new"
    filters = _filters(request.GET)
    page = _page_number(request.GET.get("page", "1"))
    key = fragments.key("listing", category.pk if category else None, query, sort, page, filters)
    html = fragments.get(key)
    if html is not None:
        listing = mark_safe(html)  # rendered by our own template, autoescaped there
    else:
        listing = _listing(page, category, query, sort, filters, key)
    return render(
        request,
        "shop/product_list.html",
        {"category": category, "query": query, "listing": listing},
    )


def _page_number(raw: str) -> int:
    """The page asked for as a number, so the cache key and the rendered page
    always agree: not a whole ASCII number → 1; a number below 1 or
    absurdly large → 0, which _listing renders as the last page."""
    if not re.fullmatch(r"-?[0-9]+", raw):
        return 1
    number = int(raw) if len(raw) <= 7 else 0
    return number if 1 <= number <= 999_999 else 0


def _filters(params) -> tuple[bool, int | None, int | None]:
    """(in stock only, minimum price, maximum price) from the query string;
    anything that is not a whole number is ignored."""

    def amount(raw: str) -> int | None:
        raw = (raw or "").replace(" ", "").replace("\u202f", "")
        return int(raw) if re.fullmatch(r"[0-9]{1,10}", raw) else None

    return params.get("stock") == "1", amount(params.get("min", "")), amount(params.get("max", ""))


def _listing(
    page_number: int, category, query: str, sort: str, filters: tuple, key: str
) -> fragments.Fragment:
    """Run the listing's queries now; render (and cache) it with the page."""
    products = Product.objects.available().select_related("category")
    if category:
        products = products.filter(category_id=category.pk)
    in_stock, min_price, max_price = filters
    if in_stock:
        products = products.filter(stock__gt=0)
    if min_price is not None:
        products = products.filter(price__gte=min_price)
    if max_price is not None:
        products = products.filter(price__lte=max_price)
    ranked = False
    if query:
        products, ranked = search.search(products, query)
    order = (
        ("-rank", "-created_at", "-id")
        if sort == "rel" and ranked
        else SORTS.get(sort, SORTS["new"])
    )
    paginator = Paginator(
        products.order_by(*order).defer("description"), settings.PRODUCTS_PER_PAGE
    )
    try:
        page = paginator.page(page_number or paginator.num_pages)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
    products = list(page.object_list)
    params = {
        "q": query,
        "sort": sort,
        "stock": "1" if in_stock else "",
        "min": min_price,
        "max": max_price,
    }
    base_query = urlencode({k: v for k, v in params.items() if v not in ("", None)})
    context = {
        "category": category,
        "page": page,
        "products": products,
        "query": query,
        "sort": sort,
        "in_stock": in_stock,
        "min_price": min_price,
        "max_price": max_price,
        "base_query": base_query,
        "categories": fragments.nav_categories() if query and not products else [],
    }
    context["grid"] = fragments.grid(products, _("Aucun produit ne correspond."))
    return fragments.Fragment(lambda: fragments.render(key, "shop/_listing.html", context))


@require_safe
def product_detail(request, slug: str):
    """A product page; its content is cached under the catalogue version (the
    add-to-cart form, with its CSRF token, is the only part rendered fresh)."""
    info_key, description_key, facts_key = fragments.keys(
        "product", slug, each=("info", "description", "facts")
    )
    facts = fragments.get(facts_key)
    if facts is None:
        product = get_object_or_404(
            Product.objects.available().select_related("category"), slug=slug
        )
        facts = {
            "pk": product.pk,
            "name": product.name,
            "stock": product.stock,
            # What the page's description and og:description show, cut once.
            "summary": Truncator(product.description[:150]).chars(150),
            "price": product.price,
            "photo": product.photo,
            "url": settings.SITE_URL + product.get_absolute_url(),
        }
        if facts["photo"]:
            facts["og_image"] = settings.SITE_URL + _share_image(product)
        fragments.put(facts_key, facts)
        info = fragments.cached(info_key, "shop/_product_info.html", lambda: {"product": product})
        description = fragments.cached(
            description_key, "shop/_product_description.html", lambda: {"product": product}
        )
    else:
        info = fragments.cached(
            info_key, "shop/_product_info.html", lambda: {"product": _product(slug)}
        )
        description = fragments.cached(
            description_key, "shop/_product_description.html", lambda: {"product": _product(slug)}
        )
    context = {
        "facts": facts,
        "info": info,
        "description": description,
        "add_key": secrets.token_urlsafe(16),
        "delivery": _delivery_line(request),
    }
    return render(request, "shop/product_detail.html", context)


def _share_image(product: Product) -> str:
    """The picture link previews show (WhatsApp wants about 600 px or more)."""
    from django.core.files.storage import default_storage

    sizes = [r for r in product.renditions or [] if isinstance(r, dict) and r.get("name")]
    if not sizes:
        # Made before renditions existed: the thumbnail (or the photo itself).
        return (product.thumbnail or product.image).url
    chosen = next((r for r in sizes if r.get("width", 0) >= 600), sizes[-1])
    return default_storage.url(chosen["name"])


def _product(slug: str) -> Product:
    return get_object_or_404(Product.objects.available().select_related("category"), slug=slug)


@never_cache
@require_GET
def cart_detail(request):
    cart = Cart(request)
    lines = cart.lines()
    short = [line.product.name for line in lines if line.short]
    notes = cart.fit_to_stock(lines)
    for note in notes:
        messages.warning(request, note)
    shown = _without_added(request, short) if notes else None
    return _cart_page(request, cart, lines, shown=shown)


def _without_added(request, names: list[str]) -> list:
    """This page's messages without "« X » est dans votre panier." for the
    lines just lowered or removed: when the last unit went between the tap
    and the cart page (a flash sale), she reads only that it is sold out,
    not both. Reading them consumes them, as the page would."""
    added = {_added_text(name) for name in names}
    return [m for m in messages.get_messages(request) if str(m.message) not in added]


def _cart_page(request, cart: Cart, lines, error: str = "", status: int = 200, shown=None):
    total = cart_total(lines)
    context = {
        "lines": lines,
        "lines_html": fragments.cart_lines(lines),
        "total": total,
        "error": error,
        "delivery": _delivery_line(request, total),
    }
    if shown is not None:
        context["messages"] = shown  # over the context processor's
    return render(request, "shop/cart.html", context, status=status)


def _cart_error(request, message: str, status: int = 400):
    cart = Cart(request)
    return _cart_page(request, cart, cart.lines(), error=message, status=status)


def _delivery_line(request, goods: int = 0) -> dict | None:
    """What delivery costs and how long it takes, before the cart: for the
    shopper's area once known (``shop.delivery.line_for``), else the
    cheapest rate and a free pickup point; the shop's SHOP_DELIVERY_LINE
    when it has no delivery data. No query on a warm cache."""
    line = delivery.line_for(request.session.get(delivery.SESSION_KEY), delivery.table(), goods)
    if line is None and settings.SHOP_DELIVERY_LINE:
        return {"text": _(settings.SHOP_DELIVERY_LINE), "known": False, "static": True}
    return line


def _add_key(request, add_key: str) -> str:
    """The cache key of an add-to-cart form's key *in this session*, or ""
    when there is nothing to guard.

    Per session (UX review 2026-12-03, U-07): on a first visit with
    JavaScript off, a double tap sends two POSTs before the first one's
    session cookie arrives, so each starts its own new session; each must
    add its unit, or the page the browser keeps shows an empty cart."""
    session_key = request.session.session_key
    if not add_key or not session_key or len(add_key) > 64 or not add_key.isascii():
        return ""
    return f"{ADD_KEY_CACHE}{session_key}:{add_key}"


def _first_use(request, add_key: str) -> bool:
    """True the first time this session sends an add-to-cart form's key (a
    double tap posts the same form twice: only the first adds). Atomic in
    the shared cache, so two taps handled at once still add one unit."""
    key = _add_key(request, add_key)
    return not key or caches["default"].add(key, 1, ADD_KEY_TTL)


def _added_text(name: str) -> str:
    return _("« %(name)s » est dans votre panier.") % {"name": name}


def _added(request, product: Product):
    messages.success(request, _added_text(product.name))
    return redirect("shop:cart")


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
    if request.session.session_key is None:
        request.session.create()  # a first visit: its key now, so the add key is kept under it
    add_key = request.POST.get("add_key", "")
    spent = _add_key(request, add_key)
    if spent and caches["default"].get(spent) is not None:
        # The second tap of a double tap: already added; show the cart as it is.
        return _added(request, product)
    quantity = form.cleaned_data["quantity"]
    if request.POST.get("replace") != "1":
        quantity += cart.quantity(product.pk)
    message = _quantity_problem(product, quantity)
    if message:
        return _cart_error(request, message)
    wanted = cart.quantities() | {product.pk: quantity}
    products = Product.objects.available().in_bulk(list(wanted))
    try:
        services.check_cart_limits(
            {pid: q for pid, q in wanted.items() if pid in products}, products
        )
    except services.OrderLimit as exc:
        return _cart_error(request, exc.message)
    if _first_use(request, add_key):
        cart.set(product.pk, quantity)
    return _added(request, product)


def _quantity_problem(product: Product, quantity: int) -> str:
    """Why ``quantity`` units of ``product`` cannot be in the cart, or ""."""
    if quantity > product.stock:
        if product.stock == 0:
            return _("« %(name)s » est en rupture de stock.") % {"name": product.name}
        return _("Il ne reste que %(n)s « %(name)s » en stock.") % {
            "n": product.stock,
            "name": product.name,
        }
    if quantity > settings.CART_MAX_QUANTITY:
        return _("Saisissez une quantité entière entre 1 et %(max)s.") % {
            "max": settings.CART_MAX_QUANTITY
        }
    return ""


@require_POST
def cart_update(request):
    """The cart page's one form: a −/+/Retirer button (``set=<id>:<qty>``)
    changes one line; otherwise every ``qty-<id>`` field is applied (typed
    quantities, sent by the script on change or by the no-JS button)."""
    cart = Cart(request)
    held = cart.quantities()
    wanted = dict(held)
    chosen = request.POST.get("set", "")
    if chosen:
        product_id, _sep, raw = chosen.partition(":")
        changes = {product_id: raw}
    else:
        changes = {
            key.removeprefix("qty-"): value
            for key, value in request.POST.items()
            if key.startswith("qty-")
        }
    for raw_id, raw_quantity in changes.items():
        if not (raw_id.isascii() and raw_id.isdigit()) or int(raw_id) not in held:
            continue
        raw_quantity = raw_quantity.strip()
        if (
            not re.fullmatch(r"[0-9]{1,3}", raw_quantity)
            or int(raw_quantity) > settings.CART_MAX_QUANTITY
        ):
            return _cart_error(
                request,
                _("Saisissez une quantité entière entre 1 et %(max)s.")
                % {"max": settings.CART_MAX_QUANTITY},
            )
        wanted[int(raw_id)] = int(raw_quantity)
    wanted = {pid: q for pid, q in wanted.items() if q > 0}
    products = Product.objects.available().in_bulk(list(wanted))
    for pid, quantity in wanted.items():
        if pid in products and wanted[pid] != held.get(pid):
            message = _quantity_problem(products[pid], quantity)
            if message:
                return _cart_error(request, message)
    try:
        services.check_cart_limits(
            {pid: q for pid, q in wanted.items() if pid in products}, products
        )
    except services.OrderLimit as exc:
        return _cart_error(request, exc.message)
    for pid in held:
        cart.set(pid, wanted.get(pid, 0))
    return redirect("shop:cart")


@require_POST
def cart_remove(request):
    form = RemoveFromCartForm(request.POST)
    if form.is_valid():
        Cart(request).remove(form.cleaned_data["product_id"])
    return redirect("shop:cart")


def _issue_checkout_key(request) -> str:
    """A new double-submit key, remembered in this browser's session."""
    key = secrets.token_urlsafe(24)
    issued = [k for k in request.session.get(CHECKOUT_KEYS, []) if isinstance(k, str)]
    request.session[CHECKOUT_KEYS] = [key, *issued][:KEPT_CHECKOUT_KEYS]
    return key


def _issued_here(request, key: str) -> str | None:
    """``key`` when this session was given it, else None: a key copied from
    another browser never returns that browser's order."""
    return key if key and key in request.session.get(CHECKOUT_KEYS, []) else None


@never_cache
@ratelimit(key="ip", rate=lambda g, r: settings.RATELIMIT_CHECKOUT, method="POST", block=True)
@ratelimit(
    key=session_or_ip,
    rate=lambda g, r: settings.RATELIMIT_CHECKOUT_PER_SESSION,
    method="POST",
    block=True,
)
@require_http_methods(["GET", "POST"])
def checkout(request):
    cart = Cart(request)
    lines = cart.lines()
    notes = cart.fit_to_stock(lines)
    if notes:
        # What the stock cannot serve is settled in the cart, before the form.
        for note in notes:
            messages.warning(request, note)
        return redirect("shop:cart")
    if not lines:
        placed = _just_placed(request)
        if placed is not None:
            # A second tab on the same cart: its order is the one just placed.
            messages.info(
                request,
                _("Votre panier est vide : votre commande %(number)s est déjà passée.")
                % {"number": placed.number},
            )
            return redirect(placed)
        messages.info(request, _("Votre panier est vide."))
        return redirect("shop:cart")
    countries = payable_countries(
        settings.SHOP_CURRENCY, cart_total(lines), settings.SHOP_COUNTRIES
    )
    chosen = request.session.get(COUNTRY_KEY)
    table = delivery.table()
    area_id = _area_of(request, table)
    if table and area_id is None:
        messages.info(request, _("Où livrer ? Choisissez d'abord votre ville et votre quartier."))
        return redirect(f"{reverse('shop:delivery_area')}?{urlencode({'next': request.path})}")
    goods = cart_total(lines)
    extra = {"delivery": table or None, "area_id": area_id, "goods": goods}
    if request.method == "POST":
        form = CheckoutForm(request.POST, countries=countries, country=chosen, **extra)
        if form.is_valid():
            data = form.cleaned_data
            if data["country"] != chosen:
                request.session[COUNTRY_KEY] = data["country"]
            customer = services.Customer(
                full_name=data["full_name"],
                email=data["email"],
                phone=data["phone"],
                country=data["country"],
                address=data["address"],
                note=data["note"],
                language=get_language() or settings.LANGUAGE_CODE,
            )
            held, refused = hoarding.claim(request, cart_total(lines))  # per address
            try:
                if refused:
                    raise services.OrderLimit(refused)
                order = services.place_order(
                    cart.quantities(),
                    customer,
                    checkout_key=_issued_here(request, data["checkout_key"]),
                    session_orders=held_orders(request),
                    delivery=data.get("delivery_choice"),
                    products={line.product.pk: line.product for line in lines},
                )
            except (services.OutOfStock, services.OrderLimit) as exc:
                form.add_error(None, exc.message)
            except services.EmptyCart:
                form.add_error(None, _("Certains articles de votre panier ne sont plus en vente."))
            else:
                held = None  # placed: it counts
                cart.clear()
                remember_order(request, order)
                if order.pay_on_delivery:
                    return _placed_on_delivery(request, order)
                return redirect("payments:pay", token=order.token)
            finally:
                if held is not None:
                    hoarding.give_back(held)
        status = 400
    else:
        form = CheckoutForm(
            initial={"checkout_key": _issue_checkout_key(request)},
            countries=countries,
            country=chosen,
            **extra,
        )
        status = 200
    context = {
        "form": form,
        "lines": lines,
        "total": goods,
        "area_label": delivery.label(area_id, table) if area_id else "",
        "delivery_rows": form.delivery_rows,
    }
    return render(request, "shop/checkout.html", context, status=status)


def _area_of(request, table: delivery.Table) -> int | None:
    """The shopper's delivery area: the one the checkout form carries, else
    the one remembered in the session; None when unknown."""
    raw = request.POST.get("area", "") if request.method == "POST" else ""
    if raw.isascii() and raw.isdigit() and int(raw) in table.areas:
        return int(raw)
    area_id = request.session.get(delivery.SESSION_KEY)
    return area_id if area_id in table.areas else None


@never_cache
@require_http_methods(["GET", "POST"])
def delivery_area(request):
    """Where to deliver: country, then city, then neighbourhood, each a
    plain select (no JavaScript); the choice is remembered in the session
    and the shopper goes back to the page she came from."""
    table = delivery.table()
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.method == "POST":
        form = AreaForm(request.POST, table=table)
        if form.is_valid() and form.cleaned_data["area"]:
            area_id = form.cleaned_data["area"]
            request.session[delivery.SESSION_KEY] = area_id
            request.session[COUNTRY_KEY] = table.areas[area_id].country
            messages.success(
                request,
                _("Livraison à %(area)s.") % {"area": delivery.label(area_id, table)},
            )
            return redirect(next_url or "shop:cart")
        status = 200 if form.is_valid() else 400
    else:
        initial = _area_initial(request.session.get(delivery.SESSION_KEY), table)
        form = AreaForm(initial=initial, table=table)
        status = 200
    context = {"form": form, "next": next_url, "table": bool(table)}
    return render(request, "shop/delivery_area.html", context, status=status)


def _area_initial(area_id, table: delivery.Table) -> dict:
    """The selects' values for an area already chosen (or the shop's country)."""
    ids = delivery.chain(area_id, table.areas) if area_id in table.areas else []
    initial = {
        "country": settings.SHOP_COUNTRY if settings.SHOP_COUNTRY in table.countries() else ""
    }
    for i in ids:
        area = table.areas[i]
        initial["country"] = area.country
        if area.level == "city":
            initial["city"] = str(area.id)
        elif area.level == "district":
            initial["district"] = str(area.id)
    return initial


def _just_placed(request) -> Order | None:
    """This browser's newest order when it was placed in the last
    ``JUST_PLACED`` (the cart it emptied may still fill another tab's form)."""
    tokens = held_orders(request)
    if not tokens:
        return None
    since = timezone.now() - JUST_PLACED
    return Order.objects.filter(token=tokens[0], created_at__gte=since).first()


@never_cache
@ratelimit(key="ip", rate=lambda g, r: settings.RATELIMIT_ORDER_PAGE, block=True)
@require_GET
def order_detail(request, token: str):
    """The guest's order page: reached only by its 256-bit token."""
    order = get_object_or_404(Order, token=token)
    remember_order(request, order)
    lines = list(order.lines.all())
    payments = list(order.payments.all()[:10])
    # While a payment is pending the page updates itself like the waiting
    # page (wait.js, or a meta refresh without JS), so a shopper who lands
    # here never stays on a stale "En attente".
    pending = (
        next((p for p in payments if p.status == "pending"), None)
        if order.status in services.workflow.UNPAID_HOLDING
        else None
    )
    # Money reported for two attempts of a paid order: she paid twice (the
    # second is flagged for staff, who refund it); tell her, plainly.
    paid_twice = bool(order.paid_at) and sum(1 for p in payments if p.received_at) >= 2
    context = {
        "order": order,
        "lines": lines,
        "payments": payments,
        "paid_twice": paid_twice,
        "pending": pending,
        "refresh_seconds": ORDER_REFRESH_SECONDS,
        "order_history": public_history(order),  # "Payée → Expédiée → Livrée", no staff names
    }
    return render(request, "shop/order.html", context)


@require_safe
def page(request, slug: str):
    """A staff-edited shop page (delivery, contact, returns)."""
    shop_page = get_object_or_404(Page, slug=slug)
    title, body = shop_page.in_language(get_language())
    context = {"page": shop_page, "title": title, "body": body}
    if slug == DELIVERY_PAGE:
        context["rates"] = delivery.rate_sheet(delivery.table())
    return render(request, "shop/page.html", context)


@never_cache
@ratelimit(key="ip", rate=lambda g, r: settings.RATELIMIT_PAYMENT_START, method="POST", block=True)
@require_POST
def switch_to_pay_on_delivery(request, token: str):
    """From the pay page (every mobile-money route down): pay this order on
    delivery instead, when its delivery option takes it (``pay_on_delivery``)."""
    order = get_object_or_404(Order, token=token)
    try:
        order = pay_on_delivery.switch(order.pk)
    except (pay_on_delivery.Refused, services.OutOfStock) as exc:
        messages.error(request, exc.message)
        return redirect("payments:pay", token=order.token) if order.is_payable else redirect(order)
    remember_order(request, order)
    return _placed_on_delivery(request, order)


def _placed_on_delivery(request, order: Order):
    """A pay-on-delivery order is placed (at the checkout, or switched to from
    the pay page): the shopper hears that we call her, and the notice goes out."""
    notify(order, "placed")
    messages.success(
        request,
        _(
            "Commande enregistrée. Nous vous appelons au %(phone)s pour la "
            "confirmer ; vous payez à la livraison."
        )
        % {"phone": phones.local(order.phone)},
    )
    return redirect(order)

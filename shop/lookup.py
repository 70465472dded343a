"""« Mes commandes » : finding an order again from another phone or browser.

Order numbers are sequential and an e-mail or phone number is no secret (a
relative, a leaked list), so neither opens an order (review 2026-12-03
G-10). Two ways in, each needing something only the shopper was given:

* **the number plus the order's lookup code**: eight characters derived from
  the order's 256-bit token (``lookup_code``), shown on the order page and in
  the confirmation e-mail, short enough for an SMS (``sms_text``). It is not
  stored: it cannot leak from the database without the token, and it never
  changes;
* **a one-time link sent to the order's e-mail**: the shopper types the number
  and the e-mail; if both match, the worker mails a signed link valid
  ``LINK_MAX_AGE`` seconds that opens the order once.

Whatever is typed, the answer is the same page for a number that exists and
one that does not. Guessing is capped three ways: per client address (a
minute and an hour, IPv6 by /64), and per order *number* (``ATTEMPTS_PER_NUMBER``
failed codes, ``LINKS_PER_NUMBER`` mails a day): counted for the typed
number whether or not it exists, so the cap tells nothing either.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from celery import shared_task
from django import forms
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import send_mail
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.decorators import ratelimit

from .cart import held_orders, remember_order
from .forms import ORDER_NUMBER
from .models import Order
from .text import clean_text

logger = logging.getLogger(__name__)

# Crockford's base32: no I, L, O, U (read aloud, typed on a phone keypad).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8  # 40 bits
ATTEMPTS_PER_NUMBER = 5  # failed codes per order number a day
LINKS_PER_NUMBER = 3  # e-mailed links per order number a day
LINK_MAX_AGE = 30 * 60
DAY = 24 * 3600
_SALT = "shop.lookup.link"


# --- the code ------------------------------------------------------------------
def lookup_code(order: Order) -> str:
    """The order's code, as shown: ``K7M2-9QXD``."""
    digest = hashlib.blake2b(order.token.encode(), key=b"ashtech-order-lookup", digest_size=8)
    number = int.from_bytes(digest.digest(), "big")
    chars = [ALPHABET[(number >> (5 * i)) & 31] for i in range(CODE_LENGTH)]
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def normalise_code(typed: str) -> str:
    """What a shopper typed, read the forgiving way (case, spaces, O for 0)."""
    raw = "".join(ch for ch in clean_text(typed).upper() if ch.isalnum())
    raw = raw.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == CODE_LENGTH else raw


def sms_text(order: Order) -> str:
    """One SMS (< 160 characters, plain ASCII apart from the shop name): the
    number, the code and where to type them."""
    return _("%(shop)s : commande %(n)s, code %(code)s. Suivi : %(url)s") % {
        "shop": settings.SHOP_NAME,
        "n": order.number,
        "code": lookup_code(order),
        "url": settings.SITE_URL + reverse("shop:my_orders"),
    }


# --- caps per order number -------------------------------------------------------
def _spend(kind: str, number: int, allowed: int) -> bool:
    """Count one use of ``kind`` for ``number`` today; False once over ``allowed``."""
    key = f"lookup:{kind}:{number}"
    cache.add(key, 0, DAY)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, DAY)
        used = 1
    return used <= allowed


def _exhausted(kind: str, number: int, allowed: int) -> bool:
    return (cache.get(f"lookup:{kind}:{number}") or 0) >= allowed


# --- forms -------------------------------------------------------------------------
class _NumberForm(forms.Form):
    number = forms.CharField(
        label=gettext_lazy("Numéro de commande"),
        max_length=20,
        help_text=gettext_lazy("Par exemple AS-000123."),
    )

    def clean_number(self):
        match = ORDER_NUMBER.match(clean_text(self.cleaned_data["number"]))
        if not match:
            raise forms.ValidationError(_("Saisissez le numéro reçu, par exemple AS-000123."))
        return int(match.group(1))


class CodeLookupForm(_NumberForm):
    """The number plus the code shown on the order page and in the e-mail."""

    prefix = "code"
    code = forms.CharField(
        label=gettext_lazy("Code de suivi"),
        max_length=20,
        help_text=gettext_lazy(
            "8 caractères, par exemple K7M2-9QXD, sur la page de la commande "
            "et dans l'e-mail de confirmation."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def clean_code(self):
        return normalise_code(self.cleaned_data["code"])


class LinkLookupForm(_NumberForm):
    """The number plus the order's e-mail: a one-time link is mailed there."""

    prefix = "link"
    email = forms.EmailField(
        label=gettext_lazy("Adresse e-mail de la commande"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


# --- views -------------------------------------------------------------------------
def _page(request, status: int = 200, **context):
    tokens = held_orders(request)
    orders = (
        list(Order.objects.filter(token__in=tokens[:10]).order_by("-created_at")) if tokens else []
    )
    context.setdefault("form", CodeLookupForm())
    context.setdefault("link_form", LinkLookupForm())
    return render(request, "shop/my_orders.html", {"orders": orders, **context}, status=status)


@never_cache
@require_GET
def my_orders(request):
    """The orders this browser placed or opened, newest first, and the two
    ways to find another one."""
    return _page(request)


def _address_limits(view):
    """Per client address: SHOP_ORDER_LOOKUP_RATE and SHOP_ORDER_LOOKUP_HOURLY."""
    per_minute = ratelimit(
        key="ip", rate=lambda g, r: settings.SHOP_ORDER_LOOKUP_RATE, method="POST", block=True
    )
    per_hour = ratelimit(
        key="ip",
        rate=lambda g, r: settings.SHOP_ORDER_LOOKUP_HOURLY,
        method="POST",
        block=True,
        group="shop.lookup.hourly",
    )
    return per_hour(per_minute(view))


@never_cache
@_address_limits
@require_POST
def order_lookup(request):
    """Open an order by number + code. A wrong code, an unknown number and a
    number whose attempts ran out all give the same answer."""
    form = CodeLookupForm(request.POST)
    if form.is_valid():
        number = form.cleaned_data["number"]
        if not _exhausted("code", number, ATTEMPTS_PER_NUMBER):
            order = Order.objects.filter(pk=number).first()
            code = form.cleaned_data["code"]
            if order is not None and secrets.compare_digest(code, lookup_code(order)):
                remember_order(request, order)
                return redirect(order)
            _spend("code", number, ATTEMPTS_PER_NUMBER)
        form.add_error(
            None,
            _(
                "Aucune commande ne correspond à ce numéro et à ce code, ou trop d'essais ont été "
                "faits pour ce numéro aujourd'hui. Vérifiez-les, ou demandez un lien par e-mail."
            ),
        )
    return _page(request, status=400, form=form)


@never_cache
@_address_limits
@require_POST
def order_link_request(request):
    """Mail a one-time link to the order's e-mail when number and e-mail match.
    The answer is the same whether they matched, did not, or the number's
    links for today are spent."""
    form = LinkLookupForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, link_form=form)
    number = form.cleaned_data["number"]
    email = form.cleaned_data["email"]
    if _spend("link", number, LINKS_PER_NUMBER):
        order = Order.objects.filter(pk=number).only("pk", "email").first()
        if order is not None and email.casefold() == order.email.casefold():
            try:
                send_order_link.delay(order.pk)
            except Exception:  # broker down: the shopper asks again
                logger.exception("could not queue the lookup link of order %s", order.pk)
    return _page(
        request,
        link_sent=_(
            "Si une commande porte ce numéro et cette adresse, un lien pour l'ouvrir vient d'y "
            "être envoyé. Il est valable 30 minutes et ne sert qu'une fois."
        ),
    )


@never_cache
@require_GET
def order_link(request, signed: str):
    """Open the order of a mailed link, once, within LINK_MAX_AGE."""
    try:
        data = signing.loads(signed, salt=_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        raise Http404 from None
    if not isinstance(data, dict) or not cache.add(f"lookup:used:{data.get('n')}", 1, DAY):
        raise Http404
    order = Order.objects.filter(pk=data.get("o")).first()
    if order is None:
        raise Http404
    remember_order(request, order)
    return redirect(order)


def signed_link(order: Order) -> str:
    """An absolute one-time link to ``order`` (a fresh nonce each time)."""
    value = signing.dumps({"o": order.pk, "n": secrets.token_urlsafe(12)}, salt=_SALT)
    return settings.SITE_URL + reverse("shop:order_link", args=[value])


@shared_task
def send_order_link(order_id: int) -> bool:
    """Mail the one-time link to the order's own address (ids only)."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return False
    context = {"order": order, "link": signed_link(order), "shop_name": settings.SHOP_NAME}
    send_mail(
        _("Votre commande %(n)s") % {"n": order.number},
        render_to_string("shop/email/order_link.txt", context),
        None,
        [order.email],
    )
    return True

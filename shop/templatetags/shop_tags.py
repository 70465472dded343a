"""Money and phone numbers the local way: ``15 000 FCFA``, ``70 12 34 56``."""

from django import template
from django.conf import settings

from shop import phones

register = template.Library()

CURRENCY_LABELS = {"XOF": "FCFA", "XAF": "FCFA", "GNF": "GNF"}
THIN_SPACE = "\u202f"


@register.filter
def money(amount, currency=None) -> str:
    if amount is None or amount == "":
        return ""
    try:
        value = int(amount)
    except (TypeError, ValueError):
        return str(amount)
    currency = currency or settings.SHOP_CURRENCY
    digits = f"{abs(value):,}".replace(",", THIN_SPACE)
    sign = "-" if value < 0 else ""
    return f"{sign}{digits}\u00a0{CURRENCY_LABELS.get(currency, currency)}"


@register.filter
def local_phone(e164) -> str:
    """``+22670123456`` → ``70 12 34 56`` (``shop.phones.local``)."""
    return phones.local(str(e164 or ""))

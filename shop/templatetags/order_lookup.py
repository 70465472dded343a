"""``{{ order|lookup_code }}``: the code that finds an order again (shop.lookup)."""

from django import template

from shop.lookup import lookup_code as _lookup_code

register = template.Library()


@register.filter
def lookup_code(order) -> str:
    return _lookup_code(order)

"""The session cart: product ids and quantities, nothing else.

Prices, names and stock are always read from the database when the cart is
shown or checked out, so a shopper can never set a price.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Order, Product

SESSION_KEY = "cart"
ORDERS_KEY = "orders"


@dataclass
class CartLine:
    product: Product
    quantity: int

    @property
    def total(self) -> int:
        return self.product.price * self.quantity

    @property
    def short(self) -> bool:
        return self.quantity > self.product.stock


class Cart:
    def __init__(self, request):
        self.session = request.session
        raw = self.session.get(SESSION_KEY)
        self.items: dict[str, int] = raw if isinstance(raw, dict) else {}

    def __len__(self) -> int:
        return sum(q for q in self.items.values() if isinstance(q, int))

    def quantity(self, product_id: int) -> int:
        return self.items.get(str(product_id), 0)

    def set(self, product_id: int, quantity: int) -> None:
        if quantity <= 0:
            self.items.pop(str(product_id), None)
        else:
            self.items[str(product_id)] = min(quantity, settings.CART_MAX_QUANTITY)
        self._save()

    def remove(self, product_id: int) -> None:
        self.set(product_id, 0)

    def clear(self) -> None:
        self.items = {}
        self._save()

    def quantities(self) -> dict[int, int]:
        out = {}
        for key, quantity in self.items.items():
            if key.isdigit() and isinstance(quantity, int) and quantity > 0:
                out[int(key)] = quantity
        return out

    def lines(self) -> list[CartLine]:
        """Lines for products still on sale, in one query; others are dropped."""
        quantities = self.quantities()
        products = Product.objects.available().in_bulk(list(quantities))
        if len(products) != len(quantities):
            for missing in set(quantities) - set(products):
                self.items.pop(str(missing), None)
            self._save()
        return [CartLine(products[pid], q) for pid, q in quantities.items() if pid in products]

    def fit_to_stock(self, lines: list[CartLine]) -> list[str]:
        """Lower (or drop) every line the stock cannot serve, so the shopper
        meets the problem in the cart, never after filling in the checkout
        form. Returns one message per line changed; ``lines`` is updated."""
        notes = []
        for line in list(lines):
            if not line.short:
                continue
            name = line.product.name
            if line.product.stock == 0:
                self.items.pop(str(line.product.pk), None)
                lines.remove(line)
                notes.append(
                    _("« %(name)s » n'est plus en stock : nous l'avons retiré de votre panier.")
                    % {"name": name}
                )
            else:
                line.quantity = line.product.stock
                self.items[str(line.product.pk)] = line.quantity
                notes.append(
                    ngettext(
                        "Il ne reste que %(n)s « %(name)s » : la quantité a été ajustée.",
                        "Il ne reste que %(n)s « %(name)s » : la quantité a été ajustée.",
                        line.quantity,
                    )
                    % {"n": line.quantity, "name": name}
                )
        if notes:
            self._save()
        return notes

    def _save(self) -> None:
        self.session[SESSION_KEY] = self.items
        self.session.modified = True


def cart_total(lines: list[CartLine]) -> int:
    return sum(line.total for line in lines)


def held_orders(request) -> list[str]:
    """Tokens of the orders this browser placed or opened (newest first)."""
    return [t for t in request.session.get(ORDERS_KEY, []) if isinstance(t, str)]


def remember_order(request, order: Order) -> None:
    """Keep the last few order tokens in the session (return view, header link)."""
    held = request.session.get(ORDERS_KEY, [])
    if held[:1] == [order.token]:
        return  # already first: no session write (a pay page POST stays cheap)
    tokens = [t for t in held if t != order.token]
    request.session[ORDERS_KEY] = [order.token, *tokens][:10]

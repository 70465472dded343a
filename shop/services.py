"""Writes of the shop: placing orders and moving stock.

Stock only moves with conditional UPDATEs (``stock = stock - q WHERE stock >=
q``), taken in product-id order, so concurrent checkouts never oversell and
never deadlock, and staff edits apply a delta instead of overwriting a
number a checkout just changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from . import workflow
from .delivery import Choice, cod_refusal, fee_for
from .fragments import bump_catalogue_on_commit
from .locks import lock_products
from .models import Order, OrderLine, Product
from .templatetags.shop_tags import money


class OutOfStock(Exception):
    def __init__(self, product: Product, available: int):
        super().__init__(product.name)
        self.product = product
        self.available = available

    @property
    def message(self) -> str:
        if self.available <= 0:
            return _("« %(name)s » est en rupture de stock.") % {"name": self.product.name}
        return _("Il ne reste que %(n)s « %(name)s » en stock.") % {
            "n": self.available,
            "name": self.product.name,
        }


class EmptyCart(Exception):
    pass


class OrderLimit(Exception):
    """An order beyond what one shopper may hold; ``message`` is for them."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def check_cart_limits(quantities: dict[int, int], products: dict[int, Product]) -> None:
    """Raise OrderLimit when a cart breaks a cap of one order: units per
    line (the product's ``max_per_order``, else SHOP_MAX_PER_LINE), number of
    lines (SHOP_MAX_ORDER_LINES) or value (SHOP_MAX_ORDER_VALUE). The cart
    and the checkout both apply it, so no order is ever placed beyond them."""
    for product_id, quantity in sorted(quantities.items()):
        product = products[product_id]
        if quantity > product.per_order_limit:
            raise OrderLimit(
                _("Vous pouvez commander au plus %(max)s « %(name)s » par commande.")
                % {"max": product.per_order_limit, "name": product.name}
            )
    if len(quantities) > settings.SHOP_MAX_ORDER_LINES:
        raise OrderLimit(
            _("Une commande peut contenir au plus %(max)s produits différents.")
            % {"max": settings.SHOP_MAX_ORDER_LINES}
        )
    total = sum(products[pid].price * q for pid, q in quantities.items())
    if total > settings.SHOP_MAX_ORDER_VALUE:
        raise OrderLimit(
            _(
                "Une commande ne peut pas dépasser %(max)s. Pour une commande plus importante, "
                "contactez-nous."
            )
            % {"max": money(settings.SHOP_MAX_ORDER_VALUE)}
        )


def open_orders(customer: Customer, session_orders: Collection[str]):
    """Unpaid orders still holding stock for this phone, e-mail or browser session."""
    mine = Q(phone=customer.phone) | Q(email__iexact=customer.email)
    if session_orders:
        mine |= Q(token__in=list(session_orders)[:20])
    return Order.objects.filter(mine, status__in=workflow.EXPIRABLE, stock_reserved=True)


def _check_open_orders(customer: Customer, session_orders: Collection[str]) -> None:
    """Raise OrderLimit when the shopper already holds SHOP_MAX_OPEN_ORDERS
    unpaid orders. Called inside place_order's transaction, after taking a
    lock per phone and per e-mail, so concurrent checkouts are counted too."""
    _lock_shopper(customer)
    if open_orders(customer, session_orders).count() >= settings.SHOP_MAX_OPEN_ORDERS:
        raise OrderLimit(
            _(
                "Vous avez déjà %(n)s commandes en attente de paiement. Payez-les ou attendez leur "
                "expiration avant d'en passer une nouvelle."
            )
            % {"n": settings.SHOP_MAX_OPEN_ORDERS}
        )


def _lock_shopper(customer: Customer) -> None:
    """PostgreSQL transaction-level advisory locks on the phone and the e-mail,
    taken in a fixed order (no deadlock); released at commit or rollback."""
    if connection.vendor != "postgresql":
        return  # SQLite runs one write transaction at a time
    ids = sorted({_lock_id("phone", customer.phone), _lock_id("email", customer.email.lower())})
    with connection.cursor() as cursor:
        for lock_id in ids:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


def _lock_id(kind: str, value: str) -> int:
    digest = hashlib.blake2b(f"shop-order:{kind}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class Customer:
    full_name: str
    email: str
    phone: str  # E.164
    country: str
    address: str = ""
    note: str = ""
    language: str = "fr"


def _take_stock(quantities: dict[int, int], products: dict[int, Product]) -> None:
    """Reserve every line or raise OutOfStock (the caller's atomic() rolls back).

    One line: one conditional ``UPDATE``. Several: the rows locked in
    primary-key order first (``shop.locks.lock_products``: two checkouts
    sharing products never wait on each other in opposite orders), then one
    conditional ``UPDATE`` of them all; fewer rows taken than lines means a
    line the stock cannot serve, named as before."""
    ids = sorted(quantities)
    if len(ids) == 1:
        taken = Product.objects.filter(
            pk=ids[0], is_active=True, stock__gte=quantities[ids[0]]
        ).update(stock=F("stock") - quantities[ids[0]])
    else:
        lock_products(ids)
        enough = Q()
        for product_id in ids:
            enough |= Q(pk=product_id, stock__gte=quantities[product_id])
        taken = Product.objects.filter(enough, is_active=True).update(
            stock=F("stock")
            - Case(
                *(When(pk=product_id, then=Value(quantities[product_id])) for product_id in ids),
                output_field=IntegerField(),
            )
        )
    if taken == len(ids):
        return
    # The first line the stock cannot serve (what was taken, the caller rolls back).
    rows = Product.objects.filter(pk__in=ids).values_list("pk", "stock", "is_active")
    current = {pk: (stock, active) for pk, stock, active in rows}
    short = next(
        (
            pid
            for pid in ids
            if pid not in current or not current[pid][1] or current[pid][0] < quantities[pid]
        ),
        ids[0],
    )
    raise OutOfStock(products[short], current.get(short, (0, False))[0])


def place_order(
    quantities: dict[int, int],
    customer: Customer,
    checkout_key: str | None = None,
    *,
    session_orders: Collection[str] | None = None,
    delivery: Choice | None = None,
    products: Mapping[int, Product] | None = None,
) -> Order:
    """Create an order and reserve its stock in one transaction, all or nothing.

    ``quantities`` maps product ids to quantities (from the session cart);
    prices are read here, server-side. A second call with the same
    ``checkout_key`` returns the first order (double submit): the caller
    passes only a key it issued to this shopper (the checkout keeps them in
    the session). The caps of one order always apply;
    ``session_orders`` (the order tokens the shopper's browser holds, given
    by the checkout) also turns on the limit of open unpaid orders per
    phone, e-mail and session. The order's stock is held until
    ``reserved_until`` (now + ORDER_RESERVATION_TTL).

    ``delivery`` (``shop.delivery.choose``) adds its fee to the total
    (0 from its free-over amount) and is copied onto the order; to be paid
    on delivery, the order is placed "à confirmer", under the option's cap,
    its stock held SHOP_COD_HOLD.
    ``products``: the cart's products as the caller read them in this request
    with ``Product.objects.available()`` (the checkout's cart lines), so they
    are not read twice; prices still come from the database, and the stock is
    checked by the reserving ``UPDATE`` itself.
    Raises ``EmptyCart``, ``OutOfStock`` or ``OrderLimit``.
    """
    quantities = {pid: q for pid, q in quantities.items() if q > 0}
    if not quantities:
        raise EmptyCart
    if checkout_key:
        existing = Order.objects.filter(checkout_key=checkout_key).first()
        if existing:
            return existing
    if products is not None and all(pid in products for pid in quantities):
        products = {pid: products[pid] for pid in quantities}
    else:
        products = Product.objects.available().in_bulk(list(quantities))
    if len(products) != len(quantities):
        raise EmptyCart
    check_cart_limits(quantities, products)
    goods = sum(products[pid].price * q for pid, q in quantities.items())
    fields = _delivery_fields(delivery, goods)
    hold = settings.SHOP_COD_HOLD if fields["pay_on_delivery"] else settings.ORDER_RESERVATION_TTL
    try:
        with transaction.atomic():
            if session_orders is not None:
                _check_open_orders(customer, session_orders)
            _take_stock(quantities, products)
            bump_catalogue_on_commit()
            order = Order.objects.create(
                checkout_key=checkout_key,
                full_name=customer.full_name,
                email=customer.email,
                phone=customer.phone,
                country=customer.country,
                address=customer.address,
                note=customer.note,
                language=customer.language,
                currency=settings.SHOP_CURRENCY,
                goods_total=goods,
                total=goods + fields["delivery_fee"],
                reserved_until=timezone.now() + timedelta(seconds=hold),
                **fields,
            )
            OrderLine.objects.bulk_create(
                OrderLine(
                    order=order,
                    product=products[pid],
                    product_name=products[pid].name,
                    unit_price=products[pid].price,
                    quantity=q,
                )
                for pid, q in sorted(quantities.items())
            )
            if order.pay_on_delivery:
                workflow.set_status(
                    order,
                    Order.Status.TO_CONFIRM,
                    workflow.SHOPPER,
                    note=_("paiement à la livraison"),
                )
    except IntegrityError:
        # Two submits of one form raced: the other one created the order.
        if checkout_key and (existing := Order.objects.filter(checkout_key=checkout_key).first()):
            return existing
        raise
    return order


def _delivery_fields(delivery: Choice | None, goods: int) -> dict:
    """The order's copy of a delivery choice: fee after the free-over rule,
    option, delay, area and pickup point as they are now. Raises OrderLimit
    when pay on delivery is above the option's cap."""
    if delivery is None:
        return {"delivery_fee": 0, "pay_on_delivery": False}
    rate = delivery.rate
    fee = fee_for(rate, goods)
    if delivery.pay_on_delivery and (refusal := cod_refusal(rate, goods + fee)):
        raise OrderLimit(refusal)
    return {
        "delivery_fee": fee,
        "delivery_kind": rate.kind,
        "delivery_label": rate.label[:120],
        "delivery_option_id": rate.id,
        "delivery_area_id": delivery.area_id,
        "delivery_area_label": delivery.area_label[:200],
        "delivery_delay_min": rate.delay_min,
        "delivery_delay_max": rate.delay_max,
        "landmark": delivery.landmark[:200],
        "pickup_point_id": delivery.point.id if delivery.point else None,
        "pickup_details": delivery.point.details if delivery.point else "",
        "pay_on_delivery": delivery.pay_on_delivery,
    }


def release_stock(order: Order) -> bool:
    """Give an order's reserved stock back, exactly once; the status is the
    caller's to move (``workflow.set_status``).

    The caller holds the order row lock (``shop.locks``) inside ``atomic()``.
    Returns True when stock moved.
    """
    if not order.stock_reserved:
        return False
    for product_id, quantity in sorted(order.lines.values_list("product_id", "quantity")):
        Product.objects.filter(pk=product_id).update(stock=F("stock") + quantity)
    bump_catalogue_on_commit()
    order.stock_reserved = False
    order.save(update_fields=["stock_reserved", "updated_at"])
    return True


def reserve_stock_again(order: Order, actor: str, by=None, note: str = "") -> None:
    """Re-reserve a released order's stock before a new payment attempt or a
    late success; an expired (or, for staff's review, cancelled) order is
    pending payment again. The caller holds the order row lock. Raises
    OutOfStock, or ``workflow.MoveRefused`` when ``actor`` may not reopen it."""
    if order.stock_reserved:
        return
    if order.status != Order.Status.PENDING_PAYMENT:
        workflow.check(order.status, Order.Status.PENDING_PAYMENT, actor)
    lines = list(order.lines.select_related("product"))
    with transaction.atomic():
        _take_stock(
            {line.product_id: line.quantity for line in lines},
            {line.product_id: line.product for line in lines},
        )
        bump_catalogue_on_commit()
        order.stock_reserved = True
        order.save(update_fields=["stock_reserved", "updated_at"])
        workflow.set_status(
            order, Order.Status.PENDING_PAYMENT, actor, by=by, note=note or _("stock réservé")
        )


def mark_paid(order: Order, actor: str = workflow.PAYMENT, by=None, note: str = "") -> bool:
    """Mark a locked order paid; True only the first time."""
    if order.status == Order.Status.PAID or order.paid_at:
        return False
    return workflow.set_status(order, Order.Status.PAID, actor, by=by, note=note)


class StockChangeRefused(Exception):
    pass


def adjust_stock(product_id: int, delta: int) -> int:
    """Apply a staff stock change as a delta, never below zero; returns the new stock."""
    with transaction.atomic():
        if delta < 0:
            changed = Product.objects.filter(pk=product_id, stock__gte=-delta).update(
                stock=F("stock") + delta
            )
        else:
            changed = Product.objects.filter(pk=product_id).update(stock=F("stock") + delta)
        if not changed:
            raise StockChangeRefused
        bump_catalogue_on_commit()
        return Product.objects.values_list("stock", flat=True).get(pk=product_id)

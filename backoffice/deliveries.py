"""Staff's delivery steps: confirm a pay-on-delivery order, cancel it, send
or set out a parcel, hand it over, and record the money taken at the door.

Each step locks the order (``shop.locks``), moves it only through
``shop.workflow.set_status`` (or records a step without a status move with
``workflow.note``), and tells the shopper through ``shop.notify`` after
commit. Bad input is refused with a French message (``StepRefused``).
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shop import workflow
from shop.locks import lock_order
from shop.models import CashCollection, DeliveryKind, Order
from shop.notify import notify
from shop.templatetags.shop_tags import money

S = Order.Status


class StepRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def confirm(order_id: int, by) -> Order:
    """A pay-on-delivery order confirmed with the shopper (by phone or
    WhatsApp): to ship, its stock kept until it is paid or cancelled."""
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status != S.TO_CONFIRM:
            raise StepRefused(
                _("Seule une commande « À confirmer » se confirme (celle-ci est « %(s)s »).")
                % {"s": order.get_status_display()}
            )
        workflow.set_status(order, S.CONFIRMED, workflow.STAFF, by=by, note=_("confirmée"))
        notify(order, "confirmed")
    return order


def cancel(order_id: int, by, note: str = "") -> Order:
    """An unpaid order cancelled by staff; its stock given back once."""
    try:
        return workflow.move(order_id, S.CANCELLED, by=by, note=note or _("annulée"))
    except workflow.MoveRefused as exc:
        raise StepRefused(exc.message) from exc


def ship(order_id: int, by) -> Order:
    """The parcel left (home delivery) or is ready at the pickup point.

    A paid order moves to "shipped"; a confirmed pay-on-delivery order
    keeps its status until the money is taken, the step recorded as an
    event. Either way ``shipped_at`` is set once."""
    with transaction.atomic():
        order = lock_order(order_id)
        pickup = order.delivery_kind == DeliveryKind.PICKUP
        step = _("prête au retrait") if pickup else _("expédiée")
        if order.shipped_at:
            raise StepRefused(_("Cette commande est déjà %(step)s.") % {"step": step})
        if order.status == S.PAID:
            workflow.set_status(order, S.SHIPPED, workflow.STAFF, by=by, note=step)
        elif order.status == S.CONFIRMED:
            workflow.note(order, step, workflow.STAFF, by=by)
        else:
            raise StepRefused(
                _("Une commande « %(s)s » ne s'expédie pas : confirmez-la ou attendez le paiement.")
                % {"s": order.get_status_display()}
            )
        order.shipped_at = timezone.now()
        order.save(update_fields=["shipped_at", "updated_at"])
        notify(order, "ready_for_pickup" if pickup else "shipped")
    return order


def deliver(order_id: int, by) -> Order:
    """A paid parcel handed over (at the door or the pickup point)."""
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status in (S.TO_CONFIRM, S.CONFIRMED):
            raise StepRefused(
                _("Cette commande se paie à la livraison : enregistrez d'abord l'encaissement.")
            )
        try:
            workflow.set_status(order, S.DELIVERED, workflow.STAFF, by=by, note=_("livrée"))
        except workflow.MoveRefused as exc:
            raise StepRefused(exc.message) from exc
        notify(order, "delivered")
    return order


AMOUNT = re.compile(r"[0-9]{1,12}")


def parse_amount(raw) -> int:
    """A whole amount typed by staff (``15000``, ``15 000``), or StepRefused."""
    text = re.sub(r"[\s\u202f\u00a0]", "", str(raw if raw is not None else ""))
    if not AMOUNT.fullmatch(text):
        raise StepRefused(
            _("Saisissez le montant encaissé en chiffres, sans centimes (par exemple 15000).")
        )
    return int(text)


def record_collection(order_id: int, amount, method: str, by, note: str = "") -> CashCollection:
    """Money taken at the door or the pickup point: recorded once, under the
    order lock; the order becomes paid (actor ``delivery``) and delivered.
    The amount must be the order's total, in whole units."""
    amount = parse_amount(amount)
    if method not in CashCollection.Method.values:
        raise StepRefused(_("Choisissez comment le client a payé : espèces ou mobile money."))
    note = (note or "").replace("\x00", "").strip()[:300]
    with transaction.atomic():
        order = lock_order(order_id)
        if order.paid_at or order.status not in (S.TO_CONFIRM, S.CONFIRMED):
            raise StepRefused(
                _("Rien à encaisser : cette commande est « %(s)s ».")
                % {"s": order.get_status_display()}
            )
        if amount != order.total:
            raise StepRefused(
                _(
                    "Le montant encaissé (%(got)s) n'est pas celui de la commande (%(total)s) : "
                    "vérifiez-le."
                )
                % {
                    "got": money(amount, order.currency),
                    "total": money(order.total, order.currency),
                }
            )
        try:
            with transaction.atomic():
                collection = CashCollection.objects.create(
                    order=order,
                    amount=amount,
                    currency=order.currency,
                    method=method,
                    collected_by=by,
                    note=note,
                )
        except IntegrityError as exc:
            raise StepRefused(
                _("Un encaissement est déjà enregistré pour cette commande.")
            ) from exc
        how = collection.get_method_display()
        workflow.set_status(
            order,
            S.PAID,
            workflow.DELIVERY,
            by=by,
            note=f"{how} {money(amount, order.currency)}",
        )
        workflow.set_status(order, S.DELIVERED, workflow.DELIVERY, by=by, note=_("remise"))
        notify(order, "delivered")
    return collection

"""Reads shared by pages."""

from shop.models import Order

from .models import OrderEvent


def public_history(order: Order) -> list[str]:
    """The order's path for the shopper, without staff names or notes:
    ["Payée", "Expédiée", "Livrée"]. One query; call it in the view."""
    steps = [str(Order.Status.PAID.label)] if order.paid_at else []
    for frm, to in OrderEvent.objects.filter(order=order).values_list("from_status", "to_status"):
        if frm == to:
            continue
        if not steps:
            steps.append(str(Order.Status(frm).label))
        label = str(Order.Status(to).label)
        if steps[-1] != label:  # a fulfilled order is already "Payée"
            steps.append(label)
    return steps

"""Reads shared by pages."""

from shop.models import Order, OrderEvent

# The moves a shopper is shown on the order page (the unpaid back-and-forth
# of attempts and holds is for staff).
PUBLIC = frozenset(
    {
        Order.Status.TO_CONFIRM,
        Order.Status.CONFIRMED,
        Order.Status.PAID,
        Order.Status.SHIPPED,
        Order.Status.DELIVERED,
    }
)
PUBLIC_END = frozenset({Order.Status.CANCELLED})


def public_history(order: Order) -> list[str]:
    """The order's path for the shopper, from its recorded moves only (no
    synthesised step), without staff names or notes: ["Payée", "Expédiée",
    "Livrée"]; "Annulée" after any of them. One query; call it in the view."""
    steps: list[str] = []
    for frm, to in OrderEvent.objects.filter(order=order).values_list("from_status", "to_status"):
        if frm == to or not (to in PUBLIC or (to in PUBLIC_END and steps)):
            continue
        label = str(Order.Status(to).label)
        if not steps or steps[-1] != label:
            steps.append(label)
    return steps

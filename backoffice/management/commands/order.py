"""Move orders from a shell, through the same ``shop.workflow.move`` as the admin:
``manage.py order ship|deliver|cancel AS-000012 [...] [--note ...] [--by username]``."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from shop import workflow
from shop.models import Order

MOVES = {
    "ship": Order.Status.SHIPPED,
    "deliver": Order.Status.DELIVERED,
    "cancel": Order.Status.CANCELLED,
}


class Command(BaseCommand):
    help = "Mark orders shipped, delivered or cancelled (unpaid only), as the admin actions do."

    def add_arguments(self, parser):
        parser.add_argument("move", choices=sorted(MOVES))
        parser.add_argument("orders", nargs="+", help="order numbers (AS-000012) or ids")
        parser.add_argument("--note", default="")
        parser.add_argument("--by", default="", help="staff username recorded on the move")

    def handle(self, *args, move, orders, note, by, **options):
        user = get_user_model().objects.filter(username=by).first() if by else None
        failed = False
        for label in orders:
            digits = label.upper().removeprefix("AS-")
            if not digits.isdigit():
                raise CommandError(f"{label}: not an order number")
            try:
                order = workflow.move(int(digits), MOVES[move], by=user, note=note)
                self.stdout.write(f"{order.number} {order.status}")
            except Order.DoesNotExist:
                failed = True
                self.stderr.write(f"{label}: no such order")
            except workflow.MoveRefused as exc:
                failed = True
                self.stderr.write(f"{label}: {exc.message}")
        if failed:
            raise CommandError("some orders were not moved")

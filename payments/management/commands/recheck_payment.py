"""Re-run the status check of payments by reference (staff tool)."""

from django.core.management.base import BaseCommand, CommandError

from payments import services
from payments.models import Payment


class Command(BaseCommand):
    help = (
        "Ask the provider again and apply the answer: recheck_payment <reference> [...] or "
        "--overdue."
    )

    def add_arguments(self, parser):
        parser.add_argument("references", nargs="*")
        parser.add_argument(
            "--overdue",
            action="store_true",
            help="every pending payment past its deadline + 15 min",
        )

    def handle(self, *args, references, overdue, **options):
        payments = list(Payment.objects.filter(reference__in=references)) if references else []
        if overdue:
            payments += list(services.overdue_pending())
        if not payments:
            raise CommandError("no payment matched")
        for payment in payments:
            payment = services.check_payment(payment.pk, source="staff")
            self.stdout.write(
                f"{payment.reference} {payment.provider} "
                f"{payment.status}{' needs review' if payment.needs_review else ''}"
            )

"""``manage.py reconcile --since YYYY-MM-DD [--provider P] [--csv FILE]``: compare
our payments with the providers' and list every mismatch (new ones are flagged)."""

from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backoffice.reconcile import as_csv, reconcile


class Command(BaseCommand):
    help = "Reconcile payments created since a date with each provider's status."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True)
        parser.add_argument("--provider", default=None)
        parser.add_argument("--csv", default=None, help="write the mismatches to this file")

    def handle(self, *args, since, provider, csv, **options):
        try:
            day = date.fromisoformat(since)
        except ValueError:
            raise CommandError("--since must be YYYY-MM-DD") from None
        report = reconcile(
            since=timezone.make_aware(datetime.combine(day, time.min)), provider=provider
        )
        for m in report.mismatches:
            self.stdout.write(
                f"{m.provider} {m.payment.reference} {m.kind} ours={m.ours} "
                f"theirs={m.theirs}{' NEW' if m in report.new else ''}"
            )
        for code in report.skipped:
            self.stderr.write(f"{code}: another reconciliation is running, skipped")
        self.stdout.write(
            f"{report.checked} checked, {len(report.mismatches)} mismatches, {len(report.new)} new"
        )
        if csv:
            with open(csv, "w", encoding="utf-8") as out:
                out.write(as_csv(report.mismatches))

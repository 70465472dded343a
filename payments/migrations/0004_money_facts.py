"""Money as amounts: what a provider reported on a success is stored on the
payment. Filled for existing rows from typed facts only: a succeeded payment
received its amount (success is only applied on matching money); a flagged
one from the newest journalled decision whose provider outcome was
"succeeded" (its ``amount`` and ``currency`` fields, as reported). Review
reasons get their code from the same decisions' wording, once, here."""

from django.db import migrations, models


CODES = (
    ("mismatching money", "amount_mismatch"),
    ("second successful payment", "second_success"),
    ("after the attempt ended", "late_success"),
    ("is now short", "stock_short"),
    ("status unknown at the deadline", "unknown_at_deadline"),
    ("watch of this ended attempt ran out", "watch_unknown"),
)


def fill(apps, schema_editor):
    Payment = apps.get_model("payments", "Payment")
    PaymentEvent = apps.get_model("payments", "PaymentEvent")
    for p in Payment.objects.filter(status="succeeded", received_at__isnull=True).iterator():
        Payment.objects.filter(pk=p.pk).update(
            received_amount=p.amount,
            received_currency=p.currency,
            received_at=p.finalised_at or p.updated_at,
        )
    # Flagged payments of every status (a second success and a success whose
    # stock ran short stayed "succeeded"); the newest reason (last in the text) wins.
    for p in Payment.objects.exclude(review_reason="").iterator():
        fields = {}
        found = [(p.review_reason.rfind(w), code) for w, code in CODES if w in p.review_reason]
        if found:
            fields["review_code"] = max(found)[1]
        success = None
        if p.status != "succeeded":  # filled above
            success = (
                PaymentEvent.objects.filter(payment=p, kind="decision", data__outcome="succeeded")
                .order_by("-created_at", "-id")
                .first()
            )
        if success is not None:
            amount = success.data.get("amount")
            fields["received_amount"] = amount if isinstance(amount, int) and amount >= 0 else None
            fields["received_currency"] = str(success.data.get("currency") or "")[:3].upper()
            fields["received_at"] = success.created_at
        if fields:
            Payment.objects.filter(pk=p.pk).update(**fields)


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0003_callback_queue'),
    ]

    operations = [
        migrations.AddField(
            model_name='payment',
            name='payer_account',
            field=models.CharField(blank=True, max_length=32, verbose_name='compte payeur signalé'),
        ),
        migrations.AddField(
            model_name='payment',
            name='received_amount',
            field=models.PositiveBigIntegerField(blank=True, null=True, verbose_name='montant reçu'),
        ),
        migrations.AddField(
            model_name='payment',
            name='received_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='reçu le'),
        ),
        migrations.AddField(
            model_name='payment',
            name='received_currency',
            field=models.CharField(blank=True, max_length=3, verbose_name='devise reçue'),
        ),
        migrations.AddField(
            model_name='payment',
            name='review_code',
            field=models.CharField(blank=True, choices=[('amount_mismatch', 'Succès avec un montant ou une devise différents'), ('second_success', 'Deuxième paiement réussi : commande déjà payée'), ('late_success', 'Paiement reçu après la fin de la tentative'), ('stock_short', 'Payée alors que le stock manque'), ('order_closed', 'Payée alors que la commande est annulée'), ('unknown_at_deadline', "Statut inconnu à l'échéance"), ('watch_unknown', 'Statut inconnu à la fin de la surveillance'), ('refund_failed', 'Remboursement refusé par le prestataire'), ('refund_no_answer', 'Remboursement envoyé sans réponse lisible'), ('refund_amount', 'Montant remboursé différent du montant demandé'), ('refund_unrecognised', "Réponse qui n'est pas un remboursement"), ('refund_stuck', 'Remboursement toujours pas final')], max_length=24, verbose_name="motif d'examen"),
        ),
        migrations.AlterField(
            model_name='payment',
            name='review_reason',
            field=models.TextField(blank=True, verbose_name="détail de l'examen"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]

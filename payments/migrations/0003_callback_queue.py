"""The stored callback row is the queue: ``processed_at`` plus a partial
index of the callbacks not acted on yet. Callbacks stored before this
migration were handed to the worker one task each: they count as processed."""

from django.db import migrations, models
from django.db.models import F, Q


def mark_existing(apps, schema_editor):
    PaymentEvent = apps.get_model("payments", "PaymentEvent")
    PaymentEvent.objects.filter(kind="callback", processed_at__isnull=True).update(processed_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_late_watch")]

    operations = [
        migrations.AddField(model_name="paymentevent", name="processed_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(mark_existing, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="paymentevent",
            index=models.Index(condition=Q(kind="callback", processed_at__isnull=True, valid=True), fields=["id"], name="callback_queue"),
        ),
    ]

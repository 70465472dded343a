"""Order events move from backoffice to shop (the one status setter writes
them): the old rows are copied with their actor guessed from the move, and
every order paid before this change gets its "paid" event (the order page no
longer synthesises that step)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models



def _actor(frm: str, to: str, by_id) -> str:
    if to == "cancelled" and frm in ("paid", "shipped", "delivered"):
        return "refund"
    if to == "paid":
        return "review"
    return "staff"


def copy_events(apps, schema_editor):
    Old = apps.get_model("backoffice", "OrderEvent")
    New = apps.get_model("shop", "OrderEvent")
    Order = apps.get_model("shop", "Order")
    for old in Old.objects.order_by("id").iterator():
        new = New.objects.create(
            order_id=old.order_id,
            from_status=old.from_status,
            to_status=old.to_status,
            actor=_actor(old.from_status, old.to_status, old.by_id),
            by_id=old.by_id,
            note=old.note,
        )
        New.objects.filter(pk=new.pk).update(created_at=old.created_at)
    paid_logged = New.objects.filter(to_status="paid").values_list("order_id", flat=True)
    for order in Order.objects.filter(paid_at__isnull=False).exclude(pk__in=paid_logged):
        new = New.objects.create(
            order_id=order.pk, from_status="pending_payment", to_status="paid", actor="payment"
        )
        New.objects.filter(pk=new.pk).update(created_at=order.paid_at)


class Migration(migrations.Migration):

    dependencies = [
        ('shop', '0003_pages_photos'),
        ('backoffice', '0003_refund_check_count_label'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='OrderEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('from_status', models.CharField(choices=[('pending_payment', 'En attente de paiement'), ('paid', 'Payée'), ('shipped', 'Expédiée'), ('delivered', 'Livrée'), ('cancelled', 'Annulée'), ('expired', 'Expirée')], max_length=20, verbose_name='de')),
                ('to_status', models.CharField(choices=[('pending_payment', 'En attente de paiement'), ('paid', 'Payée'), ('shipped', 'Expédiée'), ('delivered', 'Livrée'), ('cancelled', 'Annulée'), ('expired', 'Expirée')], max_length=20, verbose_name='vers')),
                ('actor', models.CharField(choices=[('payment', 'Paiement'), ('expiry', 'Expiration'), ('review', 'Examen'), ('refund', 'Remboursement'), ('staff', 'Équipe'), ('shopper', 'Client')], max_length=10, verbose_name='acteur')),
                ('note', models.CharField(blank=True, max_length=500, verbose_name='note')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='le')),
                ('by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='par')),
                ('order', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='shop.order', verbose_name='commande')),
            ],
            options={
                'verbose_name': 'mouvement de commande',
                'verbose_name_plural': 'mouvements de commande',
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.RunPython(copy_events, migrations.RunPython.noop),
    ]

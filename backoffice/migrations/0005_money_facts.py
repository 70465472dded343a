"""Refund review codes, idempotent resolutions, and the "Caisse" group's
permissions for what its resolutions change (changing a refund or a
mismatch; order moves now live in shop)."""

from django.db import migrations, models


CAISSE_MORE = [
    ("backoffice", "change_refund"),
    ("backoffice", "change_reconciliationmismatch"),
    ("backoffice", "add_resolution"),
    ("shop", "view_orderevent"),
]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Caisse").first()
    if group is None:
        return
    for app, codename in CAISSE_MORE:
        perm = Permission.objects.filter(content_type__app_label=app, codename=codename).first()
        if perm is not None:
            group.permissions.add(perm)


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ('backoffice', '0004_order_events_in_shop'),
    ]

    operations = [
        migrations.AddField(
            model_name='refund',
            name='review_code',
            field=models.CharField(blank=True, choices=[('amount_mismatch', 'Succès avec un montant ou une devise différents'), ('second_success', 'Deuxième paiement réussi : commande déjà payée'), ('late_success', 'Paiement reçu après la fin de la tentative'), ('stock_short', 'Payée alors que le stock manque'), ('order_closed', 'Payée alors que la commande est annulée'), ('unknown_at_deadline', "Statut inconnu à l'échéance"), ('watch_unknown', 'Statut inconnu à la fin de la surveillance'), ('refund_failed', 'Remboursement refusé par le prestataire'), ('refund_no_answer', 'Remboursement envoyé sans réponse lisible'), ('refund_amount', 'Montant remboursé différent du montant demandé'), ('refund_unrecognised', "Réponse qui n'est pas un remboursement"), ('refund_stuck', 'Remboursement toujours pas final')], max_length=24, verbose_name="motif d'examen"),
        ),
        migrations.AddField(
            model_name='resolution',
            name='collected_amount',
            field=models.PositiveBigIntegerField(blank=True, null=True, verbose_name='complément encaissé'),
        ),
        migrations.AddField(
            model_name='resolution',
            name='collected_how',
            field=models.CharField(blank=True, max_length=120, verbose_name='encaissé comment'),
        ),
        migrations.AddField(
            model_name='resolution',
            name='request_key',
            field=models.CharField(blank=True, editable=False, max_length=64, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name='refund',
            name='review_reason',
            field=models.TextField(blank=True, verbose_name="détail de l'examen"),
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]

"""Route health (issue 18): the wallet an attempt was for, each route's
state, its outcomes and its changes; the "Caisse" group may see and pause
routes ("Santé des paiements")."""

import django.db.models.deletion
from django.db import migrations, models


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
    for codename in ("view_routehealth", "change_routehealth"):
        perm = Permission.objects.filter(content_type__app_label="payments", codename=codename).first()
        if perm is not None:
            group.permissions.add(perm)


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0004_money_facts'),
        ('backoffice', '0002_staff_groups'),
    ]

    operations = [
        migrations.CreateModel(
            name='RouteHealth',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=120, unique=True, verbose_name='route')),
                ('provider', models.CharField(max_length=20, verbose_name='prestataire')),
                ('method', models.CharField(max_length=40, verbose_name='moyen')),
                ('wallet', models.CharField(blank=True, max_length=40, verbose_name='portefeuille')),
                ('country', models.CharField(max_length=2, verbose_name='pays')),
                ('currency', models.CharField(max_length=3, verbose_name='devise')),
                ('state', models.CharField(choices=[('ok', 'Opérationnel'), ('degraded', 'Ralenti'), ('down', 'Hors service'), ('probing', 'En test')], default='ok', max_length=10, verbose_name='état')),
                ('since', models.DateTimeField(blank=True, null=True, verbose_name='depuis')),
                ('backoff_step', models.PositiveSmallIntegerField(default=0)),
                ('window_start', models.DateTimeField(blank=True, null=True)),
                ('paused', models.BooleanField(default=False, verbose_name='en pause')),
                ('priority', models.PositiveSmallIntegerField(default=100, verbose_name='rang')),
                ('rate', models.FloatField(blank=True, null=True, verbose_name='taux de succès technique')),
                ('considered', models.PositiveSmallIntegerField(default=0)),
                ('consecutive', models.PositiveSmallIntegerField(default=0)),
                ('evaluated_at', models.DateTimeField(blank=True, null=True)),
                ('version', models.PositiveIntegerField(default=0)),
            ],
            options={
                'verbose_name': "santé d'une route de paiement",
                'verbose_name_plural': 'santé des routes de paiement',
                'ordering': ['currency', 'country', 'wallet', 'priority', 'provider', 'method'],
            },
        ),
        migrations.AddField(
            model_name='payment',
            name='wallet',
            field=models.CharField(blank=True, max_length=40, verbose_name='portefeuille'),
        ),
        migrations.CreateModel(
            name='RouteChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('old_state', models.CharField(blank=True, max_length=10)),
                ('new_state', models.CharField(max_length=10)),
                ('reason', models.CharField(max_length=300)),
                ('by', models.CharField(default='automatique', max_length=150, verbose_name='par')),
                ('at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('route', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='changes', to='payments.routehealth')),
            ],
            options={
                'ordering': ['-at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='RouteOutcome',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('route', models.CharField(max_length=120)),
                ('kind', models.CharField(max_length=10)),
                ('initiation_error', models.BooleanField(default=False)),
                ('at', models.DateTimeField()),
                ('initiation_ms', models.PositiveIntegerField(blank=True, null=True)),
                ('final_seconds', models.PositiveIntegerField(blank=True, null=True)),
                ('payment', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='route_outcome', to='payments.payment')),
            ],
            options={
                'indexes': [models.Index(fields=['route', '-at'], name='route_outcome_recent')],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]

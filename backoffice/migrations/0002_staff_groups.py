"""Groups "Catalogue" (products, stock) and "Caisse" (orders, payments,
refunds, reconciliation, review). Superusers have everything."""

from django.db import migrations

CATALOGUE = [("shop", "product", ("view", "add", "change")), ("shop", "category", ("view", "add", "change"))]
CAISSE = [
    ("shop", "order", ("view", "change")),
    ("shop", "orderline", ("view",)),
    ("payments", "payment", ("view", "change")),
    ("payments", "paymentevent", ("view",)),
    ("backoffice", "refund", ("view", "add")),
    ("backoffice", "refundevent", ("view",)),
    ("backoffice", "orderevent", ("view",)),
    ("backoffice", "reconciliationmismatch", ("view",)),
    ("backoffice", "resolution", ("view",)),
]


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, spec in (("Catalogue", CATALOGUE), ("Caisse", CAISSE)):
        group, _ = Group.objects.get_or_create(name=name)
        codenames = [(app, f"{action}_{model}") for app, model, actions in spec for action in actions]
        if name == "Caisse":
            codenames.append(("backoffice", "make_refund"))
        for app, codename in codenames:
            group.permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))


class Migration(migrations.Migration):
    dependencies = [("backoffice", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length"), ("shop", "0003_pages_photos"), ("payments", "0002_late_watch")]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]

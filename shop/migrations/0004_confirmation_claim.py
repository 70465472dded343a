from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0003_pages_photos"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="confirmation_claimed_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]

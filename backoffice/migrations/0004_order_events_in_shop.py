"""Order events now live in shop (copied by shop 0004)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('backoffice', '0003_refund_check_count_label'),
        ('shop', '0004_order_events_in_shop'),
    ]

    operations = [
        migrations.DeleteModel(
            name='OrderEvent',
        ),
    ]

"""The Livraison page's hand-written rates give way to the rate sheet built
from the delivery data (issue 16); a body staff already edited is kept."""

from django.db import migrations

SEEDED_FR = (
    "Ouagadougou : livraison sous 48 h, 1 000 FCFA (offerte dès 50 000 FCFA).\n\n"
    "Bobo-Dioulasso et autres villes du Burkina : 3 à 5 jours, 2 500 FCFA, par car ou transporteur.\n\n"
    "Autres pays de la sous-région : nous contacter avant de commander.\n\n"
    "Nous vous appelons pour convenir du lieu et de l'heure avant chaque livraison."
)
SEEDED_EN = (
    "Ouagadougou: delivered within 48 h, 1,000 FCFA (free from 50,000 FCFA).\n\n"
    "Bobo-Dioulasso and other towns in Burkina Faso: 3 to 5 days, 2,500 FCFA, by coach or carrier.\n\n"
    "Other countries of the region: please contact us before ordering.\n\n"
    "We call you to agree on the place and time before every delivery."
)
BODY_FR = (
    "Frais, délais, points de retrait et paiement à la livraison pour chaque ville et "
    "quartier : ci-dessous.\n\n"
    "Nous vous appelons pour convenir du lieu et de l'heure avant chaque livraison."
)
BODY_EN = (
    "Fees, delays, pickup points and pay on delivery for each town and neighbourhood: below.\n\n"
    "We call you to agree on the place and time before every delivery."
)


def forward(apps, schema_editor):
    Page = apps.get_model("shop", "Page")
    Page.objects.filter(slug="livraison", body=SEEDED_FR).update(body=BODY_FR)
    Page.objects.filter(slug="livraison", body_en=SEEDED_EN).update(body_en=BODY_EN)


def backward(apps, schema_editor):
    Page = apps.get_model("shop", "Page")
    Page.objects.filter(slug="livraison", body=BODY_FR).update(body=SEEDED_FR)
    Page.objects.filter(slug="livraison", body_en=BODY_EN).update(body_en=SEEDED_EN)


class Migration(migrations.Migration):
    dependencies = [("shop", "0006_delivery")]

    operations = [migrations.RunPython(forward, backward)]

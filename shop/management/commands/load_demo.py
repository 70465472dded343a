"""Load the demo catalogue: a tech shop, 30 products in 6 categories, with
generated pictures. Running it again changes nothing that exists."""

from io import BytesIO

from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image, ImageDraw

from shop.images import make_thumbnail
from shop.models import Category, Product

CATALOGUE = {
    ("Téléphones", "telephones", "#1f6feb"): [
        ("Tecno Spark 20", 79000, 12, "Écran 6,6 pouces, 128 Go, double SIM, batterie 5000 mAh."),
        ("Itel A70", 49000, 25, "Le smartphone robuste pour tous les jours, 64 Go, double SIM."),
        ("Infinix Hot 40i", 89000, 8, "128 Go, charge rapide 18 W, appareil photo 50 Mpx."),
        ("Samsung Galaxy A15", 125000, 5, "Écran Super AMOLED, 128 Go, 4 ans de mises à jour."),
        ("Xiaomi Redmi 13C", 95000, 3, "6,74 pouces, 128 Go, batterie longue durée."),
        ("Nokia 105", 12500, 40, "Le téléphone à touches increvable, radio FM, lampe torche."),
    ],
    ("Ordinateurs", "ordinateurs", "#8250df"): [
        ("HP 250 G9", 385000, 4, "Intel Core i5, 8 Go RAM, SSD 512 Go, écran 15,6 pouces."),
        ("Lenovo IdeaPad 1", 299000, 6, "AMD Ryzen 5, 8 Go RAM, SSD 256 Go, léger et endurant."),
        (
            "Dell Latitude 5490 reconditionné",
            215000,
            10,
            "Core i5, 8 Go, SSD 256 Go, garanti 6 mois.",
        ),
        ("Acer Aspire 3", 329000, 2, "Core i3, 8 Go, SSD 512 Go, Windows 11."),
        ("MacBook Air M1", 690000, 1, "Puce Apple M1, 8 Go, 256 Go, autonomie de 15 heures."),
    ],
    ("Accessoires", "accessoires", "#2da44e"): [
        ("Chargeur rapide 25 W", 9500, 60, "USB-C Power Delivery, compatible Samsung et iPhone."),
        ("Câble USB-C tressé 1 m", 3500, 120, "Nylon tressé, 3 A, charge et données."),
        ("Coque antichoc universelle", 4500, 80, "Silicone renforcé aux angles."),
        ("Verre trempé 9H", 2500, 150, "Protection d'écran, pose facile."),
        ("Support de téléphone voiture", 6000, 30, "Fixation grille d'aération, rotation 360°."),
    ],
    ("Audio", "audio", "#cf222e"): [
        (
            "Écouteurs Bluetooth Oraimo FreePods",
            18500,
            35,
            "Réduction de bruit, 30 heures d'autonomie avec le boîtier.",
        ),
        ("Enceinte portable JBL Go 3", 29000, 15, "Étanche IP67, son puissant, 5 heures d'écoute."),
        ("Casque filaire Sony MDR-ZX110", 11000, 20, "Léger, pliable, câble 1,2 m."),
        ("Barre de son 2.1", 65000, 3, "Caisson de basses, Bluetooth, HDMI ARC."),
    ],
    ("Énergie", "energie", "#bf8700"): [
        (
            "Batterie externe 20 000 mAh",
            17500,
            45,
            "Deux ports USB, charge rapide, indicateur LED.",
        ),
        (
            "Kit solaire 50 W",
            85000,
            7,
            "Panneau, batterie et trois ampoules LED : la lumière sans délestage.",
        ),
        ("Onduleur 650 VA", 48000, 9, "Protège votre ordinateur des coupures de courant."),
        ("Multiprise parafoudre 4 prises", 8500, 50, "Protection contre les surtensions."),
        (
            "Lampe rechargeable solaire",
            7000,
            0,
            "Trois niveaux d'éclairage, recharge solaire ou USB.",
        ),
    ],
    ("Réseau & stockage", "reseau-stockage", "#0550ae"): [
        ("Routeur 4G TP-Link", 45000, 11, "Wi-Fi pour 32 appareils, carte SIM."),
        ("Clé USB 64 Go", 5000, 100, "USB 3.0, lecture 100 Mo/s."),
        ("Carte microSD 128 Go", 9000, 70, "Classe 10, pour téléphone et caméra."),
        ("Disque dur externe 1 To", 42000, 12, "USB 3.0, compact, sauvegarde facile."),
        ("Répéteur Wi-Fi", 15000, 2, "Étendez votre Wi-Fi dans toute la maison."),
    ],
}


def picture(label: str, colour: str) -> bytes:
    """A flat 480 px illustration: coloured card, a device shape, initials."""
    size = 480
    img = Image.new("RGB", (size, size), "#eef1f5")
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((40, 40, size - 40, size - 40), radius=48, fill=colour)
    draw.rounded_rectangle((150, 90, 330, 390), radius=28, fill="#ffffff")
    draw.rounded_rectangle((165, 120, 315, 340), radius=10, fill="#d0d7de")
    initials = "".join(word[0] for word in label.split()[:3]).upper()
    draw.text((size // 2, 365), initials, fill=colour, anchor="mm", font_size=28)
    out = BytesIO()
    img.save(out, "WEBP", quality=70, method=6)
    return out.getvalue()


class Command(BaseCommand):
    help = "Load the demo catalogue (idempotent)."

    def handle(self, *args, **options):
        created = 0
        with transaction.atomic():
            for position, ((name, slug, colour), products) in enumerate(CATALOGUE.items()):
                category, _ = Category.objects.get_or_create(
                    slug=slug, defaults={"name": name, "position": position}
                )
                for product_name, price, stock, description in products:
                    product_slug = slugify(product_name)
                    if Product.objects.filter(slug=product_slug).exists():
                        continue
                    product = Product(
                        category=category,
                        name=product_name,
                        slug=product_slug,
                        price=price,
                        stock=stock,
                        description=description,
                    )
                    product.image.save(
                        f"{product_slug}.webp",
                        ContentFile(picture(product_name, colour)),
                        save=False,
                    )
                    product.save()
                    make_thumbnail(product)
                    created += 1
        # Products pictured before renditions existed get them now (once).
        for product in Product.objects.exclude(image="").filter(renditions=[]):
            make_thumbnail(product)
        self.stdout.write(
            f"Demo catalogue: {created} products created, {Product.objects.count()} in the shop."
        )


def slugify(text: str) -> str:
    from django.utils.text import slugify as django_slugify

    return django_slugify(text)[:200]

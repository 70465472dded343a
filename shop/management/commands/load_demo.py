"""Load the demo catalogue: a tech shop, 30 products in 6 categories, with
generated pictures. Running it again changes nothing that exists."""

from io import BytesIO

from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image, ImageDraw

from shop.images import make_thumbnail
from shop.models import (
    Category,
    DeliveryArea,
    DeliveryKind,
    DeliveryOption,
    PickupPoint,
    Product,
)

# Delivery areas as regional shops price them: by sector, commune or
# neighbourhood, a landmark rather than a postcode. (city, country,
# neighbourhoods, home option for the city, pickup point.) Fees in whole units
# of the shop currency; the neighbourhoods listed with a fee have their own.
DELIVERY = [
    (
        "Ouagadougou",
        "BF",
        [
            ("Secteur 1 (Centre)", 500),
            ("Secteur 15 (Ouaga 2000)", 1000),
            ("Secteur 30", 1500),
            ("Secteur 4 (Tiendpalogo)", None),
            ("Secteur 12 (Pissy)", None),
            ("Secteur 27 (Tanghin)", None),
        ],
        {"fee": 1000, "free_over": 150_000, "delay": (1, 2), "cod": True, "cod_max": 300_000},
        (
            "Boutique Ashtech Ouaga",
            "Avenue Kwame Nkrumah, Secteur 1",
            "En face de la pharmacie du Progrès",
            "Lun–Sam 8 h–19 h",
            "+22625300000",
        ),
    ),
    (
        "Bobo-Dioulasso",
        "BF",
        [("Secteur 1 (Centre)", None), ("Secteur 22", None), ("Secteur 25 (Sarfalao)", 2000)],
        {"fee": 1500, "free_over": 200_000, "delay": (2, 3), "cod": True, "cod_max": 150_000},
        (
            "Relais Ashtech Bobo",
            "Boulevard de la Révolution",
            "Près du Grand Marché",
            "Lun–Sam 8 h–18 h",
            "+22620970000",
        ),
    ),
    (
        "Dakar",
        "SN",
        [
            ("Plateau", None),
            ("Médina", None),
            ("Parcelles Assainies", 2500),
            ("Ouakam", None),
            ("Grand Yoff", None),
        ],
        {"fee": 2000, "free_over": 250_000, "delay": (1, 2), "cod": False, "cod_max": None},
        (
            "Point relais Plateau",
            "Rue Carnot, Plateau",
            "À côté de la station Total",
            "Lun–Sam 9 h–19 h",
            "+221338200000",
        ),
    ),
    (
        # Côte d'Ivoire: where Novasend (and Lygos) collect, so every
        # provider of the XOF shop has a country a shopper can be delivered in.
        "Abidjan",
        "CI",
        [("Plateau", None), ("Cocody", None), ("Yopougon", 2500), ("Marcory", None)],
        {"fee": 2000, "free_over": 250_000, "delay": (1, 2), "cod": True, "cod_max": 200_000},
        (
            "Relais Ashtech Plateau",
            "Boulevard de la République, Plateau",
            "Près de la cathédrale Saint-Paul",
            "Lun–Sam 9 h–19 h",
            "+2252720000000",
        ),
    ),
    (
        "Conakry",
        "GN",
        [("Kaloum", None), ("Dixinn", None), ("Matam", None), ("Ratoma", 2000), ("Matoto", 2000)],
        {"fee": 1500, "free_over": None, "delay": (1, 3), "cod": True, "cod_max": 5_000_000},
        (
            "Relais Kaloum",
            "Avenue de la République, Kaloum",
            "Face au marché Niger",
            "Lun–Sam 9 h–18 h",
            "+224622000000",
        ),
    ),
]

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
        areas = load_delivery()
        # Products pictured before renditions existed get them now (once).
        for product in Product.objects.exclude(image="").filter(renditions=[]):
            make_thumbnail(product)
        self.stdout.write(
            f"Demo catalogue: {created} products created, {Product.objects.count()} in the shop; "
            f"{areas} delivery areas."
        )


def slugify(text: str) -> str:
    from django.utils.text import slugify as django_slugify

    return django_slugify(text)[:200]


COUNTRIES = {"BF": "Burkina Faso", "SN": "Sénégal", "CI": "Côte d'Ivoire", "GN": "Guinée"}


def load_delivery() -> int:
    """The demo delivery areas, options and pickup points (idempotent: an
    area that exists is left as staff edited it)."""
    L = DeliveryArea.Level
    with transaction.atomic():
        for city_name, country, districts, home, point in DELIVERY:
            land, _ = DeliveryArea.objects.get_or_create(
                parent=None,
                name=COUNTRIES[country],
                defaults={"country": country, "level": L.COUNTRY},
            )
            city, new = DeliveryArea.objects.get_or_create(
                parent=land, name=city_name, defaults={"country": country, "level": L.CITY}
            )
            if not new:
                continue
            low, high = home["delay"]
            DeliveryOption.objects.create(
                area=city,
                kind=DeliveryKind.HOME,
                fee=home["fee"],
                free_over=home["free_over"],
                delay_min=low,
                delay_max=high,
                cod_allowed=home["cod"],
                cod_max=home["cod_max"],
            )
            DeliveryOption.objects.create(
                area=city,
                kind=DeliveryKind.PICKUP,
                fee=0,
                delay_min=low,
                delay_max=high,
                cod_allowed=home["cod"],
                cod_max=home["cod_max"],
            )
            first = None
            for position, (name, fee) in enumerate(districts):
                district = DeliveryArea.objects.create(
                    parent=city, name=name, country=country, level=L.DISTRICT, position=position
                )
                first = first or district
                if fee is not None:
                    DeliveryOption.objects.create(
                        area=district,
                        kind=DeliveryKind.HOME,
                        fee=fee,
                        free_over=home["free_over"],
                        delay_min=max(low - 1, 0),
                        delay_max=low,
                        cod_allowed=home["cod"],
                        cod_max=home["cod_max"],
                    )
            name, address, landmark, hours, phone = point
            PickupPoint.objects.create(
                area=first, name=name, address=address, landmark=landmark, hours=hours, phone=phone
            )
    return DeliveryArea.objects.count()

"""Catalogue and orders.

Money is a whole number in the shop currency (XOF, XAF and GNF have no minor
unit). Stock is a non-negative integer guarded by a database constraint; it
only moves through ``shop.services`` with conditional UPDATEs, so concurrent
checkouts and staff edits never oversell or lose an update.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# A grid card never needs more (a 246 px card on a big screen, 174 px at DPR 2).
CARD_MAX_WIDTH = 400


class Category(models.Model):
    name = models.CharField(_("nom"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("catégorie")
        verbose_name_plural = _("catégories")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:category", args=[self.slug])


class ProductQuerySet(models.QuerySet):
    def available(self):
        return self.filter(is_active=True)


class Product(models.Model):
    LOW_STOCK = 3

    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("catégorie")
    )
    name = models.CharField(_("nom"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    price = models.PositiveIntegerField(
        _("prix"), help_text=_("Montant entier dans la devise de la boutique.")
    )
    stock = models.PositiveIntegerField(_("stock"), default=0)
    is_active = models.BooleanField(_("en vente"), default=True)
    # units one order may hold; empty = the shop's SHOP_MAX_PER_LINE.
    max_per_order = models.PositiveSmallIntegerField(
        _("maximum par commande"),
        null=True,
        blank=True,
        help_text=_("Vide : la limite générale de la boutique."),
    )
    image = models.ImageField(_("image"), upload_to="products/", blank=True)
    thumbnail = models.ImageField(
        _("vignette"), upload_to="products/thumbs/", blank=True, editable=False
    )
    # Phone-sized WebP copies of ``image`` made on upload (shop.images):
    # [{"width": 320, "height": 240, "name": "products/renditions/…"}, …], smallest first.
    renditions = models.JSONField(_("déclinaisons"), default=list, blank=True, editable=False)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("produit")
        verbose_name_plural = _("produits")
        indexes = [
            models.Index(fields=["is_active", "-created_at"], name="product_active_new"),
            models.Index(fields=["is_active", "price"], name="product_active_price"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="product_stock_not_negative")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:product", args=[self.slug])

    @property
    def photo(self) -> dict | None:
        """The product photo for a page: the smallest rendition as ``src``,
        all of them as ``srcset``, and its intrinsic size (no layout shift).
        None when the product has no rendition (no photo, or not made yet)."""
        sizes = [r for r in self.renditions or [] if isinstance(r, dict) and r.get("name")]
        return self._picture(sizes, sizes[-1] if sizes else None, lone_srcset=True)

    @property
    def card_photo(self) -> dict | None:
        """The grid card's picture: the 200 px rendition as ``src``, the card
        renditions up to ``CARD_MAX_WIDTH`` in ``srcset`` (a 147 CSS px card on
        a DPR-2 phone picks the 300 px one); the thumbnail when the product
        has no rendition; None without a photo."""
        sizes = [
            r
            for r in self.renditions or []
            if isinstance(r, dict) and r.get("name") and r.get("width", 0) <= CARD_MAX_WIDTH
        ]
        return self._picture(sizes, sizes[0] if sizes else None, lone_srcset=False)

    def _picture(self, sizes: list[dict], shown: dict | None, lone_srcset: bool) -> dict | None:
        """``src`` the smallest of ``sizes``, all of them as ``srcset`` (a single one
        too when ``lone_srcset``), the intrinsic size of ``shown``. Without
        ``sizes`` (made before renditions existed): the grid thumbnail (240 px
        bounded) rather than the heavy original (load_demo backfills); None
        without a photo."""
        from django.core.files.storage import default_storage

        if not sizes:
            if not self.thumbnail:
                return None
            return {"src": self.thumbnail.url, "srcset": "", "width": 240, "height": 240}
        urls = [(default_storage.url(r["name"]), r["width"]) for r in sizes]
        srcset = ", ".join(f"{url} {width}w" for url, width in urls)
        return {
            "src": urls[0][0],
            "srcset": srcset if lone_srcset or len(urls) > 1 else "",
            "width": shown["width"],
            "height": shown["height"],
        }

    @property
    def per_order_limit(self) -> int:
        """Units of this product one order may hold."""
        return self.max_per_order or settings.SHOP_MAX_PER_LINE

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def low_stock(self) -> bool:
        return 0 < self.stock <= self.LOW_STOCK


def delay_label(low: int | None, high: int | None) -> str:
    """« 1–2 jours », « 1 jour », « le jour même »; "" when unknown."""
    from django.utils.translation import ngettext

    if low is None or high is None:
        return ""
    if high == 0:
        return str(_("le jour même"))
    if low == high:
        return ngettext("%(n)s jour", "%(n)s jours", high) % {"n": high}
    return str(_("%(low)s–%(high)s jours")) % {"low": low, "high": high}


class DeliveryKind(models.TextChoices):
    HOME = "home", _("Livraison à domicile")
    PICKUP = "pickup", _("Retrait en point relais")


class DeliveryArea(models.Model):
    """A place the shop delivers to: a country, a city, a neighbourhood or
    commune. Postcodes are rare in the region, so areas are a tree staff
    edit; any level may be left out (a city without a country row). The
    options of the most specific area win (``shop.delivery``)."""

    class Level(models.TextChoices):
        COUNTRY = "country", _("Pays")
        CITY = "city", _("Ville")
        DISTRICT = "district", _("Quartier / commune")

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("dans"),
    )
    country = models.CharField(_("pays (code)"), max_length=2, help_text=_("Par exemple BF."))
    level = models.CharField(_("niveau"), max_length=10, choices=Level.choices)
    name = models.CharField(_("nom"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["country", "position", "name"]
        verbose_name = _("zone de livraison")
        verbose_name_plural = _("zones de livraison")
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="delivery_area_unique_name_in_parent"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        self.country = (self.country or "").upper()
        if self.parent_id and self.parent.country != self.country:
            raise ValidationError(_("Une zone est dans le même pays que la zone qui la contient."))
        order = [self.Level.COUNTRY, self.Level.CITY, self.Level.DISTRICT]
        if self.parent_id and order.index(self.parent.level) >= order.index(self.level):
            raise ValidationError(
                _("Une zone « %(level)s » ne peut pas être dans une zone « %(parent)s ».")
                % {"level": self.get_level_display(), "parent": self.parent.get_level_display()}
            )


class DeliveryOption(models.Model):
    """How an area is served: home delivery or pickup, its fee (whole units
    of the shop currency), free over a goods amount, its delay, and whether
    pay on delivery is allowed (up to a total)."""

    area = models.ForeignKey(
        DeliveryArea, on_delete=models.CASCADE, related_name="options", verbose_name=_("zone")
    )
    kind = models.CharField(_("mode"), max_length=10, choices=DeliveryKind.choices)
    name = models.CharField(
        _("libellé"), max_length=80, blank=True, help_text=_("Vide : le nom du mode.")
    )
    fee = models.PositiveIntegerField(_("frais"), help_text=_("Montant entier, 0 : gratuit."))
    free_over = models.PositiveIntegerField(
        _("gratuite dès"),
        null=True,
        blank=True,
        help_text=_("Montant des articles à partir duquel la livraison est offerte."),
    )
    delay_min = models.PositiveSmallIntegerField(_("délai minimum (jours)"), default=1)
    delay_max = models.PositiveSmallIntegerField(_("délai maximum (jours)"), default=2)
    cod_allowed = models.BooleanField(_("paiement à la livraison"), default=False)
    cod_max = models.PositiveIntegerField(
        _("paiement à la livraison jusqu'à"),
        null=True,
        blank=True,
        help_text=_("Total maximum d'une commande payée à la livraison ; vide : sans plafond."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "fee", "id"]
        verbose_name = _("option de livraison")
        verbose_name_plural = _("options de livraison")
        constraints = [
            models.CheckConstraint(
                condition=Q(delay_min__lte=F("delay_max")), name="delivery_delay_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} — {self.area}"

    @property
    def label(self) -> str:
        return self.name or str(self.get_kind_display())


class PickupPoint(models.Model):
    """A place a shopper collects her parcel; listed by the pickup options
    of the area it is in (or of any area containing it)."""

    area = models.ForeignKey(
        DeliveryArea,
        on_delete=models.CASCADE,
        related_name="pickup_points",
        verbose_name=_("zone"),
    )
    name = models.CharField(_("nom"), max_length=100)
    address = models.CharField(_("adresse"), max_length=200)
    landmark = models.CharField(_("repère"), max_length=200, blank=True)
    hours = models.CharField(_("horaires"), max_length=120, blank=True)
    phone = models.CharField(_("téléphone"), max_length=20, blank=True)
    is_active = models.BooleanField(_("actif"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("point de retrait")
        verbose_name_plural = _("points de retrait")

    def __str__(self) -> str:
        return self.name

    @property
    def details(self) -> str:
        """The copy kept on an order: name, address, landmark, hours, phone."""
        parts = [self.name, self.address, self.landmark, self.hours, self.phone]
        return "\n".join(p for p in parts if p)


def new_order_token() -> str:
    """256 random bits, URL-safe: the only key to a guest's order page."""
    return secrets.token_urlsafe(32)


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("En attente de paiement")
        # Pay on delivery: placed, stock held, waiting for staff to call the shopper.
        TO_CONFIRM = "to_confirm", _("À confirmer")
        # Pay on delivery, confirmed by staff: to ship, money collected at the door.
        CONFIRMED = "confirmed", _("Confirmée, paiement à la livraison")
        PAID = "paid", _("Payée")
        SHIPPED = "shipped", _("Expédiée")
        DELIVERED = "delivered", _("Livrée")
        CANCELLED = "cancelled", _("Annulée")
        EXPIRED = "expired", _("Expirée")

    token = models.CharField(
        _("jeton"), max_length=64, unique=True, default=new_order_token, editable=False
    )
    # One checkout form = one order, however often it is submitted.
    checkout_key = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    status = models.CharField(
        _("statut"),
        max_length=20,
        choices=Status.choices,
        default=Status.PENDING_PAYMENT,
        db_index=True,
    )
    full_name = models.CharField(_("nom complet"), max_length=120)
    email = models.EmailField(_("e-mail"), max_length=254)
    phone = models.CharField(_("téléphone"), max_length=20, help_text=_("Format E.164"))
    country = models.CharField(_("pays"), max_length=2)
    address = models.TextField(_("adresse de livraison"), max_length=500, blank=True)
    note = models.TextField(_("note"), max_length=1000, blank=True)
    language = models.CharField(max_length=8, default="fr")
    currency = models.CharField(_("devise"), max_length=3)
    # total = goods_total + delivery_fee, what every payment attempt asks for.
    total = models.PositiveBigIntegerField(_("total"))
    goods_total = models.PositiveBigIntegerField(_("articles"), default=0)
    # Delivery as chosen at checkout, copied so a later rate change never alters the order.
    delivery_fee = models.PositiveIntegerField(_("frais de livraison"), default=0)
    delivery_kind = models.CharField(
        _("mode de livraison"), max_length=10, choices=DeliveryKind.choices, blank=True
    )
    delivery_label = models.CharField(_("livraison"), max_length=120, blank=True)
    delivery_option = models.ForeignKey(
        "DeliveryOption",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("option de livraison"),
    )
    delivery_area = models.ForeignKey(
        "DeliveryArea",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("zone de livraison"),
    )
    delivery_area_label = models.CharField(_("zone"), max_length=200, blank=True)
    delivery_delay_min = models.PositiveSmallIntegerField(
        _("délai min. (jours)"), null=True, blank=True
    )
    delivery_delay_max = models.PositiveSmallIntegerField(
        _("délai max. (jours)"), null=True, blank=True
    )
    landmark = models.CharField(_("repère"), max_length=200, blank=True)
    pickup_point = models.ForeignKey(
        "PickupPoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("point de retrait"),
    )
    pickup_details = models.TextField(_("point de retrait (copie)"), blank=True)
    pay_on_delivery = models.BooleanField(_("paiement à la livraison"), default=False)
    # A pay-on-delivery order handed to the courier (or ready at the point) before payment.
    shipped_at = models.DateTimeField(_("expédiée le"), null=True, blank=True)
    # True while the order's lines hold stock (set by place_order, cleared by release_stock).
    stock_reserved = models.BooleanField(_("stock réservé"), default=True)
    # the hard end of the stock hold, set once by place_order
    # (ORDER_RESERVATION_TTL); a new payment attempt never extends it.
    reserved_until = models.DateTimeField(
        _("réservé jusqu'au"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(_("payée le"), null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A send of the confirmation holds this claim until then (shop.emails):
    # taken in a short transaction, the e-mail leaves with no lock held.
    confirmation_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("commande")
        verbose_name_plural = _("commandes")

    def __str__(self) -> str:
        return _("Commande %(number)s") % {"number": self.number}

    def get_absolute_url(self) -> str:
        return reverse("shop:order", args=[self.token])

    @property
    def number(self) -> str:
        """A short public label; never used to look an order up."""
        return f"AS-{self.pk:06d}" if self.pk else "AS-?"

    @property
    def site_url(self) -> str:
        return settings.SITE_URL + self.get_absolute_url()

    @property
    def is_payable(self) -> bool:
        """A shopper may start a payment: unpaid and not cancelled (a
        cancelled order — by staff or by a full refund — is never paid again;
        an expired one is, if its stock can be held again)."""
        return self.status in {
            self.Status.PENDING_PAYMENT,
            self.Status.EXPIRED,
            self.Status.TO_CONFIRM,
            self.Status.CONFIRMED,
        }

    @property
    def amount_to_collect(self) -> int:
        """What the courier collects at the door: the total of an unpaid
        pay-on-delivery order, else nothing."""
        return self.total if self.pay_on_delivery and not self.paid_at else 0

    @property
    def delay_label(self) -> str:
        return delay_label(self.delivery_delay_min, self.delivery_delay_max)


class OrderEvent(models.Model):
    """One status move of an order, written by ``shop.workflow.set_status``
    and nothing else: from, to, which actor (payment, expiry, review,
    refund, staff, shopper), who among staff, when, why. A note on an order
    without a move (stock given back) has ``from_status == to_status``."""

    class Actor(models.TextChoices):
        PAYMENT = "payment", _("Paiement")
        EXPIRY = "expiry", _("Expiration")
        REVIEW = "review", _("Examen")
        REFUND = "refund", _("Remboursement")
        STAFF = "staff", _("Équipe")
        SHOPPER = "shopper", _("Client")
        DELIVERY = "delivery", _("Livraison")

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("commande")
    )
    from_status = models.CharField(_("de"), max_length=20, choices=Order.Status.choices)
    to_status = models.CharField(_("vers"), max_length=20, choices=Order.Status.choices)
    actor = models.CharField(_("acteur"), max_length=10, choices=Actor.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("par"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("le"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("mouvement de commande")
        verbose_name_plural = _("mouvements de commande")

    def __str__(self) -> str:
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    product_name = models.CharField(_("produit"), max_length=200)
    unit_price = models.PositiveIntegerField(_("prix unitaire"))
    quantity = models.PositiveIntegerField(_("quantité"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("ligne")
        verbose_name_plural = _("lignes")

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_name}"

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity


class Page(models.Model):
    """A short shop page staff edit in the admin: delivery, contact, returns.

    Plain text (paragraphs and bare links become HTML), French with an
    optional English version; no CMS."""

    slug = models.SlugField(_("adresse"), max_length=60, unique=True)
    title = models.CharField(_("titre"), max_length=120)
    body = models.TextField(
        _("texte"),
        help_text=_(
            "Texte simple : une ligne vide sépare deux paragraphes ; les liens sont reconnus."
        ),
    )
    title_en = models.CharField(_("titre (anglais)"), max_length=120, blank=True)
    body_en = models.TextField(
        _("texte (anglais)"), blank=True, help_text=_("Vide : le texte français est affiché.")
    )
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("page")
        verbose_name_plural = _("pages")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("shop:page", args=[self.slug])

    def in_language(self, language: str | None) -> tuple[str, str]:
        """(title, body) in ``language``, French when no translation is written."""
        if (language or "").startswith("en") and self.body_en.strip():
            return self.title_en or self.title, self.body_en
        return self.title, self.body


class CashCollection(models.Model):
    """Money taken at the door or at a pickup point for a pay-on-delivery
    order (cash or mobile money straight to the courier). Recorded by
    ``shop.delivery_steps.record_collection`` under the order lock, which
    marks the order paid through the workflow; no provider is involved, so
    it is not a ``Payment``."""

    class Method(models.TextChoices):
        CASH = "cash", _("Espèces")
        MOBILE_MONEY = "mobile_money", _("Mobile money")

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="collections", verbose_name=_("commande")
    )
    amount = models.PositiveBigIntegerField(_("montant"))
    currency = models.CharField(_("devise"), max_length=3)
    method = models.CharField(_("moyen"), max_length=12, choices=Method.choices)
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("encaissé par"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    collected_at = models.DateTimeField(_("encaissé le"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-collected_at"]
        verbose_name = _("encaissement à la livraison")
        verbose_name_plural = _("encaissements à la livraison")
        constraints = [
            # One collection pays an order; a second is refused, never added.
            models.UniqueConstraint(fields=["order"], name="one_collection_per_order")
        ]

    def __str__(self) -> str:
        return f"{self.order.number} — {self.amount} {self.currency}"

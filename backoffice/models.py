"""Staff records: refunds and their journal, reconciliation mismatches and
review resolutions (order moves are ``shop.OrderEvent``).

None of them changes a payment: ``payments.services`` stays the only code
that moves a payment. A refund is its own record with its own forward-only
states (``requested → pending → succeeded | failed``), locked like a payment
(the order row first, then the refund row) and journalled like one.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from payments.models import CheckedRecord, Payment
from shop.models import Order


class Refund(CheckedRecord):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Demandé")
        PENDING = "pending", _("En cours")
        SUCCEEDED = "succeeded", _("Remboursé")
        FAILED = "failed", _("Échoué")

    class Channel(models.TextChoices):
        PROVIDER = "provider", _("Par le prestataire")
        OUTSIDE = "outside", _("Hors boutique")

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("commande")
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("paiement")
    )
    # Ours: the idempotency key sent to the provider, reused on every retry.
    reference = models.UUIDField(_("référence"), default=uuid.uuid4, unique=True, editable=False)
    # One refund form = one refund, however often it is submitted.
    request_key = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    channel = models.CharField(_("voie"), max_length=10, choices=Channel.choices)
    provider = models.CharField(_("prestataire"), max_length=20, db_index=True)
    amount = models.PositiveBigIntegerField(_("montant"))
    currency = models.CharField(_("devise"), max_length=3)
    reason = models.CharField(_("motif"), max_length=300)
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.REQUESTED, db_index=True
    )
    provider_reference = models.CharField(_("référence prestataire"), max_length=512, blank=True)
    payee = models.CharField(_("bénéficiaire"), max_length=20, blank=True)
    # Outside the shop: how and where staff paid it back.
    method = models.CharField(_("moyen"), max_length=60, blank=True)
    external_reference = models.CharField(_("référence externe"), max_length=120, blank=True)
    note = models.TextField(_("note"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("demandé par"),
    )
    # Set under lock by the one call that sends the request to the provider.
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("remboursement")
        verbose_name_plural = _("remboursements")
        permissions = [("make_refund", _("Peut rembourser une commande"))]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.amount} {self.currency} ({self.get_status_display()})"

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class RefundEvent(models.Model):
    """Append-only journal of a refund: requests and answers (secrets removed) and decisions."""

    class Kind(models.TextChoices):
        REQUEST = "request", _("Requête au prestataire")
        DECISION = "decision", _("Décision")
        ERROR = "error", _("Erreur")

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    message = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("événement de remboursement")
        verbose_name_plural = _("événements de remboursement")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.message}"


class ReconciliationMismatch(models.Model):
    """A difference between our books and a provider's, found by ``reconcile``.

    One row per (payment, kind): running the reconciliation again finds the
    same row and changes nothing."""

    class Kind(models.TextChoices):
        PAID_THERE = "paid_there", _("Payé chez le prestataire, pas chez nous")
        PAID_HERE = "paid_here", _("Payé chez nous, pas chez le prestataire")
        AMOUNT = "amount", _("Montants différents")
        UNKNOWN_THERE = "unknown_there", _("Inconnu du prestataire")

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="mismatches", verbose_name=_("paiement")
    )
    provider = models.CharField(_("prestataire"), max_length=20, db_index=True)
    kind = models.CharField(_("écart"), max_length=20, choices=Kind.choices)
    ours = models.CharField(_("chez nous"), max_length=60)
    theirs = models.CharField(_("chez le prestataire"), max_length=60)
    evidence = models.JSONField(default=dict, blank=True)
    found_at = models.DateTimeField(_("trouvé le"), auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(_("résolu le"), null=True, blank=True)

    class Meta:
        ordering = ["found_at", "id"]
        verbose_name = _("écart de rapprochement")
        verbose_name_plural = _("écarts de rapprochement")
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "kind"], name="one_mismatch_per_payment_and_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.payment_id}: {self.get_kind_display()}"


class Resolution(models.Model):
    """How staff resolved one item of the review queue (who, when, what, why)."""

    class Action(models.TextChoices):
        REFUND = "refund", _("Rembourser")
        FULFIL = "fulfil", _("Honorer la commande")
        CLOSE = "close", _("Clore avec une note")

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="resolutions"
    )
    refund = models.ForeignKey(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="resolutions"
    )
    mismatch = models.ForeignKey(
        ReconciliationMismatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resolutions",
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    note = models.TextField(_("note"))
    # One queue form = one resolution, however often it is submitted.
    request_key = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    # Honouring a short payment: the rest, collected by staff another way.
    collected_amount = models.PositiveBigIntegerField(
        _("complément encaissé"), null=True, blank=True
    )
    collected_how = models.CharField(_("encaissé comment"), max_length=120, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("par"),
    )
    created_at = models.DateTimeField(_("le"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("résolution")
        verbose_name_plural = _("résolutions")

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d})"

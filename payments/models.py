"""Payments: one ``Payment`` per attempt at paying one order, and an
append-only ``PaymentEvent`` log of everything that happened to it.

Only ``payments.services`` changes a payment's status; see its docstring for
the lock order and the state machine.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shop.models import Order


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("En attente")
    SUCCEEDED = "succeeded", _("Réussi")
    FAILED = "failed", _("Échoué")
    EXPIRED = "expired", _("Expiré")
    CANCELLED = "cancelled", _("Annulé")


FINAL_STATUSES = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.EXPIRED, PaymentStatus.CANCELLED}
)


class ReviewCode(models.TextChoices):
    """Why a payment or a refund waits for staff: a code decisions can read,
    with the human text beside it (``review_reason`` keeps the details).
    No decision ever reads the free text."""

    # payments
    AMOUNT_MISMATCH = "amount_mismatch", _("Succès avec un montant ou une devise différents")
    SECOND_SUCCESS = "second_success", _("Deuxième paiement réussi : commande déjà payée")
    LATE_SUCCESS = "late_success", _("Paiement reçu après la fin de la tentative")
    STOCK_SHORT = "stock_short", _("Payée alors que le stock manque")
    ORDER_CLOSED = "order_closed", _("Payée alors que la commande est annulée")
    UNKNOWN_AT_DEADLINE = "unknown_at_deadline", _("Statut inconnu à l'échéance")
    WATCH_UNKNOWN = "watch_unknown", _("Statut inconnu à la fin de la surveillance")
    # refunds
    REFUND_FAILED = "refund_failed", _("Remboursement refusé par le prestataire")
    REFUND_NO_ANSWER = "refund_no_answer", _("Remboursement envoyé sans réponse lisible")
    REFUND_AMOUNT = "refund_amount", _("Montant remboursé différent du montant demandé")
    REFUND_NOT_RECOGNISED = "refund_unrecognised", _("Réponse qui n'est pas un remboursement")
    REFUND_STUCK = "refund_stuck", _("Remboursement toujours pas final")


class CheckedRecord(models.Model):
    """What a payment and a refund share: a provider is asked about them until
    they are final (the schedule in ``next_check_at``), and staff look at the
    odd ones (``needs_review``)."""

    next_check_at = models.DateTimeField(
        _("prochaine vérification"), null=True, blank=True, db_index=True
    )
    check_count = models.PositiveIntegerField(_("vérifications"), default=0)
    needs_review = models.BooleanField(_("à examiner"), default=False, db_index=True)
    review_code = models.CharField(
        _("motif d'examen"), max_length=24, choices=ReviewCode.choices, blank=True
    )
    review_reason = models.TextField(_("détail de l'examen"), blank=True)
    last_error = models.TextField(_("dernière erreur"), blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finalised_at = models.DateTimeField(_("terminé le"), null=True, blank=True)

    class Meta:
        abstract = True

    def mark_for_review(self, code: str | None, details: str) -> None:
        """Flag for staff with ``code`` (the caller saves). The details are
        for people: a line is added when the code changes, and no code reads
        them (a repeat of the same code keeps the first details)."""
        new_code = (code or "") != self.review_code or not self.review_reason
        self.needs_review = True
        self.review_code = code or ""
        if new_code:
            self.review_reason = f"{self.review_reason}\n{details}".strip()


class Payment(CheckedRecord):
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="payments", verbose_name=_("commande")
    )
    # Our merchant reference: sent to the provider as its order id /
    # idempotency key, and the key of the return URL.
    reference = models.UUIDField(_("référence"), default=uuid.uuid4, unique=True, editable=False)
    provider = models.CharField(_("prestataire"), max_length=20, db_index=True)
    method = models.CharField(_("moyen"), max_length=40, blank=True)
    payer_phone = models.CharField(_("téléphone payeur"), max_length=20, blank=True)
    # The wallet the shopper chose (routes are per wallet: payments/routing.py).
    wallet = models.CharField(_("portefeuille"), max_length=40, blank=True)
    amount = models.PositiveBigIntegerField(_("montant"))
    currency = models.CharField(_("devise"), max_length=3)
    status = models.CharField(
        _("statut"),
        max_length=12,
        choices=PaymentStatus.choices,
        default=PaymentStatus.PENDING,
        db_index=True,
    )
    provider_reference = models.CharField(
        _("référence prestataire"), max_length=512, blank=True, db_index=True
    )
    redirect_url = models.URLField(_("page de paiement"), max_length=2000, blank=True)
    instructions = models.JSONField(_("instructions"), default=dict, blank=True)
    # True when initiation ended without a clear answer (timeout): a retry
    # asks the provider about this reference before creating anything.
    initiation_unknown = models.BooleanField(default=False)
    # Set when the provider's answer to the initiation is stored; while it is
    # empty (and the attempt young) the initiation is in flight: nobody may
    # supersede it.
    initiated_at = models.DateTimeField(_("démarré le"), null=True, blank=True)
    # An attempt that ended on our side (superseded, cancelled, expired) is
    # still checked, slowly, until the provider can no longer take money on it.
    watch_until = models.DateTimeField(_("surveillé jusqu'au"), null=True, blank=True)
    # Unsigned callbacks trigger at most one status call per interval.
    last_callback_check_at = models.DateTimeField(
        _("dernière vérification sur notification"), null=True, blank=True
    )
    # The first return of the shopper re-checks even an ended attempt.
    returned_at = models.DateTimeField(_("retour du client"), null=True, blank=True)
    deadline = models.DateTimeField(_("échéance"))
    # What the provider reported on a success, stored as reported, matched
    # or not (getpaid's ``amount_paid``): the one fact "money received" and
    # "how much may be refunded" are read from.
    received_amount = models.PositiveBigIntegerField(_("montant reçu"), null=True, blank=True)
    received_currency = models.CharField(_("devise reçue"), max_length=3, blank=True)
    received_at = models.DateTimeField(_("reçu le"), null=True, blank=True)
    # The wallet that paid, as the provider reported it (refunds go back there).
    payer_account = models.CharField(_("compte payeur signalé"), max_length=32, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("paiement")
        verbose_name_plural = _("paiements")
        constraints = [
            # One live attempt per order at a time (duplicate submits, two tabs).
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status="pending"),
                name="one_pending_payment_per_order",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [models.Index(fields=["status", "next_check_at"], name="payment_due")]

    def __str__(self) -> str:
        return f"{self.provider} {self.reference}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def money_received(self) -> bool:
        """The provider reported a success for this attempt (whatever our status)."""
        return self.received_at is not None

    @property
    def refund_payee(self) -> str:
        """Where a refund goes: the wallet the provider reported, else the
        number the attempt was made with; never an editable order field."""
        return self.payer_account or self.payer_phone


class PaymentEvent(models.Model):
    """Append-only journal: outbound requests and answers (secrets removed),
    callbacks exactly as received, and every status decision."""

    class Kind(models.TextChoices):
        REQUEST = "request", _("Requête au prestataire")
        CALLBACK = "callback", _("Notification reçue")
        DECISION = "decision", _("Décision")
        ERROR = "error", _("Erreur")

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="events", null=True, blank=True
    )
    provider = models.CharField(max_length=20, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    message = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Callback intake: the raw request.
    body = models.BinaryField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    remote_ip = models.GenericIPAddressField(null=True, blank=True)
    valid = models.BooleanField(
        null=True, help_text=_("Résultat de la vérification locale de la notification.")
    )
    # (provider, event id) of a callback: a replay hits this constraint.
    dedup_key = models.CharField(max_length=300, unique=True, null=True, blank=True)
    # Replays of a deduplicated callback are counted here, not stored again.
    deliveries = models.PositiveIntegerField(default=1)
    # The stored callback is the queue: a valid callback waits here (NULL)
    # until the drain (``services.drain_callbacks``) has acted on it.
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # Small: only the callbacks not acted on yet.
            models.Index(
                fields=["id"],
                name="callback_queue",
                condition=Q(kind="callback", valid=True, processed_at__isnull=True),
            ),
        ]
        verbose_name = _("événement de paiement")
        verbose_name_plural = _("événements de paiement")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.message}"


# --- route health (payments/routing.py decides, payments/services/health.py stores) ---
class RouteHealth(models.Model):
    """The health of one route: (provider, method, wallet, country, currency).

    Written only by ``payments.services.health`` (a conditional UPDATE on
    ``version``, so two evaluations never both record a change); read by the
    pay page through one cached snapshot."""

    class State(models.TextChoices):
        OK = "ok", _("Opérationnel")
        DEGRADED = "degraded", _("Ralenti")
        DOWN = "down", _("Hors service")
        PROBING = "probing", _("En test")

    key = models.CharField(_("route"), max_length=120, unique=True)
    provider = models.CharField(_("prestataire"), max_length=20)
    method = models.CharField(_("moyen"), max_length=40)
    wallet = models.CharField(_("portefeuille"), max_length=40, blank=True)
    country = models.CharField(_("pays"), max_length=2)
    currency = models.CharField(_("devise"), max_length=3)
    state = models.CharField(_("état"), max_length=10, choices=State.choices, default=State.OK)
    since = models.DateTimeField(_("depuis"), null=True, blank=True)
    backoff_step = models.PositiveSmallIntegerField(default=0)
    window_start = models.DateTimeField(null=True, blank=True)
    paused = models.BooleanField(_("en pause"), default=False)
    # Staff pin: a wallet's routes are tried in this order (lower first)
    # among routes in the same state.
    priority = models.PositiveSmallIntegerField(_("rang"), default=100)
    # What the last evaluation saw (shown to staff; "least bad" reads the rate).
    rate = models.FloatField(_("taux de succès technique"), null=True, blank=True)
    considered = models.PositiveSmallIntegerField(default=0)
    consecutive = models.PositiveSmallIntegerField(default=0)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["currency", "country", "wallet", "priority", "provider", "method"]
        verbose_name = _("santé d'une route de paiement")
        verbose_name_plural = _("santé des routes de paiement")

    def __str__(self) -> str:
        return self.key


class RouteOutcome(models.Model):
    """What one attempt said about its route (``payments.routing.classify``),
    recorded at its initiation error and again when it is final."""

    payment = models.OneToOneField(Payment, on_delete=models.CASCADE, related_name="route_outcome")
    route = models.CharField(max_length=120)
    kind = models.CharField(max_length=10)
    initiation_error = models.BooleanField(default=False)
    at = models.DateTimeField()
    initiation_ms = models.PositiveIntegerField(null=True, blank=True)
    final_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["route", "-at"], name="route_outcome_recent")]


class RouteChange(models.Model):
    """Every change of a route's state or pause, with who, when and why."""

    route = models.ForeignKey(RouteHealth, on_delete=models.CASCADE, related_name="changes")
    old_state = models.CharField(max_length=10, blank=True)
    new_state = models.CharField(max_length=10)
    reason = models.CharField(max_length=300)
    by = models.CharField(_("par"), max_length=150, default="automatique")
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

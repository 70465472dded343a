"""Staff view of payments: every attempt with its journal, anomalies first."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import Payment, PaymentEvent, RouteHealth

# Decisions written for a callback that came while a check was fresh
# (payments.services.callbacks._check_soon): one per callback, like the callback.
CALLBACK_DECISION = "callback: checked moments ago"


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "message", "valid", "remote_ip", "data"]
    readonly_fields = fields
    ordering = ["created_at", "id"]

    def get_queryset(self, request):
        """The journal without its callbacks and the "checked moments ago"
        decisions they cause: a flood of them would bury the real events.
        They are summed up on the payment (``callbacks``) and kept, each one,
        in the events list it links to."""
        return (
            super()
            .get_queryset(request)
            .exclude(kind=PaymentEvent.Kind.CALLBACK)
            .exclude(kind=PaymentEvent.Kind.DECISION, message__startswith=CALLBACK_DECISION)
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "order_link",
        "provider",
        "method",
        "amount",
        "currency",
        "status",
        "needs_review",
        "created_at",
    ]
    list_filter = ["provider", "status", "needs_review", "created_at"]
    list_select_related = ["order"]
    search_fields = [
        "=reference",
        "provider_reference",
        "order__email",
        "order__phone",
        "=order__token",
    ]
    date_hierarchy = "created_at"
    actions = ["recheck_now"]
    inlines = [PaymentEventInline]
    readonly_fields = [
        "order_link",
        "reference",
        "provider",
        "method",
        "payer_phone",
        "amount",
        "currency",
        "status",
        "provider_reference",
        "redirect_url",
        "instructions",
        "initiation_unknown",
        "next_check_at",
        "check_count",
        "deadline",
        "last_error",
        "created_at",
        "finalised_at",
        # Money facts and review state: what the provider reported and why
        # staff must look. Read-only: the review queue resolves, nobody types.
        "received_amount",
        "received_currency",
        "received_at",
        "payer_account",
        "needs_review",
        "review_code",
        "review_reason",
    ]
    fields = readonly_fields

    def get_fields(self, request, obj=None):
        return [*super().get_fields(request, obj), "callbacks"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "callbacks"]

    @admin.display(description=_("notifications reçues"))
    def callbacks(self, obj):
        """Callbacks collapsed: how many, the last one, and a link to each."""
        rows = obj.events.filter(kind=PaymentEvent.Kind.CALLBACK) if obj.pk else None
        last = rows.order_by("-created_at", "-id").first() if rows is not None else None
        if last is None:
            return _("aucune")
        count = rows.count()
        url = reverse("admin:payments_paymentevent_changelist")
        return format_html(
            '{} — {} {} ({}) — <a href="{}?q={}&amp;kind__exact=callback">{}</a>',
            ngettext("%(n)s notification", "%(n)s notifications", count) % {"n": count},
            _("dernière le"),
            f"{timezone.localtime(last.created_at):%d/%m/%Y %H:%M:%S}",
            last.message or (_("valide") if last.valid else _("refusée")),
            url,
            obj.reference,
            _("les voir une par une"),
        )

    @admin.display(description=_("commande"), ordering="order")
    def order_link(self, obj):
        url = reverse("admin:shop_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    @admin.action(description=_("Revérifier le statut maintenant"))
    def recheck_now(self, request, queryset):
        for payment in queryset:
            payment = services.check_payment(payment.pk, source="staff")
            self.message_user(
                request, f"{payment.reference}: {payment.get_status_display()}", messages.INFO
            )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PaymentEvent)
class PaymentEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "provider", "kind", "message", "valid", "payment"]
    list_filter = ["provider", "kind", "valid"]
    search_fields = ["message", "=payment__reference"]
    readonly_fields = [
        "payment",
        "provider",
        "kind",
        "message",
        "data",
        "headers",
        "remote_ip",
        "valid",
        "dedup_key",
        "created_at",
        "body_text",
    ]
    exclude = ["body"]

    @admin.display(description=_("corps reçu"))
    def body_text(self, obj):
        return bytes(obj.body or b"").decode("utf-8", "replace")[:5000]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RouteHealth)
class RouteHealthAdmin(admin.ModelAdmin):
    """Staff pin a wallet's route order here ("rang", lower first); states,
    pauses and their history are on "Santé des paiements" (every change
    recorded there, never typed here)."""

    list_display = ["key", "state", "paused", "priority", "rate", "since"]
    list_editable = ["priority"]
    list_filter = ["currency", "country", "wallet", "provider", "state"]
    fields = ["key", "state", "paused", "priority", "rate", "since"]
    readonly_fields = ["key", "state", "paused", "rate", "since"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.health.forget_snapshot()

"""Staff view of payments: every attempt with its journal, anomalies first."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Payment, PaymentEvent


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "message", "valid", "remote_ip", "data"]
    readonly_fields = fields
    ordering = ["created_at", "id"]

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
    ]
    fields = readonly_fields + ["needs_review", "review_reason"]

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

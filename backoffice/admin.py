"""Staff screens of refunds, order moves and reconciliation mismatches (read-only journals)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from shop.models import OrderEvent

from .models import ReconciliationMismatch, Refund, RefundEvent, Resolution


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RefundEventInline(ReadOnly, admin.TabularInline):
    model = RefundEvent
    extra = 0
    fields = ["created_at", "kind", "message", "by", "data"]
    readonly_fields = fields


class OrderEventInline(ReadOnly, admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = ["created_at", "from_status", "to_status", "actor", "by", "note"]
    readonly_fields = fields
    verbose_name_plural = _("historique")


@admin.register(Refund)
class RefundAdmin(ReadOnly, admin.ModelAdmin):
    list_display = [
        "created_at",
        "order",
        "provider",
        "channel",
        "amount",
        "currency",
        "status",
        "needs_review",
        "requested_by",
    ]
    list_filter = ["status", "provider", "channel", "needs_review"]
    search_fields = ["=reference", "provider_reference", "external_reference"]
    inlines = [RefundEventInline]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("backoffice.view_refund")


@admin.register(ReconciliationMismatch)
class ReconciliationMismatchAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["found_at", "provider", "payment", "kind", "ours", "theirs", "resolved_at"]
    list_filter = ["provider", "kind"]


@admin.register(Resolution)
class ResolutionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["created_at", "action", "by", "payment", "refund", "mismatch", "note"]

"""Staff screens. Stock typed by staff is applied as a delta with a
conditional UPDATE, so an edit never overwrites a checkout that reserved
stock in between (no lost update, never below zero)."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import services, workflow
from .images import CappedImageField, images_after_upload
from .models import (
    CashCollection,
    Category,
    DeliveryArea,
    DeliveryOption,
    Order,
    OrderLine,
    PickupPoint,
    Product,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}


class AvailabilityFilter(admin.SimpleListFilter):
    title = _("disponibilité")
    parameter_name = "availability"

    def lookups(self, request, model_admin):
        return [("out", _("Rupture")), ("low", _("Stock faible (≤ 3)")), ("in", _("En stock"))]

    def queryset(self, request, queryset):
        if self.value() == "out":
            return queryset.filter(stock=0)
        if self.value() == "low":
            return queryset.filter(stock__gt=0, stock__lte=Product.LOW_STOCK)
        if self.value() == "in":
            return queryset.filter(stock__gt=0)
        return queryset


class SeenStock(int):
    """The stock number staff typed, remembering the number their page showed."""

    seen: int | None = None


class StockWidget(forms.MultiWidget):
    """The stock box plus a hidden copy of the stock the page was rendered with."""

    use_fieldset = False  # one visible box: a plain <label for="…_0">

    def __init__(self, attrs=None):
        super().__init__([forms.NumberInput(attrs={"min": 0}), forms.HiddenInput()], attrs)

    def id_for_label(self, id_):
        return f"{id_}_0" if id_ else id_

    def decompress(self, value):
        return [value, value]


class StockField(forms.MultiValueField):
    """Staff stock input whose cleaned value carries what the page showed, so
    the change is applied as "typed − seen", not "typed − stock at save time"
    (a checkout may have reserved stock while the page was open)."""

    widget = StockWidget

    def __init__(self, **kwargs):
        fields = (forms.IntegerField(min_value=0), forms.IntegerField(min_value=0, required=False))
        super().__init__(fields, require_all_fields=False, **kwargs)

    def compress(self, data_list):
        if not data_list or data_list[0] is None:
            return None
        typed = SeenStock(data_list[0])
        typed.seen = data_list[1]  # None when the page sent no copy: save_model falls back
        return typed


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "price", "stock", "is_active", "created_at"]
    list_editable = ["price", "stock", "is_active"]
    list_filter = ["category", AvailabilityFilter, "is_active"]
    list_select_related = ["category"]
    search_fields = ["name", "description", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    list_per_page = 50

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "stock":
            return StockField(label=db_field.verbose_name.capitalize(), initial=db_field.default)
        if db_field.name == "image":
            kwargs["form_class"] = CappedImageField
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
        else:
            # Never a full save(): it would write back the stock read when the
            # form was posted, undoing a reservation made since.
            fields = [f for f in form.changed_data if f != "stock"]
            if fields:
                obj.save(update_fields=fields)
            if "stock" in form.changed_data:
                self._apply_stock_change(request, obj, form)
        if "image" in form.changed_data:
            images_after_upload(request, obj)

    def _apply_stock_change(self, request, obj, form):
        typed = form.cleaned_data["stock"]
        seen = getattr(typed, "seen", None)
        if seen is None:
            seen = form.initial.get("stock") or 0
        try:
            obj.stock = services.adjust_stock(obj.pk, int(typed) - seen)
        except services.StockChangeRefused:
            obj.stock = Product.objects.values_list("stock", flat=True).get(pk=obj.pk)
            messages.error(
                request,
                _("Stock de « %(name)s » non modifié : des commandes l'ont réservé entre-temps.")
                % {"name": obj.name},
            )


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = ["product", "product_name", "unit_price", "quantity"]

    def has_add_permission(self, request, obj=None):
        return False


def _move_action(to: str, description):
    """An admin action that moves each selected order through ``shop.workflow``."""

    def action(modeladmin, request, queryset):
        for order in queryset:
            try:
                workflow.move(order, to, by=request.user, note=request.POST.get("note", ""))
                modeladmin.message_user(
                    request, f"{order.number}: {Order.Status(to).label}", messages.SUCCESS
                )
            except workflow.MoveRefused as exc:
                modeladmin.message_user(request, f"{order.number}: {exc.message}", messages.ERROR)

    action.__name__ = f"move_to_{to}"
    return admin.action(description=description, permissions=["change"])(action)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "created_at",
        "full_name",
        "phone",
        "total",
        "currency",
        "status",
        "delivery_kind",
        "pay_on_delivery",
        "paid_at",
    ]
    list_filter = [
        "status",
        "pay_on_delivery",
        "delivery_kind",
        ("delivery_area", admin.RelatedOnlyFieldListFilter),
        ("delivery_option", admin.RelatedOnlyFieldListFilter),
        "created_at",
        "country",
    ]
    date_hierarchy = "created_at"
    search_fields = ["=token", "email", "phone", "full_name"]
    # The status moves only through the actions below (shop.workflow), never by typing.
    readonly_fields = [
        "status",
        "token",
        "total",
        "currency",
        "stock_reserved",
        "paid_at",
        "confirmation_sent_at",
        "created_at",
        "payments_link",
        "refund_link",
        "packing_slip_link",
        "goods_total",
        "delivery_fee",
        "delivery_label",
        "delivery_area_label",
        "delivery_delay_min",
        "delivery_delay_max",
        "landmark",
        "pickup_details",
        "pay_on_delivery",
        "shipped_at",
    ]
    exclude = ["delivery_option", "delivery_area", "pickup_point", "delivery_kind"]
    actions = [
        _move_action(Order.Status.SHIPPED, _("Marquer expédiée")),
        _move_action(Order.Status.DELIVERED, _("Marquer livrée")),
        _move_action(Order.Status.CANCELLED, _("Annuler (commande non payée)")),
        "restock_returned",
    ]

    def get_inlines(self, request, obj):
        from backoffice.admin import OrderEventInline

        return [OrderLineInline, OrderEventInline]

    @admin.display(description=_("remboursement"))
    def refund_link(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html

        return format_html(
            '<a href="{}">{}</a>',
            reverse("backoffice:refund", args=[obj.pk]),
            _("Rembourser cette commande"),
        )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("backoffice.make_refund"):
            fields.remove("refund_link")
        return fields

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("backoffice.make_refund"):
            actions.pop("restock_returned", None)
        return actions

    @admin.action(description=_("Marchandise revenue : rendre le stock (commande remboursée)"))
    def restock_returned(self, request, queryset):
        from backoffice import refunds

        for order in queryset:
            try:
                refunds.restock_returned(order.pk, by=request.user)
                self.message_user(request, f"{order.number}: ok", messages.SUCCESS)
            except refunds.RefundRefused as exc:
                self.message_user(request, f"{order.number}: {exc.message}", messages.ERROR)

    @admin.display(description=_("bordereau"))
    def packing_slip_link(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html

        return format_html(
            '<a href="{}">{}</a>',
            reverse("backoffice:packing_slip", args=[obj.pk]),
            _("Bordereau de livraison (imprimable)"),
        )

    @admin.display(description=_("paiements"))
    def payments_link(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html

        url = reverse("admin:payments_payment_changelist") + f"?order__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Voir les paiements de cette commande"))

    def get_search_results(self, request, queryset, search_term):
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        if search_term.upper().startswith("AS-") and search_term[3:].isdigit():
            queryset |= self.model.objects.filter(Q(pk=int(search_term[3:])))
        return queryset, distinct


# --- delivery (issue 16) -------------------------------------------------------------
class DeliveryOptionInline(admin.TabularInline):
    model = DeliveryOption
    extra = 0
    fields = [
        "kind",
        "name",
        "fee",
        "free_over",
        "delay_min",
        "delay_max",
        "cod_allowed",
        "cod_max",
        "is_active",
    ]


class PickupPointInline(admin.StackedInline):
    model = PickupPoint
    extra = 0


@admin.register(DeliveryArea)
class DeliveryAreaAdmin(admin.ModelAdmin):
    """Areas and, inline, their options and pickup points. A change applies
    to the next checkout; placed orders keep what they were charged."""

    list_display = ["name", "level", "parent", "country", "position", "is_active"]
    list_filter = ["country", "level", "is_active"]
    list_editable = ["position", "is_active"]
    search_fields = ["name"]
    autocomplete_fields = ["parent"]
    inlines = [DeliveryOptionInline, PickupPointInline]


@admin.register(DeliveryOption)
class DeliveryOptionAdmin(admin.ModelAdmin):
    list_display = [
        "area",
        "kind",
        "label",
        "fee",
        "free_over",
        "delay_min",
        "delay_max",
        "cod_allowed",
        "cod_max",
        "is_active",
    ]
    list_filter = ["kind", "cod_allowed", "area__country", "is_active"]
    list_editable = ["fee", "free_over", "delay_min", "delay_max", "cod_allowed", "cod_max"]
    autocomplete_fields = ["area"]


@admin.register(PickupPoint)
class PickupPointAdmin(admin.ModelAdmin):
    list_display = ["name", "area", "address", "hours", "phone", "is_active"]
    list_filter = ["area__country", "is_active"]
    search_fields = ["name", "address"]
    autocomplete_fields = ["area"]


@admin.register(CashCollection)
class CashCollectionAdmin(admin.ModelAdmin):
    """Read only: a collection is recorded from the delivery queue, under
    the order lock, and marks the order paid there."""

    list_display = ["order", "amount", "currency", "method", "collected_by", "collected_at"]
    list_filter = ["method", "collected_at"]
    search_fields = ["order__id", "order__phone"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""Staff edit the shop's pages (delivery, contact, returns) in the admin.

Registered from ``ShopConfig.ready`` so it stays apart from the order and
catalogue admin (shop/admin.py)."""

from django.contrib import admin

from .models import Page


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "updated_at")
    search_fields = ("title", "body")
    fields = ("slug", "title", "body", "title_en", "body_en")

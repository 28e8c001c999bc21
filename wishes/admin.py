"""Wishes in the admin: read only. Every step of a wish goes through the services (its
history is append-only), so neither the wishes nor their steps are changed or deleted here."""

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from grids.admin import PlaceColumnMixin
from wishes.models import Wish, WishEvent, WishPhoto


class WishEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WishEvent
    fields = ("kind", "old_state", "new_state", "actor", "person", "at", "note")
    readonly_fields = fields
    extra = 0


class WishPhotoInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WishPhoto
    fields = ("role", "kind", "uploaded_at")
    readonly_fields = fields
    extra = 0


@admin.register(Wish)
class WishAdmin(PlaceColumnMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("title", "place", "state", "outcome", "claimer", "fulfiller", "created_at")
    list_filter = ("state", "outcome")
    search_fields = ("title", "for_name")
    list_select_related = ("area", "claimer", "fulfiller")
    date_hierarchy = "created_at"
    inlines = [WishEventInline, WishPhotoInline]
    exclude = ("for_phone",)


@admin.register(WishEvent)
class WishEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("wish", "kind", "old_state", "new_state", "actor", "person", "at")
    list_filter = ("kind",)
    list_select_related = ("wish", "actor", "person")

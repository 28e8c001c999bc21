"""The points rules, editable by superusers; the ledger, balances and good deeds read-only
(they change only through the services); reward items read here, kept on the portal's
pages by the community (stock is taken by redemptions, never typed over one)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin
from grids.admin import PlaceColumnMixin
from points.models import (
    GoodDeed,
    PointBalance,
    PointEntry,
    PointRule,
    RedemptionRequest,
    RewardItem,
)


@admin.register(PointRule)
class PointRuleAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "points", "active")
    list_editable = ("points", "active")
    readonly_fields = ("code",)
    fields = ("code", "name", "points", "active", "description")

    @admin.display(description=_("name"))
    def label(self, rule):
        return rule.label

    def has_add_permission(self, request):
        # The portal's services award by code: a new code would never be awarded.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(PointEntry)
class PointEntryAdmin(ReadOnlyAdminMixin, PlaceColumnMixin, admin.ModelAdmin):
    list_display = ("at", "person", "kind", "rule", "amount", "reason", "place", "actor")
    list_filter = ("kind", "rule")
    list_select_related = ("person", "rule", "actor", "area")
    search_fields = ("person__name", "act_key", "reason")
    date_hierarchy = "at"
    raw_id_fields = ("person", "reverses", "item", "area", "actor")


@admin.register(PointBalance)
class PointBalanceAdmin(ReadOnlyAdminMixin, PlaceColumnMixin, admin.ModelAdmin):
    list_display = ("person", "balance", "earned", "place", "updated_at")
    list_select_related = ("person", "area")
    search_fields = ("person__name", "person__phone")
    ordering = ("-earned",)


@admin.register(GoodDeed)
class GoodDeedAdmin(ReadOnlyAdminMixin, PlaceColumnMixin, admin.ModelAdmin):
    list_display = ("done_on", "person", "what", "hours", "place", "registered_by")
    list_select_related = ("person", "area", "registered_by")
    search_fields = ("person__name", "what")


@admin.register(RewardItem)
class RewardItemAdmin(ReadOnlyAdminMixin, PlaceColumnMixin, admin.ModelAdmin):
    place_of = "community"
    list_display = ("name", "place", "cost", "stock", "active")
    list_filter = ("active",)
    list_select_related = ("community",)
    search_fields = ("name", "community__name")


@admin.register(RedemptionRequest)
class RedemptionRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("requested_at", "person", "item", "state", "decided_by", "decided_at")
    list_filter = ("state",)
    list_select_related = ("person", "item", "decided_by")
    search_fields = ("person__name", "item__name")

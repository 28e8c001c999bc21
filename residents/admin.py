"""Residents in the admin: listed and searched with masked personal data; the access log is
read-only. Full values are revealed in the portal only, where each reveal is logged."""

import re

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin
from residents.models import (
    AccessLog,
    CareTag,
    Household,
    PartyMember,
    Resident,
    Visit,
    VolunteerTeam,
)

_MASKED_ID = re.compile(r"^(\d{4})\*+(\d{3}[\dX])$", re.IGNORECASE)


@admin.register(CareTag)
class CareTagAdmin(admin.ModelAdmin):
    list_display = ("name", "code")


class MaskedColumns:
    """The personal columns as every admin list shows them: masked."""

    @admin.display(description=_("ID number"))
    def masked_id(self, obj):
        return obj.masked_id_number

    @admin.display(description=_("mobile"))
    def masked_mobile(self, obj):
        return obj.masked_phone


class ResidentInline(MaskedColumns, admin.TabularInline):
    model = Resident
    extra = 0
    fields = ("name", "gender", "birth_date", "masked_id", "masked_mobile", "is_householder")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ("__str__", "area", "address", "in_online_group")
    list_filter = ("in_online_group",)
    search_fields = ("door", "address", "area__code", "area__name")
    autocomplete_fields = ("area",)
    list_select_related = ("area",)
    list_per_page = 100
    show_full_result_count = False
    inlines = [ResidentInline]


@admin.register(Resident)
class ResidentAdmin(MaskedColumns, admin.ModelAdmin):
    list_display = ("name", "masked_id", "masked_mobile", "gender", "birth_date", "household")
    list_filter = ("gender", "care_tags", "is_householder")
    search_fields = ("name",)
    search_help_text = _("Name, a full ID number, or a masked one as shown (3624**********1234).")
    list_select_related = ("household__area",)
    autocomplete_fields = ("household",)
    raw_id_fields = ("person",)
    filter_horizontal = ("care_tags",)
    list_per_page = 100
    show_full_result_count = False
    fields = (
        "name",
        "household",
        "masked_id",
        "gender",
        "birth_date",
        "masked_mobile",
        "is_householder",
        "care_tags",
        "person",
    )
    readonly_fields = ("masked_id", "gender", "birth_date", "masked_mobile")

    def has_add_permission(self, request):
        return False  # residents come in through the portal's forms and imports (validated)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().upper()
        masked = _MASKED_ID.match(term)
        if masked:
            return queryset.filter(
                id_number__startswith=masked[1], id_number__endswith=masked[2]
            ), False
        if len(term) == 18:
            return queryset.filter(id_number=term), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(PartyMember)
class PartyMemberAdmin(admin.ModelAdmin):
    list_display = ("person", "party_org", "in_service", "work_unit", "registered_area")
    list_filter = ("in_service",)
    search_fields = ("person__name", "work_unit")
    autocomplete_fields = ("person", "party_org", "registered_area")
    list_select_related = ("person", "party_org", "registered_area")


@admin.register(VolunteerTeam)
class VolunteerTeamAdmin(admin.ModelAdmin):
    list_display = ("name", "area")
    search_fields = ("name",)
    autocomplete_fields = ("area", "members")
    list_select_related = ("area",)


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ("household", "visitor", "visited_at", "channel", "needs_follow_up")
    list_filter = ("channel", "needs_follow_up")
    date_hierarchy = "visited_at"
    autocomplete_fields = ("household", "visitor")
    list_select_related = ("household__area", "visitor")
    list_per_page = 100
    show_full_result_count = False


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "viewer", "resident", "field", "ip")
    list_filter = ("field",)
    date_hierarchy = "at"
    list_select_related = ("viewer", "resident")
    search_fields = ("viewer__username", "resident__name")
    readonly_fields = ("at", "viewer", "resident", "field", "ip", "user_agent")

"""Residents in the admin: listed and searched with masked personal data; the access log is
read-only. Full values are revealed in the portal only, where each reveal is logged. A full
ID number is searched only through the POST form of ``find/`` (rate limited and logged like
the portal's), never through the change list's ``?q=``, which would put it in URLs."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from core.admin import ReadOnlyAdminMixin, ServiceAdminMixin, scrubbed
from core.privacy import masked_id_parts, scrub_personal_numbers
from core.ratelimit import RateLimited
from core.requests import client_facts
from grids.access import scope_for
from grids.admin import PlaceColumnMixin
from residents import services
from residents.models import (
    AccessLog,
    CareTag,
    Household,
    PartyMember,
    Resident,
    Visit,
    VolunteerTeam,
)
from residents.permissions import may_see_birth_date, may_see_care_tags


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


def _sees_every_birth_date(request) -> bool:
    """Lists mix residents of many areas: their birth dates only for whom may reveal
    anywhere (``permissions.may_see_birth_date``)."""
    return scope_for(request.user).is_admin


def _without_birth_date(fields):
    return tuple(f for f in fields if f != "birth_date")


class ResidentInline(MaskedColumns, admin.TabularInline):
    model = Resident
    extra = 0
    fields = ("name", "gender", "birth_date", "masked_id", "masked_mobile", "is_householder")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if _sees_every_birth_date(request) else _without_birth_date(fields)

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)


@admin.register(Household)
class HouseholdAdmin(PlaceColumnMixin, ServiceAdminMixin, admin.ModelAdmin):
    """Written through ``household_create``/``household_update``; where a household is and
    its door number are fixed once registered, and households are not deleted here."""

    list_display = ("door", "place", "address", "in_online_group")
    list_filter = ("in_online_group",)
    # A place's name at any level: the household's own, its building's (above a unit),
    # its grid's and community's (ancestor keys).
    search_fields = (
        "door",
        "address",
        "area__code",
        "area__name",
        "area__parent__name",
        "grid__name",
        "community__name",
    )
    autocomplete_fields = ("area",)
    list_select_related = ("area",)
    list_per_page = 100
    show_full_result_count = False
    inlines = [ResidentInline]

    def get_readonly_fields(self, request, obj=None):
        return ("area", "door") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.household_update(
                household=Household.objects.get(pk=obj.pk),
                address=data["address"],
                in_online_group=data["in_online_group"],
            )
            return
        household = services.household_create(
            area=data["area"],
            door=data["door"],
            address=data["address"],
            in_online_group=data["in_online_group"],
        )
        obj.pk = household.pk

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Resident)
class ResidentAdmin(PlaceColumnMixin, ServiceAdminMixin, MaskedColumns, admin.ModelAdmin):
    """Corrected through ``resident_update`` (name, householder, care tags); the household
    and the linked person are shown, not edited, and residents are not deleted here."""

    list_display = ("name", "masked_id", "masked_mobile", "gender", "birth_date", "place", "door")
    place_of = "household__area"
    list_filter = ("gender", "care_tags", "is_householder")
    search_fields = ("name",)
    search_help_text = _(
        "Name, or an ID number masked as shown (3****************4). A full ID number: "
        "“Find by full ID number” above."
    )
    change_list_template = "admin/residents/resident/change_list.html"
    list_select_related = ("household__area",)
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
    readonly_fields = (
        "household",
        "masked_id",
        "gender",
        "birth_date",
        "masked_mobile",
        "person",
    )

    def has_add_permission(self, request):
        return False  # residents come in through the portal's forms and imports (validated)

    @admin.display(description=_("door number"))
    def door(self, resident):
        return resident.household.door

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        services.resident_update(
            resident=Resident.objects.get(pk=obj.pk),
            name=data["name"],
            is_householder=data["is_householder"],
            # Left out of the form for staff who may not see them: kept as they are.
            care_tags=list(data["care_tags"]) if "care_tags" in data else None,
        )

    def _sees_care_tags(self, request, obj) -> bool:
        if obj is None:
            return _sees_every_birth_date(request)
        return may_see_care_tags(scope_for(request.user).role_for(obj.household.area))

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if _sees_every_birth_date(request):
            return filters
        return tuple(f for f in filters if f != "care_tags")

    def _sees_birth_date(self, request, obj) -> bool:
        if obj is None:
            return _sees_every_birth_date(request)
        return may_see_birth_date(scope_for(request.user).role_for(obj.household.area))

    def get_list_display(self, request):
        fields = super().get_list_display(request)
        return fields if _sees_every_birth_date(request) else _without_birth_date(fields)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if not self._sees_care_tags(request, obj):
            fields = tuple(f for f in fields if f != "care_tags")
        return fields if self._sees_birth_date(request, obj) else _without_birth_date(fields)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if self._sees_birth_date(request, obj) else _without_birth_date(fields)

    def get_search_results(self, request, queryset, search_term):
        masked = masked_id_parts(search_term)
        if masked:
            return queryset.filter(
                id_number__startswith=masked[0], id_number__endswith=masked[1]
            ), False
        if scrub_personal_numbers(search_term) != search_term:
            # A full ID number (or a phone) in ?q= is in the address bar, the history and
            # the server's log already: refuse it, so a URL never finds anyone by one.
            messages.error(
                request,
                gettext(
                    "Full ID numbers are not searched from the address bar. "
                    "Use “Find by full ID number”."
                ),
            )
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    def get_urls(self):
        return [
            path(
                "find/",
                self.admin_site.admin_view(self.find_view),
                name="residents_resident_find",
            ),
            *super().get_urls(),
        ]

    @method_decorator(sensitive_post_parameters("id_number"))
    @method_decorator(require_http_methods(["GET", "POST"]))
    def find_view(self, request):
        """A full ID number, typed into a POST form; the resident's change page, found in
        the user's scope. Counted and logged by ``services.resident_find_by_id_number``."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Find by full ID number"),
        }
        status = 200
        if request.method == "POST":
            try:
                resident = services.resident_find_by_id_number(
                    user=request.user,
                    id_number=request.POST.get("id_number", ""),
                    **client_facts(request),
                )
            except RateLimited as exc:
                context["error"] = services.find_limit_message()
                response = TemplateResponse(
                    request, "admin/residents/resident/find.html", context, status=429
                )
                response["Retry-After"] = str(exc.retry_after)
                return response
            except ValidationError as exc:
                context["error"] = " ".join(exc.messages)
                status = 400
            else:
                if resident is not None:
                    return redirect(reverse("admin:residents_resident_change", args=[resident.pk]))
                context["error"] = gettext("No resident with that ID number in your area.")
                status = 404
        return TemplateResponse(
            request, "admin/residents/resident/find.html", context, status=status
        )


@admin.register(PartyMember)
class PartyMemberAdmin(admin.ModelAdmin):
    list_display = ("person", "party_org", "in_service", "work_unit", "registered_area")
    list_filter = ("in_service",)
    search_fields = ("person__name", "work_unit")
    autocomplete_fields = ("person", "party_org", "registered_area")
    list_select_related = ("person", "party_org", "registered_area")


@admin.register(VolunteerTeam)
class VolunteerTeamAdmin(PlaceColumnMixin, admin.ModelAdmin):
    list_display = ("name", "place")
    search_fields = ("name",)
    autocomplete_fields = ("area", "members")
    list_select_related = ("area",)


@admin.register(Visit)
class VisitAdmin(PlaceColumnMixin, ServiceAdminMixin, admin.ModelAdmin):
    """A visit is logged through ``visit_log`` (no visit in the future) and is history from
    then on: shown, never edited or deleted."""

    list_display = ("place", "door", "visitor", "visited_at", "channel", "needs_follow_up")
    place_of = "household__area"
    fields = (
        "household",
        "visitor",
        "visited_at",
        "channel",
        "scrubbed_findings",
        "needs_follow_up",
    )
    readonly_fields = ("scrubbed_findings",)
    scrubbed_findings = scrubbed("findings", _("what was found"))
    list_filter = ("channel", "needs_follow_up")
    date_hierarchy = "visited_at"
    autocomplete_fields = ("household", "visitor")
    list_select_related = ("household__area", "visitor")
    list_per_page = 100
    show_full_result_count = False

    @admin.display(description=_("door number"))
    def door(self, visit):
        return visit.household.door

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        visit = services.visit_log(
            household=data["household"],
            visitor=data["visitor"],
            channel=data["channel"],
            needs_follow_up=data["needs_follow_up"],
            visited_at=data["visited_at"],
        )
        obj.pk = visit.pk


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "viewer", "resident", "field", "rows", "scope", "ip")
    list_filter = ("field",)
    date_hierarchy = "at"
    list_select_related = ("viewer", "resident")
    search_fields = ("viewer__username", "resident__name")
    readonly_fields = ("at", "viewer", "resident", "field", "scope", "rows", "ip", "user_agent")

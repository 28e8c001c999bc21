"""Pages for households, residents and visits. Every read goes through the scoping selectors;
every write through the services."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.importing import UPLOAD_EXPIRED, import_confirm, import_preview
from core.privacy import masked_id_parts
from core.ratelimit import (
    RateLimited,
    reveal_limit_message,
    reveal_limit_take,
    too_many_requests,
)
from core.requests import client_facts
from core.spreadsheets import spreadsheet_format, spreadsheet_response
from grids.access import scope_for
from grids.rules import AreaKind
from grids.selectors import (
    area_labels,
    area_subtree_q,
    filter_area_for_user,
    get_area_for_user,
    set_places,
)
from residents import services
from residents.forms import (
    CoverageForm,
    HouseholdEditForm,
    HouseholdFilterForm,
    ResidentEditForm,
    ResidentFilterForm,
    VisitForm,
)
from residents.imports import resident_export_headers, resident_export_rows, residents_import
from residents.models import Visit
from residents.permissions import (
    DETAIL,
    EDIT,
    EXPORT,
    IMPORT,
    LIST,
    REVEAL,
    VISIT,
    may_see_birth_date,
    may_see_care_tags,
    role_may,
    roles_allowed,
    user_may,
)
from residents.selectors import (
    care_tags_q,
    care_tags_shown,
    get_household_for_user,
    get_resident_for_user,
    grid_coverage,
    households_not_visited,
    households_visible_to,
    residents_visible_to,
)

PAGE_SIZE = 50


def _require_any(user, action: str) -> None:
    """Lists, exports and imports need the action through at least one of the user's roles."""
    if not user_may(user, action):
        raise PermissionDenied


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _filter_area(user, queryset, form, prefix: str):
    code = form.cleaned_data["area"].strip()
    if not code:
        return queryset
    area = filter_area_for_user(user, code, form)
    if area is None:
        return queryset.none()
    form.area_label = area_labels([area], user=user)[area.pk]  # the picker shows its path
    return queryset.filter(area_subtree_q(area, prefix))


def _residents_filtered(request):
    form = ResidentFilterForm(request.GET or None)
    if not user_may(request.user, REVEAL):
        del form.fields["tag"]  # care tags are sensitive: no filtering by them either
    residents = residents_visible_to(request.user)
    if form.is_valid():
        data = form.cleaned_data
        if q := data["q"].strip():
            masked = masked_id_parts(q)
            if masked:  # as shown on the pages: 3****************4
                residents = residents.filter(
                    id_number__startswith=masked[0], id_number__endswith=masked[1]
                )
            else:
                residents = residents.filter(name__contains=q)
        residents = _filter_area(request.user, residents, form, "household__area__")
        if data.get("tag"):
            # Only where the tags are shown: a filter would tell them where they are not.
            residents = residents.filter(care_tags_q(request.user), care_tags=data["tag"])
    return form, residents


@login_required
@require_safe
def resident_list(request):
    _require_any(request.user, LIST)
    form, residents = _residents_filtered(request)
    page = _page(
        request,
        residents.select_related("household__area").order_by(
            "household__area__tree_id", "household__area__lft", "household__door", "pk"
        ),
    )
    set_places((resident.household for resident in page.object_list), user=request.user)
    care_tags_shown(request.user, page.object_list)
    return render(
        request,
        "residents/resident_list.html",
        {
            "form": form,
            "page": page,
            # The buttons show only to those the pages let in (the same check as theirs).
            "may_export": user_may(request.user, EXPORT),
            "may_import": user_may(request.user, IMPORT),
            "may_see_care_tags": user_may(request.user, REVEAL),
        },
    )


@sensitive_post_parameters("id_number")
@login_required
@require_POST
def resident_find(request):
    """Find a resident by a full ID number. A POST, so the number never lands in a URL,
    a server log or the browser's history; rate limited and logged by the service."""
    _require_any(request.user, LIST)
    try:
        resident = services.resident_find_by_id_number(
            user=request.user,
            id_number=request.POST.get("id_number", ""),
            **client_facts(request),
        )
    except RateLimited as exc:
        return too_many_requests(
            request, message=services.find_limit_message(), retry_after=exc.retry_after
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("residents:resident_list")
    if resident is None:
        messages.error(request, _("No resident with that ID number in your area."))
        return redirect("residents:resident_list")
    return redirect("residents:resident_detail", pk=resident.pk)


@login_required
@require_safe
def resident_detail(request, pk):
    resident = get_resident_for_user(request.user, pk, DETAIL)
    set_places([resident.household], user=request.user)
    role = scope_for(request.user).role_for(resident.household.area)
    return render(
        request,
        "residents/resident_detail.html",
        {
            "resident": resident,
            "tags": resident.care_tags.all() if may_see_care_tags(role) else None,
            "may_edit": role_may(role, EDIT),
            "may_reveal": role_may(role, REVEAL),
            "may_see_birth_date": may_see_birth_date(role),
        },
    )


@sensitive_post_parameters("phone")
@login_required
@require_http_methods(["GET", "POST"])
def resident_edit(request, pk):
    resident = get_resident_for_user(request.user, pk, EDIT)
    initial = {
        "name": resident.name,
        "is_householder": resident.is_householder,
        "care_tags": resident.care_tags.all(),
    }
    form = ResidentEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.resident_update(
                resident=resident,
                name=data["name"],
                phone=data["phone"] or None,
                is_householder=data["is_householder"],
                care_tags=list(data["care_tags"]),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Saved."))
            return redirect("residents:resident_detail", pk=resident.pk)
    return render(request, "residents/resident_edit.html", {"resident": resident, "form": form})


@login_required
@require_POST
def resident_reveal(request, pk, field):
    resident = get_resident_for_user(request.user, pk, REVEAL)
    try:
        reveal_limit_take(request)  # one count for every kind of reveal (core.ratelimit)
    except RateLimited as exc:
        return too_many_requests(
            request, message=reveal_limit_message(), retry_after=exc.retry_after
        )
    try:
        value = services.personal_field_reveal(
            user=request.user,
            resident=resident,
            field=field,
            **client_facts(request),
        )
    except ValidationError:
        raise PermissionDenied from None
    response = render(request, "residents/_revealed.html", {"value": value, "resident": resident})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_safe
def resident_export(request):
    _require_any(request.user, EXPORT)
    form, residents = _residents_filtered(request)
    scope = scope_for(request.user)
    residents = residents.filter(scope.area_q("household__area__", roles=roles_allowed(EXPORT)))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = spreadsheet_response(
        f"residents-{stamp}",
        spreadsheet_format(request.GET.get("format")),
        resident_export_headers(),
        resident_export_rows(
            residents,
            birth_dates=scope.area_q("household__area__", roles=roles_allowed(REVEAL)),
            care_tags=care_tags_q(request.user),
            user=request.user,
        ),
    )
    data = form.cleaned_data if form.is_valid() else {}
    services.resident_export_record(
        viewer=request.user,
        scope=services.resident_export_scope(
            request.user,
            area_code=data.get("area", "").strip(),
            tag=data.get("tag"),
            searched=bool(data.get("q", "").strip()),
        ),
        rows=response.rows_written,
        **client_facts(request),
    )
    return response


@login_required
@require_http_methods(["GET", "POST"])
def resident_import(request):
    """Upload, dry-run preview, confirm: ``core.importing``'s one flow, the admin's too."""
    _require_any(request.user, IMPORT)
    run = partial(residents_import, user=request.user)
    context = {}
    if request.method == "POST" and request.POST.get("token"):
        step = import_confirm(request.POST["token"], filename=request.POST.get("filename"), run=run)
        if step.expired:
            messages.error(request, UPLOAD_EXPIRED)
            return redirect("residents:resident_import")
        if step.ok:
            messages.success(request, step.imported_message())
            return redirect("residents:resident_list")
        context.update(step.context())
    elif request.method == "POST" and request.FILES.get("file"):
        context.update(import_preview(request.FILES["file"], run=run).context())
    return render(request, "residents/resident_import.html", context)


@login_required
@require_safe
def household_list(request):
    _require_any(request.user, LIST)
    form = HouseholdFilterForm(request.GET or None)
    households = households_visible_to(request.user)
    if form.is_valid():
        data = form.cleaned_data
        if q := data["q"].strip():
            households = households.filter(door__contains=q) | households.filter(
                address__contains=q
            )
        households = _filter_area(request.user, households, form, "area__")
        if data["in_online_group"] is not None:
            households = households.filter(in_online_group=data["in_online_group"])
    page = _page(
        request,
        households.select_related("area").order_by("area__tree_id", "area__lft", "door"),
    )
    set_places(page.object_list, user=request.user)
    return render(request, "residents/household_list.html", {"form": form, "page": page})


@login_required
@require_safe
def household_detail(request, pk):
    household = get_household_for_user(request.user, pk, DETAIL)
    set_places([household], user=request.user)
    role = scope_for(request.user).role_for(household.area)
    return render(
        request,
        "residents/household_detail.html",
        {
            "household": household,
            "residents": care_tags_shown(
                request.user,
                household.residents.select_related("household__area").order_by(
                    "-is_householder", "birth_date"
                ),
            ),
            "may_see_care_tags": may_see_care_tags(role),
            "visits": household.visits.select_related("visitor").order_by("-visited_at")[:20],
            "may_edit": role_may(role, EDIT),
            "may_visit": role_may(role, VISIT),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def household_edit(request, pk):
    household = get_household_for_user(request.user, pk, EDIT)
    set_places([household], user=request.user)
    form = HouseholdEditForm(
        request.POST or None,
        initial={"address": household.address, "in_online_group": household.in_online_group},
    )
    if request.method == "POST" and form.is_valid():
        services.household_update(household=household, **form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect("residents:household_detail", pk=household.pk)
    return render(request, "residents/household_edit.html", {"household": household, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def visit_create(request, pk):
    household = get_household_for_user(request.user, pk, VISIT)
    set_places([household], user=request.user)
    person = getattr(request.user, "person", None)
    if person is None:
        raise PermissionDenied
    form = VisitForm(request.POST or None, initial={"channel": Visit.Channel.DOOR_KNOCK})
    if request.method == "POST" and form.is_valid():
        visit = services.visit_log(household=household, visitor=person, **form.cleaned_data)
        messages.success(request, _("Visit recorded."))
        if visit.needs_follow_up:
            # What needs following up is usually a problem to report: go straight there.
            return redirect(f"{reverse('issues:report')}?visit={visit.pk}")
        return redirect("residents:household_detail", pk=household.pk)
    return render(request, "residents/visit_form.html", {"household": household, "form": form})


@login_required
@require_safe
def coverage(request):
    _require_any(request.user, LIST)
    form = CoverageForm(request.GET or None)
    days = _coverage_days(form)
    grids = grid_coverage(request.user, days=days)
    page = _page(request, grids)
    labels = area_labels(page.object_list, user=request.user)
    for grid in page.object_list:
        grid.place = labels.get(grid.pk, grid.name)
        grid.unvisited_count = grid.household_count - grid.visited_count
    return render(request, "residents/coverage.html", {"form": form, "page": page, "days": days})


# The windows the list of households not visited switches between (the coverage page's own
# window, when another, is kept as a third).
UNVISITED_WINDOWS = (30, 90)


def _coverage_days(form) -> int:
    return (form.cleaned_data.get("days") if form.is_valid() else None) or 30


@login_required
@require_safe
def households_unvisited(request, code):
    """The households of one grid nobody visited in the last 30 (or 90, or the coverage
    page's) days, with their place, householder, last visit and, where the viewer may, a
    link to log a visit. A grid outside the viewer's scope is a 404, as every page here."""
    _require_any(request.user, LIST)
    grid = get_area_for_user(request.user, code)
    if grid.kind != AreaKind.GRID:
        raise Http404
    scope = scope_for(request.user)
    if not role_may(scope.role_for(grid), LIST):
        raise PermissionDenied
    form = CoverageForm(request.GET or None)
    days = _coverage_days(form)
    page = _page(request, households_not_visited(request.user, grid=grid, days=days))
    households = set_places(page.object_list, user=request.user)
    may_log = getattr(request.user, "person", None) is not None
    for household in households:
        household.may_visit = may_log and role_may(scope.role_for(household.area), VISIT)
    (grid.place,) = area_labels([grid], user=request.user).values()
    return render(
        request,
        "residents/unvisited.html",
        {
            "grid": grid,
            "page": page,
            "days": days,
            "windows": sorted({*UNVISITED_WINDOWS, days}),
        },
    )

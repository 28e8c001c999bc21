"""Problem pages: the inbox, the ticket page with the actions this user may take now, the
report form and the assignment meetings. Reads go through the scoping selectors, every change
through the services."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.images import image_response
from core.keyset import keyset_page, page_size
from core.privacy import mask_name, mask_phone, scrub_personal_numbers
from core.ratelimit import RateLimited, reveal_limit_message, reveal_limit_take, too_many_requests
from core.requests import client_facts
from core.spreadsheets import spreadsheet_response
from grids.access import Role, scope_for
from grids.models import Area, Department
from grids.selectors import (
    area_labels,
    code_lookable,
    filter_area_for_user,
    keyed_subtree_q,
    set_places,
)
from issues import forms, services
from issues import permissions as perm
from issues.models import (
    DepartmentTask,
    Level,
    Meeting,
    ReturnVisit,
    Ticket,
    TicketEvent,
    Tier,
)
from issues.notes import department_of
from issues.rules import AWAITING_RATING_STATES, IN_HAND_STATES, OPEN_STATES
from issues.selectors import (
    get_photo_for_user,
    get_ticket_for_user,
    inbox_search,
    tickets_visible_to,
)
from issues.services import rated_this_round
from residents.models import Visit
from residents.selectors import get_household_for_user, residents_visible_to

S = Ticket.State
REPORTED = DepartmentTask.Status.REPORTED
PAGE_SIZE = 25
TABS = {
    "mine": gettext_lazy("Mine"),
    "area": gettext_lazy("My area"),
    "overdue": gettext_lazy("Overdue"),
    "rectification": gettext_lazy("Rectification list"),
    "rating": gettext_lazy("Awaiting rating"),
}


def _mine_q(user) -> Q:
    """Tickets held at a post of mine, or open parts of my department."""
    scope = scope_for(user)
    q = Q(pk__in=[])
    for grant in scope.grants:
        level = perm.ROLE_LEVEL.get(grant.role)
        if level:
            q |= Q(handler_area_id=grant.area_id, level=level)
    if Role.COMMUNITY in scope.roles or Role.GRID in scope.roles or scope.is_admin:
        # Triage (step 2) waits on whoever may triage the place.
        q |= Q(state=S.REPORTED) & scope.keyed_q(roles=perm.TRIAGE_ROLES)
    if scope.department_ids:
        q |= Q(
            Exists(
                DepartmentTask.objects.filter(
                    ticket=OuterRef("pk"),
                    department_id__in=scope.department_ids,
                    status=DepartmentTask.Status.OPEN,
                )
            )
        )
    return q


def deadline_class(ticket: Ticket, now) -> str:
    if not ticket.is_open or ticket.deadline is None:
        return ""
    if ticket.deadline < now:
        return "over"
    if ticket.deadline - now < dt.timedelta(hours=24):
        return "soon"
    return "ok"


@dataclass
class InboxQuery:
    """The inbox's list as the request asks for it: the tab, the filter form (bound and
    checked), the problems it leaves and their order. The page, the ledger's XLSX and its
    print all read the list through ``_inbox_query``."""

    tab: str
    form: forms.InboxFilterForm
    tickets: QuerySet
    sort: str
    area: Area | None = None


def _inbox_query(request) -> InboxQuery:
    tab = request.GET.get("tab", "mine")
    if tab not in TABS:
        raise Http404
    now = timezone.now()
    tickets = tickets_visible_to(request.user)
    if tab == "mine":
        tickets = tickets.filter(_mine_q(request.user), state__in=OPEN_STATES)
    elif tab == "overdue":
        tickets = tickets.filter(state__in=IN_HAND_STATES, deadline__lt=now)
    elif tab == "rectification":
        tickets = tickets.filter(on_rectification_list=True, state__in=OPEN_STATES)
    elif tab == "rating":
        tickets = tickets.filter(state__in=AWAITING_RATING_STATES)
    filters = request.GET.copy()
    for name in ("tab", "after", "before", "size", "page"):
        filters.pop(name, None)
    form = forms.InboxFilterForm(filters or None)
    sort, area = "-created_at", None
    if form.is_valid():
        data = form.cleaned_data
        if q := data["q"].strip():
            found, why = inbox_search(request.user, q)
            tickets = tickets.filter(found)
            if why:
                form.add_error("q", why)
        for name in ("tier", "state", "category", "channel"):
            if data[name]:
                tickets = tickets.filter(**{name: data[name]})
        if code := data["area"].strip():
            area = filter_area_for_user(request.user, code, form)
            tickets = tickets.filter(keyed_subtree_q(area)) if area else tickets.none()
        if data["since"]:
            tickets = tickets.filter(created_at__date__gte=data["since"])
        if data["until"]:
            tickets = tickets.filter(created_at__date__lte=data["until"])
        sort = data["sort"] or sort
    tickets = tickets.select_related("category", "area", "handler_area")
    return InboxQuery(tab=tab, form=form, tickets=tickets, sort=sort, area=area)


def _filters_shown(request, query: InboxQuery) -> list[tuple[str, str]]:
    """The list's filters in words, for the ledger's heading: (label, value) pairs."""
    shown = [(str(_("List")), str(TABS[query.tab]))]
    form = query.form
    if not form.is_bound or not hasattr(form, "cleaned_data"):
        return shown
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        if value in (None, "") or (name == "sort" and value == "-created_at"):
            continue
        if name == "area":
            if query.area is None:
                continue
            value = area_labels([query.area], user=request.user).get(query.area.pk, value)
        elif hasattr(field, "choices") and not isinstance(value, models.Model):
            value = dict(field.choices).get(value, value)
        # A mobile number typed to find its reporter is masked here as in the rows below.
        shown.append((str(field.label), scrub_personal_numbers(str(value))))
    return shown


def _may_act_in_bulk(user) -> dict[str, bool]:
    """Which bulk acts the inbox offers: triage to those whose role triages, reminders to
    those whose role reminds (each problem is still checked when the act is taken)."""
    scope = scope_for(user)
    roles = {g.role for g in scope.grants} | ({Role.ADMIN} if scope.is_admin else set())
    return {
        "assign": any(perm.role_may(r, perm.ASSIGN) for r in roles),
        "remind": any(perm.role_may(r, perm.REMIND) for r in roles),
    }


def _page_number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and 0 < int(text) < 10_000 else None


# A number no problem has: the page's one reverse() of a problem's address is made with it,
# and each row's address by putting the row's number in its place.
_PK_MARK = 2_147_483_647
_ROW_CHOICES = ("state", "tier", "level")
# The columns a page's rows read, their places included (set_places reads only the areas'
# ids and finds their ancestors itself): a page of 100 then carries a score of columns a row, not
# the 77 of the problem, its category and its two areas.
INBOX_COLUMNS = (
    *("area", "category", "handler_area", "state", "tier", "level", "deadline"),
    *("on_rectification_list", "description", "created_at", "updated_at"),
    "category__name",
    *(f"area__{name}" for name in ("name", "kind")),
    "handler_area__name",
)


def _inbox_rows(page, *, now) -> list[dict]:
    """The page's problems as their rows show them, worked out once per page: each choice's
    label, each date format and the problem's address are looked up once, not per row by
    ``get_*_display``, ``|date`` and ``{% url %}`` (most of what 100 rows cost). Keys:
    ``ticket``, ``pk``, ``url``, ``select`` (the checkbox's label), ``category``, ``text``
    (the description, its numbers masked), ``place``, ``area_id``, ``state``, ``on_list``
    (on the rectification list), ``tier``, ``handler``, ``deadline`` (empty when none is
    shown), ``deadline_class``, ``created``."""
    before, after = reverse("issues:ticket_detail", args=[_PK_MARK]).split(str(_PK_MARK))
    labels = {
        name: {value: str(label) for value, label in Ticket._meta.get_field(name).flatchoices}
        for name in _ROW_CHOICES
    }
    states, tiers, levels = (labels[name] for name in _ROW_CHOICES)
    select = _("Select #%(n)s")
    month_day, time_of_day, day = (
        formats.get_format(name) for name in ("MONTH_DAY_FORMAT", "TIME_FORMAT", "DATE_FORMAT")
    )
    days: dict[dt.date, str] = {}
    rows = []
    for ticket in page:
        pk = str(ticket.pk)
        level = levels.get(ticket.level, ticket.level)
        handler = ticket.handler_area
        deadline = ""
        if ticket.deadline and ticket.is_open:
            local = timezone.localtime(ticket.deadline)
            shown = dateformat.format(local, month_day), dateformat.time_format(local, time_of_day)
            deadline = " ".join(shown)
        created = timezone.localtime(ticket.created_at)
        if (on := created.date()) not in days:
            days[on] = dateformat.format(created, day)
        rows.append(
            {
                "ticket": ticket,
                "pk": pk,
                "url": f"{before}{pk}{after}",
                "select": select % {"n": pk},
                "category": ticket.category.name,
                "text": scrub_personal_numbers(ticket.description or ""),
                "place": ticket.place or ticket.area.name,
                "area_id": str(ticket.area_id),
                "state": str(states.get(ticket.state, ticket.state)),
                "on_list": ticket.on_rectification_list,
                "tier": tiers.get(ticket.tier, ticket.tier) or "—",
                "handler": f"{handler.name} · {level}" if handler else level or "—",
                "deadline": deadline,
                "deadline_class": deadline_class(ticket, now),
                "created": days[on],
            }
        )
    return rows


@functools.lru_cache(maxsize=32)
def _blank_filter_fields(language: str, categories: tuple[tuple[int, str], ...]) -> str:
    """The filter form's fields with nothing chosen, as HTML: the same for every request in
    one language while the categories stay as they are (``_filter_fields``)."""
    return _render_filter_fields(forms.InboxFilterForm(), categories)


def _render_filter_fields(form: forms.InboxFilterForm, categories) -> str:
    field = form.fields["category"]
    # The options as fetched for the key, not fetched again by the widget.
    blank = [] if field.empty_label is None else [("", field.empty_label)]
    field.choices = [*blank, *categories]
    return render_to_string("issues/_inbox_filter_fields.html", {"form": form})


def _filter_fields(form: forms.InboxFilterForm) -> str:
    """The filter form's visible fields as HTML. A form with nothing chosen (most visits to
    the inbox) is rendered once per language and list of categories and kept: its widgets
    were a good part of every page. One query (the categories)."""
    categories = tuple((c.pk, str(c)) for c in form.fields["category"].queryset)
    if form.is_bound:
        return _render_filter_fields(form, categories)
    return _blank_filter_fields(get_language(), categories)


@login_required
@require_GET
def inbox(request):
    query = _inbox_query(request)
    now = timezone.now()
    page = keyset_page(
        query.tickets.only(*INBOX_COLUMNS),
        order=query.sort,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        size=page_size(request.GET.get("size")),
        number=_page_number(request.GET.get("page")),
    )
    set_places(page, user=request.user)
    params = request.GET.copy()
    for name in ("tab", "after", "before", "page"):
        params.pop(name, None)
    unsized = params.copy()
    unsized.pop("size", None)
    unsorted = params.copy()
    unsorted.pop("sort", None)
    bulk = _may_act_in_bulk(request.user)
    return render(
        request,
        "issues/inbox.html",
        {
            "tabs": TABS,
            "tab": query.tab,
            "form": query.form,
            "filtering": bool(unsized),
            "page": page,
            "rows": _inbox_rows(page, now=now),
            "filter_fields": _filter_fields(query.form),
            "query": params.urlencode(),
            "unsized_query": unsized.urlencode(),
            "unsorted_query": unsorted.urlencode(),
            "sort": query.sort,
            "area_label": area_labels([query.area], user=request.user)[query.area.pk]
            if query.area
            else "",
            "bulk": bulk if any(bulk.values()) else None,
            "tiers": Tier.choices,
        },
    )


# --- the ledger (台账): the inbox's list as filtered, as XLSX and for print -----------------------

LEDGER_ROWS = 5_000  # rows in one XLSX; a longer list is cut and says so
PRINT_ROWS = 500  # rows on one printed ledger


def _ledger_rows(request, query: InboxQuery, limit: int) -> tuple[list[Ticket], bool]:
    name = query.sort.lstrip("-")
    field = (
        F(name).desc(nulls_last=True)
        if query.sort.startswith("-")
        else F(name).asc(nulls_last=True)
    )
    tickets = list(query.tickets.order_by(field, "pk")[: limit + 1])
    cut = len(tickets) > limit
    tickets = set_places(tickets[:limit], user=request.user)
    return tickets, cut


LEDGER_HEADERS = (
    gettext_lazy("Number"),
    gettext_lazy("Category"),
    gettext_lazy("Place"),
    gettext_lazy("Area code"),
    gettext_lazy("State"),
    gettext_lazy("Tier"),
    gettext_lazy("Handled at"),
    gettext_lazy("Deadline"),
    gettext_lazy("Reported at"),
    gettext_lazy("Channel"),
    gettext_lazy("Description"),
)


def _ledger_line(ticket: Ticket) -> list:
    local = timezone.localtime
    handled = " · ".join(
        filter(None, [getattr(ticket.handler_area, "name", ""), ticket.get_level_display()])
    )
    return [
        ticket.pk,
        ticket.category.name,
        ticket.place,
        ticket.area.code,
        ticket.get_state_display(),
        ticket.get_tier_display(),
        handled,
        local(ticket.deadline).strftime("%Y-%m-%d %H:%M") if ticket.deadline else "",
        local(ticket.created_at).strftime("%Y-%m-%d %H:%M"),
        ticket.get_channel_display(),
        scrub_personal_numbers(ticket.description),
    ]


def _ledger_heading(request, query: InboxQuery, count: int, cut: bool, limit: int) -> list[str]:
    who = getattr(getattr(request.user, "person", None), "name", "") or request.user.username
    lines = ["; ".join(f"{label}: {value}" for label, value in _filters_shown(request, query))]
    lines.append(
        _("%(n)s problems · made %(at)s by %(who)s")
        % {"n": count, "at": timezone.localtime().strftime("%Y-%m-%d %H:%M"), "who": who}
    )
    if cut:
        lines.append(
            _("Only the first %(n)s rows: narrow the filters for the rest.") % {"n": limit}
        )
    return lines


@login_required
@require_GET
def inbox_ledger(request):
    """The inbox's list, filtered as shown, as an XLSX ledger (台账): a heading with the
    filters, then a row per problem (its place as a path, the description's numbers
    masked)."""
    query = _inbox_query(request)
    tickets, cut = _ledger_rows(request, query, LEDGER_ROWS)
    title = str(_("Problem ledger"))
    heading = _ledger_heading(request, query, len(tickets), cut, LEDGER_ROWS)
    return spreadsheet_response(
        f"ledger-{timezone.localdate():%Y%m%d}",
        "xlsx",
        [str(h) for h in LEDGER_HEADERS],
        (_ledger_line(t) for t in tickets),
        preamble=[[title], *([line] for line in heading), []],
    )


@login_required
@require_GET
def inbox_print(request):
    """The same ledger laid out for A4, its filters in the heading."""
    query = _inbox_query(request)
    tickets, cut = _ledger_rows(request, query, PRINT_ROWS)
    params = request.GET.copy()
    for name in ("after", "before", "size", "page"):
        params.pop(name, None)
    return render(
        request,
        "issues/inbox_print.html",
        {
            "tickets": tickets,
            "heading": _ledger_heading(request, query, len(tickets), cut, PRINT_ROWS),
            "query": params.urlencode(),
        },
    )


@login_required
@require_POST
def inbox_bulk(request):
    """Bulk triage or reminders on the problems selected in the inbox; back to the list as
    it was, saying what was done and what was refused, and why."""
    act = request.POST.get("act", "")
    asked = [int(i) for i in request.POST.getlist("ticket") if i.isdigit()][: services.BULK_MAX]
    # What the user cannot see is "not found", as its page would be.
    ids = list(tickets_visible_to(request.user).filter(pk__in=asked).values_list("pk", flat=True))
    unseen = [pk for pk in asked if pk not in set(ids)]
    back = request.POST.get("back", "")
    back = back if back.startswith("?") else ""
    try:
        if not ids and not unseen:
            raise ValidationError(_("choose at least one problem"))
        if act == "assign":
            result = services.tickets_assign_many(
                ids=ids, tier=request.POST.get("tier", ""), actor=request.user
            )
        elif act == "remind":
            result = services.tickets_remind_many(
                ids=ids, actor=request.user, note=request.POST.get("note", "")
            )
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(reverse("issues:inbox") + back)
    for pk in unseen:
        result.refused[pk] = _("not found")
    if result.done:
        messages.success(
            request,
            _("Done for %(n)s problems: %(ids)s")
            % {"n": len(result.done), "ids": " ".join(f"#{pk}" for pk in result.done)},
        )
    if result.refused:
        messages.warning(
            request,
            _("Not done: %(list)s")
            % {"list": "; ".join(f"#{pk} {why}" for pk, why in sorted(result.refused.items()))},
        )
    return redirect(reverse("issues:inbox") + back)


# --- the ticket page ---------------------------------------------------------------------------

ACTION_FORMS = {
    perm.ASSIGN: forms.AssignForm,
    perm.DECLINE: forms.DeclineForm,
    perm.MERGE: forms.MergeForm,
    perm.ACCEPT: forms.OptionalNoteForm,
    perm.PROGRESS: forms.NoteForm,
    perm.ESCALATE: forms.EscalateForm,
    perm.RESOLVE: forms.ResolveForm,
    perm.REMIND: forms.OptionalNoteForm,
    perm.RATE: forms.RateForm,
    perm.RETURN_VISIT: forms.ReturnVisitForm,
    perm.DEPARTMENT_REPORT: forms.DepartmentReportForm,
    perm.MEETING: forms.MeetingAssignForm,
    perm.REVIEW: forms.ReviewForm,
    perm.SEND_BACK: forms.SendBackForm,
}
ACTION_ORDER = (
    perm.REVIEW,
    perm.SEND_BACK,
    perm.ASSIGN,
    perm.MERGE,
    perm.DECLINE,
    perm.ACCEPT,
    perm.PROGRESS,
    perm.RESOLVE,
    perm.ESCALATE,
    perm.MEETING,
    perm.DEPARTMENT_REPORT,
    perm.REMIND,
    perm.RATE,
    perm.RETURN_VISIT,
)
ACTION_LABELS = {
    perm.ASSIGN: gettext_lazy("Triage and assign"),
    perm.DECLINE: gettext_lazy("Decline and tell the reporter"),
    perm.MERGE: gettext_lazy("Merge into the problem it repeats"),
    perm.ACCEPT: gettext_lazy("Accept"),
    perm.PROGRESS: gettext_lazy("Add progress"),
    perm.ESCALATE: gettext_lazy("Escalate one level"),
    perm.RESOLVE: gettext_lazy("Resolve and tell the reporter"),
    perm.REMIND: gettext_lazy("Send a reminder"),
    perm.RATE: gettext_lazy("Record a return call (回访)"),
    perm.RETURN_VISIT: gettext_lazy("Schedule a return visit"),
    perm.DEPARTMENT_REPORT: gettext_lazy("Report back for the department"),
    perm.MEETING: gettext_lazy("Assign at a meeting"),
    perm.REVIEW: gettext_lazy("Accept the reports and tell the reporter"),
    perm.SEND_BACK: gettext_lazy("Send a department's report back"),
}


def _action_label(action: str, my_tasks) -> str:
    """The action's button: a department reports as itself ("Report back as 住建局")."""
    if action == perm.DEPARTMENT_REPORT and my_tasks:
        return _("Report back as %(department)s") % {"department": my_tasks[0].department.name}
    return ACTION_LABELS[action]


def _part_deadline(ticket: Ticket, *, review: bool = False) -> dt.date:
    """The day a form offers for a department's part: the hard tier's time limit from now,
    or its rectification limit for a part sent back."""
    deadline = services.part_deadline(
        Tier.HARD, ticket.category, rectify=review, now=timezone.now()
    )
    return timezone.localtime(deadline).date()


def _county_meetings(user, ticket: Ticket):
    # Meetings are held by county offices: those of the problem's district.
    county = ticket.district_id or (ticket.handler_area or ticket.area).pk
    return Meeting.objects.filter(area_id=county).order_by("-held_on", "-pk")


def _reporter_rows(ticket: Ticket, *, may_see: bool) -> list[dict]:
    """The problem's reporters (every report merged in included) as the page shows them:
    names masked for whoever may not call them back, phones always masked (a logged reveal
    shows one). One query."""
    rows = ticket.reporters.select_related("rating_caller__person").order_by("created_at", "pk")
    shown = []
    for row in rows:
        caller = row.rating_caller
        shown.append(
            {
                "row": row,
                "name": (row.name if may_see else mask_name(row.name)) or "—",
                "phone": mask_phone(row.phone),
                "merged_in": row.reported_as_id != ticket.pk,
                "rated_now": rated_this_round(row, ticket),
                "caller": (caller.person.name if hasattr(caller, "person") else caller.username)
                if caller
                else "",
            }
        )
    return shown


def _return_call_choices(ticket: Ticket, reporters: list[dict]) -> list:
    """The reporters still to rate the result, labelled for the one who calls them."""
    return [
        (r["row"], " · ".join(filter(None, [r["name"], r["phone"]])))
        for r in reporters
        if not r["rated_now"]
    ]


def _action_form(action, user, ticket, data=None, tasks=(), reporters=None):
    form = _action_form_for(action, user, ticket, data, tasks, reporters)
    # One form carries every action offered: a field of an action not chosen may be blank,
    # so none is required in the browser (the chosen action's form says what is missing).
    form.use_required_attribute = False
    return form


def _action_form_for(action, user, ticket, data, tasks, reporters):
    if action == perm.MERGE:
        suggestions = services.duplicates_suggest(ticket, user=user)
        return forms.MergeForm(data, suggestions=suggestions, prefix=action)
    if action == perm.RATE:
        if reporters is None:
            reporters = _reporter_rows(ticket, may_see=True)
        choices = _return_call_choices(ticket, reporters)
        return forms.RateForm(data, reporters=choices, prefix=action)
    if action == perm.MEETING:
        return forms.MeetingAssignForm(
            data,
            meetings=_county_meetings(user, ticket),
            departments=Department.objects.order_by("name"),
            default_deadline=_part_deadline(ticket),
            prefix=action,
        )
    if action == perm.DEPARTMENT_REPORT:
        initial = {"task": tasks[0].pk} if tasks else None
        return forms.DepartmentReportForm(data, prefix=action, initial=initial)
    if action == perm.SEND_BACK:
        reported = [t for t in ticket.tasks.select_related("department") if t.status == REPORTED]
        return forms.SendBackForm(
            data,
            parts=reported,
            default_deadline=_part_deadline(ticket, review=True),
            prefix=action,
        )
    form = ACTION_FORMS[action](data, prefix=action)
    if action == perm.ESCALATE and Tier.HARD not in perm.triage_tiers(user, ticket.area):
        del form.fields["as_hard"]
    return form


def _own_departments_only(user, ticket: Ticket) -> set[int] | None:
    """The departments whose parts alone ``user`` sees on the problem's page: a department's
    handler with no role over the problem's place or where it is handled (a post elsewhere
    on the tree gives none); None for those who see every part."""
    scope = scope_for(user)
    if scope.is_admin or scope.role_for(ticket.area):
        return None
    if ticket.handler_area_id and scope.role_for(ticket.handler_area):
        return None
    return set(scope.department_ids)


PART_STEPS = frozenset({TicketEvent.Kind.DEPARTMENT_REPORT, TicketEvent.Kind.SEND_BACK})


def _parts_shown(user, ticket: Ticket, tasks: list[DepartmentTask], events: list) -> tuple:
    """The parts and steps a user sees: all of them, or a department's handler only its own
    department's parts and the reports and send-backs of those (not another department's
    instructions, report or the reason it was sent back)."""
    own = _own_departments_only(user, ticket)
    if own is None:
        return tasks, events
    names = {t.department.name for t in tasks if t.department_id in own}
    return (
        [t for t in tasks if t.department_id in own],
        [e for e in events if e.kind not in PART_STEPS or department_of(e.note) in names],
    )


def _ticket_context(request, ticket: Ticket, bound: dict | None = None) -> dict:
    tasks = list(ticket.tasks.select_related("department", "meeting").order_by("pk"))
    actions = perm.ticket_actions(request.user, ticket, tasks)
    my_tasks = perm.open_tasks_for(request.user, ticket, tasks)
    may_call = services.may_call_reporter(request.user, ticket, actions)
    reporters = _reporter_rows(ticket, may_see=may_call)
    action_forms = []
    for action in ACTION_ORDER:
        if action in actions:
            form = (bound or {}).get(action) or _action_form(
                action, request.user, ticket, tasks=my_tasks, reporters=reporters
            )
            action_forms.append((action, _action_label(action, my_tasks), form))
    suggested = [
        o for _a, _l, f in action_forms if isinstance(f, forms.MergeForm) for o, _s in f.suggestions
    ]
    set_places([ticket, *suggested], user=request.user)
    events = list(
        ticket.events.select_related("actor__person", "handler_area", "reporter").order_by(
            "at", "pk"
        )
    )
    tasks_shown, events = _parts_shown(request.user, ticket, tasks, events)
    # Where it was handled, the problem's and each step's, as paths: one query for them all.
    set_places([ticket, *events], user=request.user, attr="handler_area", into="handled_at")
    return_visits = list(ticket.return_visits.order_by("scheduled_for"))
    open_visits = [v for v in return_visits if v.done_at is None]
    return {
        "ticket": ticket,
        "events": events,
        "tasks": tasks_shown,
        "now": timezone.now(),
        "photos": ticket.photos.all(),
        "action_forms": action_forms,
        "return_visits": return_visits,
        "log_forms": [
            (v, forms.ReturnVisitLogForm(prefix=f"log{v.pk}", initial={"visit": v.pk}))
            for v in open_visits
        ]
        if perm.RETURN_VISIT in actions
        else [],
        "deadline_class": deadline_class(ticket, timezone.now()),
        "reporters": reporters,
        "may_call_reporter": may_call,
        # 首问负责: who keeps the reporter informed
        "first_asker": ticket.first_asker,
        "merged_reports": list(ticket.merged.order_by("created_at", "pk").only("pk", "created_at"))
        if ticket.state != S.DECLINED
        else [],
        # The handler (or anyone who took a step on it) is told the rating is not theirs to give.
        "rating_not_yours": ticket.state in AWAITING_RATING_STATES
        and perm.RATE not in actions
        and perm.has_worked_on(request.user, ticket),
        "description_masked": services.description_has_numbers(ticket),
        "is_handler": perm.is_handler(request.user, ticket),
    }


@login_required
@require_GET
def ticket_detail(request, pk):
    ticket = get_ticket_for_user(request.user, pk)
    return render(request, "issues/ticket_detail.html", _ticket_context(request, ticket))


@login_required
@require_GET
def ticket_photo(request, pk, photo_pk):
    """A photo of the ticket, for whoever may open the ticket page."""
    photo = get_photo_for_user(request.user, pk, photo_pk)
    return image_response(
        photo.image, kind=photo.kind, download_name=f"problem-{pk}-photo-{photo.pk}"
    )


def _run(action, request, ticket, data):
    """Call the service for ``action`` with the form's cleaned data; the problem the page goes
    on to when it is another (a merge: the problem the report joined)."""
    version = _version(request)
    user = request.user
    if action == perm.ASSIGN:
        services.ticket_assign(
            ticket=ticket,
            tier=data["tier"],
            actor=user,
            note=data["note"],
            expected_version=version,
        )
    elif action == perm.ACCEPT:
        services.ticket_accept(ticket=ticket, actor=user, expected_version=version)
        if data.get("note"):
            services.ticket_progress(ticket=ticket, actor=user, note=data["note"])
    elif action == perm.PROGRESS:
        services.ticket_progress(
            ticket=ticket, actor=user, note=data["note"], expected_version=version
        )
    elif action == perm.ESCALATE:
        services.ticket_escalate(
            ticket=ticket,
            actor=user,
            note=data["note"],
            as_hard=data.get("as_hard", False),
            expected_version=version,
        )
    elif action == perm.RESOLVE:
        services.ticket_resolve(
            ticket=ticket, actor=user, feedback=data["feedback"], expected_version=version
        )
    elif action == perm.REMIND:
        services.ticket_remind(ticket=ticket, actor=user, note=data["note"])
    elif action == perm.RATE:
        reporter = ticket.reporters.filter(pk=data["reporter"]).first()
        if reporter is None:
            raise ValidationError({"reporter": _("choose one of this problem's reporters")})
        services.ticket_rate(
            ticket=ticket,
            actor=user,
            rating=data["rating"],
            comment=data["comment"],
            reporter=reporter,
            expected_version=version,
        )
    elif action == perm.DECLINE:
        services.ticket_decline(
            ticket=ticket,
            actor=user,
            reason=data["reason"],
            note=data["note"],
            expected_version=version,
        )
    elif action == perm.MERGE:
        into = tickets_visible_to(user).filter(pk=data["into"]).first()
        if into is None:
            raise ValidationError(
                {"number": _("no problem #%(id)s that you can see") % {"id": data["into"]}}
            )
        return services.ticket_merge(
            ticket=ticket, into=into, actor=user, note=data["note"], expected_version=version
        )
    elif action == perm.RETURN_VISIT:
        services.return_visit_schedule(ticket=ticket, actor=user, on=data["on"])
    elif action == perm.DEPARTMENT_REPORT:
        task = DepartmentTask.objects.filter(pk=data["task"], ticket=ticket).first()
        if task is None:
            raise Http404
        services.department_report(task=task, actor=user, report=data["report"])
    elif action == perm.MEETING:
        services.meeting_assign(
            meeting=data["meeting"],
            ticket=ticket,
            actor=user,
            expected_version=version,
            parts=[
                services.Part(department, _end_of(day), instructions)
                for department, day, instructions in data["parts"]
            ],
        )
    elif action == perm.REVIEW:
        services.ticket_review(
            ticket=ticket, actor=user, feedback=data["feedback"], expected_version=version
        )
    elif action == perm.SEND_BACK:
        task = DepartmentTask.objects.filter(pk=data["task"], ticket=ticket).first()
        if task is None:
            raise Http404
        services.part_send_back(
            ticket=ticket,
            task=task,
            actor=user,
            reason=data["reason"],
            deadline=_end_of(data["deadline"]),
            expected_version=version,
        )


def _end_of(day: dt.date) -> dt.datetime:
    """A deadline given as a day: the end of that day, local time."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


@login_required
@require_POST
def ticket_do(request, pk):
    """The action bar: the action chosen on it, taken as ``ticket_act`` takes it."""
    return ticket_act(request, pk, request.POST.get("action", ""))


def _version(request) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


@login_required
@require_POST
def ticket_act(request, pk, action):
    ticket = get_ticket_for_user(request.user, pk)
    if action not in ACTION_FORMS:
        raise Http404
    tasks = list(ticket.tasks.all())
    if action not in perm.ticket_actions(request.user, ticket, tasks):
        raise PermissionDenied
    form = _action_form(action, request.user, ticket, request.POST)
    if form.is_valid():
        try:
            went = _run(action, request, ticket, form.cleaned_data)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Done: %(action)s.") % {"action": ACTION_LABELS[action]})
            # A merge goes on to the problem the report joined.
            return redirect("issues:ticket_detail", pk=went.pk if went else ticket.pk)
    ticket.refresh_from_db()
    context = _ticket_context(request, ticket, bound={action: form})
    context["failed_action"] = action
    return render(request, "issues/ticket_detail.html", context, status=400)


def _revealed(request, pk, *, reveal, template: str, name: str):
    """A logged reveal of something the pages show masked, as an uncached htmx partial."""
    ticket = get_ticket_for_user(request.user, pk)
    try:
        reveal_limit_take(request)  # one count for every kind of reveal (core.ratelimit)
    except RateLimited as exc:
        return too_many_requests(
            request, message=reveal_limit_message(), retry_after=exc.retry_after
        )
    value = reveal(user=request.user, ticket=ticket, **client_facts(request))
    response = render(request, template, {name: value})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def reporter_phone_reveal(request, pk):
    return _revealed(
        request,
        pk,
        reveal=services.ticket_reporter_phone_reveal,
        template="residents/_revealed.html",
        name="value",
    )


@login_required
@require_POST
def reporter_row_phone_reveal(request, pk, reporter_pk):
    """One reporter's phone (a report merged in too), for a call back: logged."""

    def reveal(*, user, ticket, **facts):
        reporter = ticket.reporters.filter(pk=reporter_pk).first()
        if reporter is None:
            raise Http404
        return services.ticket_reporter_phone_reveal(
            user=user, ticket=ticket, reporter=reporter, **facts
        )

    return _revealed(request, pk, reveal=reveal, template="residents/_revealed.html", name="value")


@login_required
@require_POST
def description_reveal(request, pk):
    return _revealed(
        request,
        pk,
        reveal=services.ticket_description_reveal,
        template="issues/_description_revealed.html",
        name="text",
    )


@login_required
@require_POST
def return_visit_log(request, pk, visit_pk):
    ticket = get_ticket_for_user(request.user, pk)
    visit = ReturnVisit.objects.filter(pk=visit_pk, ticket=ticket).first()
    if visit is None:
        raise Http404
    form = forms.ReturnVisitLogForm(request.POST, prefix=f"log{visit.pk}")
    if not form.is_valid():
        messages.error(request, _("Say what the reporter said."))
    else:
        try:
            services.return_visit_log(
                visit=visit, actor=request.user, note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Return visit logged."))
    return redirect("issues:ticket_detail", pk=ticket.pk)


# --- reporting ---------------------------------------------------------------------------------


def _grant_areas(scope) -> list[Area]:
    """Stand-ins for the nodes of the user's posts, enough for ``role_for``. No query."""
    return [Area(pk=g.area_id, tree_id=g.tree_id, lft=g.lft, rght=g.rght) for g in scope.grants]


def _report_visit(request):
    """The visit a report starts from (``?visit=``), if any: the form's initial values, the
    visit and its household (which must be the user's to see)."""
    visit_id = request.GET.get("visit") or request.POST.get("visit")
    if not (visit_id and str(visit_id).isdigit()):
        return {}, None, None
    visit = Visit.objects.filter(pk=visit_id).select_related("household__area").first()
    if visit is None:
        raise Http404
    household = get_household_for_user(request.user, visit.household_id, "detail")
    initial = {
        "area": household.area.code,
        "channel": Ticket.Channel.VISIT,
        "visit": visit.pk,
        "description": visit.findings,
    }
    return initial, visit, household


def _report_submit(request, form, scope, visit):
    """Report what the valid ``form`` holds; the new ticket, or None with the form's errors."""
    data = form.cleaned_data
    area = Area.objects.filter(scope.area_q(), code=data["area"].strip()).first()
    reporter = None
    if data["resident"]:
        reporter = residents_visible_to(request.user).filter(pk=data["resident"]).first()
        if reporter is None:
            form.add_error(None, _("that resident is not in your area"))
    if area is None:
        form.add_error("area", _("no such area in your scope"))
    if form.errors:
        return None
    try:
        return services.ticket_report(
            area=area,
            category=data["category"],
            channel=data["channel"],
            description=data["description"],
            actor=request.user,
            reporter=reporter,
            reporter_name=data["reporter_name"] or (reporter.name if reporter else ""),
            reporter_phone=data["reporter_phone"],
            visit=visit,
            photos=data["photos"],
            tier=data["tier"] or None,
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    except PermissionDenied:
        form.add_error("tier", _("you may not give a problem here this tier; leave it for triage"))
    return None


def _report_place(request, form, scope) -> None:
    """The place chosen on the form (typed, picked, or the visit's), by its path below the
    user's scope (``form.chosen_place``), so that the page names it rather than its code,
    also when it comes back with errors; empty when the code is none of the user's. Two
    queries at most."""
    source = form.data if form.is_bound else form.initial
    code = str(source.get("area") or "").strip()
    form.chosen_area = (
        Area.objects.filter(scope.area_q(), code=code).first() if code_lookable(code) else None
    )
    set_places([form], user=request.user, attr="chosen_area", into="chosen_place")


@login_required
@require_http_methods(["GET", "POST"])
def report(request):
    scope = scope_for(request.user)
    if not perm.may_report(request.user):
        raise PermissionDenied
    initial, visit, household = _report_visit(request)
    tiers = set().union(
        *(perm.triage_tiers(request.user, g_area) for g_area in _grant_areas(scope))
    )
    form = forms.ReportForm(
        request.POST or None,
        request.FILES or None,
        initial=initial,
        tiers=tiers if not scope.is_admin else None,
    )
    residents = list(household.residents.order_by("-is_householder", "pk")) if household else []
    if request.method == "POST" and form.is_valid():
        ticket = _report_submit(request, form, scope, visit)
        if ticket is not None:
            messages.success(request, _("Problem #%(id)s reported.") % {"id": ticket.pk})
            return redirect("issues:ticket_detail", pk=ticket.pk)
    _report_place(request, form, scope)
    if household is not None:
        set_places([household], user=request.user)
    return render(
        request,
        "issues/report.html",
        {
            "form": form,
            "visit": visit,
            "household": household,
            "residents": residents,
        },
    )


# --- assignment meetings -----------------------------------------------------------------------

PART_TABS = {
    DepartmentTask.Status.OPEN: gettext_lazy("To do"),
    DepartmentTask.Status.REPORTED: gettext_lazy("Reported, in review"),
    DepartmentTask.Status.DONE: gettext_lazy("Accepted"),
}


@login_required
@require_GET
def department_parts(request):
    """A department's parts of problems: what each is to do and by when, soonest first, the
    overdue marked; those reported and awaiting the county office's review; those accepted.
    For the handlers of a department only."""
    departments = scope_for(request.user).department_ids
    if not departments:
        raise PermissionDenied
    status = request.GET.get("status", DepartmentTask.Status.OPEN)
    if status not in PART_TABS:
        raise Http404
    mine = DepartmentTask.objects.filter(department_id__in=departments)
    counts = dict(
        mine.values_list("status").annotate(n=Count("pk")).order_by().values_list("status", "n")
    )
    order = ("-reviewed_at", "-pk") if status == DepartmentTask.Status.DONE else ("deadline", "pk")
    parts = (
        mine.filter(status=status)
        .select_related("department", "meeting", "ticket__category", "ticket__area")
        .order_by(*order)
    )
    page = Paginator(parts, PAGE_SIZE).get_page(request.GET.get("page"))
    set_places([part.ticket for part in page], user=request.user)
    return render(
        request,
        "issues/department_parts.html",
        {
            "page": page,
            "status": status,
            "tabs": [(key, label, counts.get(key, 0)) for key, label in PART_TABS.items()],
            "now": timezone.now(),
        },
    )


def _county_scope(user) -> list[Area]:
    scope = scope_for(user)
    if scope.is_admin:
        return list(Area.objects.filter(kind="district"))
    ids = [g.area_id for g in scope.grants if g.role == Role.COUNTY]
    return list(Area.objects.filter(pk__in=ids))


def _placed_entries(user, entries: dict) -> list[dict]:
    set_places((entry["ticket"] for entry in entries.values()), user=user)
    return list(entries.values())


def _waiting_at_county(user):
    """Hard problems at the county office, not yet handed to departments: the meeting's
    agenda. Soonest deadline first."""
    waiting = (
        tickets_visible_to(user)
        .filter(level=Level.COUNTY, state__in=IN_HAND_STATES)
        .select_related("category", "area")
        .order_by("deadline")[:50]
    )
    return set_places(waiting, user=user)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_list(request):
    counties = _county_scope(request.user) if perm.holds_meetings(request.user) else []
    if not counties:
        raise PermissionDenied
    form = forms.MeetingForm(
        request.POST or None, initial={"held_on": timezone.localdate()}, counties=counties
    )
    if request.method == "POST" and form.is_valid():
        meeting = services.meeting_open(
            area=form.cleaned_data["county"],
            title=form.cleaned_data["title"],
            held_on=form.cleaned_data["held_on"],
            actor=request.user,
        )
        messages.success(request, _("Meeting opened."))
        return redirect("issues:meeting_detail", pk=meeting.pk)
    meetings = Meeting.objects.filter(area__in=counties).select_related("area")
    waiting = _waiting_at_county(request.user)
    return render(
        request,
        "issues/meeting_list.html",
        {
            "form": form,
            "meetings": meetings[:50],
            "waiting": waiting,
        },
    )


@login_required
@require_GET
def meeting_detail(request, pk):
    counties = _county_scope(request.user)
    meeting = Meeting.objects.filter(pk=pk, area__in=counties).select_related("area").first()
    if meeting is None:
        raise Http404
    tasks = meeting.tasks.select_related("department", "ticket__category", "ticket__area")
    tickets: dict[int, dict] = {}
    for task in tasks.order_by("ticket_id", "pk"):
        entry = tickets.setdefault(task.ticket_id, {"ticket": task.ticket, "tasks": []})
        entry["tasks"].append(task)
    waiting = _waiting_at_county(request.user)
    return render(
        request,
        "issues/meeting_detail.html",
        {
            "meeting": meeting,
            "entries": _placed_entries(request.user, tickets),
            "waiting": waiting,
            "now": timezone.now(),
        },
    )

"""The regular meetings' pages (worker portal): the rhythm of the areas, planning a meeting,
the meeting page, and the POST forms of its acts. Every page fetches and authorises in one
step (``selectors.get_meeting_for_user``: 404 out of scope, 403 a role that does not run
meetings); every change is a POST through a service."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.keyset import keyset_page, page_size
from councils import forms, selectors, services
from councils.models import AgendaItem, Decision
from councils.rules import MEETING_ROLES, State
from deliberation.models import Proposal
from grids.access import scope_for
from grids.models import Area
from grids.selectors import area_labels, code_lookable, filter_area_for_user, set_places
from issues.models import Ticket
from wishes.models import Wish


def _require_runs_meetings(user) -> None:
    if not selectors.may_run_meetings(user):
        raise PermissionDenied


@login_required
@require_GET
def rhythm(request):
    """Each area in scope that holds regular meetings: its meeting, when it last met, when
    the next is due, which are overdue. Numbered pages in code (tree) order."""
    _require_runs_meetings(request.user)
    today = timezone.localdate()
    form = forms.RhythmFilterForm(request.GET or None)
    within = None
    level = status = ""
    area_label = ""
    empty = False
    if form.is_valid():
        data = form.cleaned_data
        level, status = data["level"], data["status"]
        if code := data["area"].strip():
            within = filter_area_for_user(request.user, code, form)
            empty = within is None
            if within is not None:
                area_label = area_labels([within], user=request.user)[within.pk]
    listed, order = selectors.rhythm_list(
        request.user, within=within, level=level, status=status, today=today
    )
    if empty:
        listed = listed.none()
    number = request.GET.get("page", "")
    page = keyset_page(
        listed,
        order=order,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        size=page_size(request.GET.get("size")),
        number=int(number) if number.isdigit() else None,
    )
    rows = selectors.rhythm_rows(page.object_list, today=today)
    set_places(rows, user=request.user)
    counts = selectors.rhythm_counts(request.user, within=within, today=today)
    upcoming = list(
        selectors.meetings_visible_to(request.user)
        .filter(state=State.PLANNED, date__gte=today)
        .select_related("area")
        .order_by("date", "pk")[:10]
    )
    set_places(upcoming, user=request.user)
    kept = {
        k: v for k, v in request.GET.items() if k not in ("page", "size", "after", "before") and v
    }
    return render(
        request,
        "councils/rhythm.html",
        {
            "form": form,
            "area_label": area_label,
            "page": page,
            "rows": rows,
            "counts": counts,
            "upcoming": upcoming,
            "today": today,
            "query": urlencode({**kept, "size": page.size}),
            "unsized_query": urlencode(kept),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan(request):
    _require_runs_meetings(request.user)
    form = forms.PlanForm(
        request.POST or None,
        initial={"area": request.GET.get("area", ""), "date": timezone.localdate()},
    )
    area_label = ""
    code = (form.data.get("area") if form.is_bound else form.initial.get("area")) or ""
    area = (
        Area.objects.filter(
            scope_for(request.user).area_q(roles=MEETING_ROLES),
            code=code.strip(),
        ).first()
        if code_lookable(code.strip())
        else None
    )
    if area is not None:
        area_label = area_labels([area], user=request.user)[area.pk]
    if request.method == "POST" and form.is_valid():
        if area is None:
            form.add_error("area", _("choose a place in your area that holds regular meetings"))
        else:
            try:
                meeting = services.meeting_plan(
                    area=area,
                    date=form.cleaned_data["date"],
                    room=form.cleaned_data["room"],
                    topic=form.cleaned_data["topic"],
                    chair=getattr(request.user, "person", None),
                    actor=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Meeting planned."))
                return redirect("councils:meeting", pk=meeting.pk)
    return render(request, "councils/plan.html", {"form": form, "area_label": area_label})


@login_required
@require_GET
def meeting_detail(request, pk):
    meeting = selectors.get_meeting_for_user(request.user, pk)
    set_places([meeting], user=request.user)
    candidates = selectors.attendance_candidates(meeting)
    agenda = list(
        meeting.agenda.select_related("ticket", "wish", "proposal", "proposed_by").order_by(
            "added_at", "pk"
        )
    )
    context = {
        "meeting": meeting,
        "agenda": agenda,
        "history": list(selectors.meeting_history(meeting)),
        "planned": meeting.state == State.PLANNED,
        "held": meeting.state == State.HELD,
        "wishes": selectors.open_wishes(request.user, meeting),
        "proposals": selectors.open_proposals(request.user, meeting),
    }
    if meeting.state == State.PLANNED:
        problems = selectors.open_problems(request.user, meeting)
        set_places(problems, user=request.user)
        context.update(
            problems=problems,
            agenda_form=forms.AgendaForm(
                problems=problems,
                wishes=context["wishes"],
                proposals=context["proposals"],
                people=candidates,
            ),
            hold_form=forms.HoldForm(people=candidates),
            candidates=candidates,
            cancel_form=forms.CancelForm(),
        )
    elif meeting.state == State.HELD:
        present = selectors.attendees(meeting)
        here = {a.person_id for a in present if a.removed_at is None}
        absent = [c for c in candidates if c.person.pk not in here]
        decisions = list(
            meeting.decisions.select_related("ticket", "wish", "proposal", "agenda_item").order_by(
                "decided_at", "pk"
            )
        )
        context.update(
            attendance=present,
            present_count=len(here),
            add_form=forms.AttendeeAddForm(people=absent) if absent else None,
            corrections=list(meeting.corrections.select_related("by")),
            correction_form=forms.CorrectionForm(),
            decisions=decisions,
            decision_form=forms.DecisionForm(items=agenda),
            problem_form=forms.DecisionProblemForm(),
            wish_form=forms.DecisionWishForm(),
            proposal_form=forms.DecisionProposalForm(),
        )
    return render(request, "councils/meeting.html", context)


def _act(request, pk, form_class, act, *, done: str, form_kwargs=None):
    """Fetch and authorise the meeting, check the posted form, run the act, and go back to
    the meeting page with what happened (or why not)."""
    meeting = selectors.get_meeting_for_user(request.user, pk)
    form = form_class(request.POST, **(form_kwargs(meeting) if form_kwargs else {}))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("councils:meeting", pk=meeting.pk)
    try:
        act(meeting, form.cleaned_data)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect("councils:meeting", pk=meeting.pk)


def _person(meeting, pk):
    for candidate in selectors.attendance_candidates(meeting):
        if str(candidate.person.pk) == str(pk):
            return candidate.person
    raise ValidationError(_("someone chosen is not of this meeting's area"))


@login_required
@require_POST
def agenda_add(request, pk):
    def people(meeting):
        return {
            "problems": selectors.open_problems(request.user, meeting),
            "wishes": selectors.open_wishes(request.user, meeting),
            "proposals": selectors.open_proposals(request.user, meeting),
            "people": selectors.attendance_candidates(meeting),
        }

    def act(meeting, data):
        proposer = _person(meeting, data["proposed_by"]) if data["proposed_by"] else None
        chosen = Ticket.objects.filter(pk__in=[int(t) for t in data["tickets"]]).order_by("pk")
        for ticket in chosen:
            services.meeting_agenda_add(meeting=meeting, actor=request.user, ticket=ticket)
        # The choices were drawn from the area's open wishes and proposals the user sees;
        # the service checks each again on the locked meeting.
        for wish in Wish.objects.filter(pk__in=[int(w) for w in data["wishes"]]).order_by("pk"):
            services.meeting_agenda_add(meeting=meeting, actor=request.user, wish=wish)
        chosen_proposals = Proposal.objects.filter(
            pk__in=[int(p) for p in data["proposals"]]
        ).order_by("pk")
        for proposal in chosen_proposals:
            services.meeting_agenda_add(meeting=meeting, actor=request.user, proposal=proposal)
        if data["title"].strip():
            services.meeting_agenda_add(
                meeting=meeting, actor=request.user, title=data["title"], proposed_by=proposer
            )
        if not (data["tickets"] or data["wishes"] or data["proposals"] or data["title"].strip()):
            raise ValidationError(_("choose a problem, a wish or a proposal, or name the item"))

    return _act(
        request, pk, forms.AgendaForm, act, done=_("Added to the agenda."), form_kwargs=people
    )


@login_required
@require_POST
def hold(request, pk):
    def people(meeting):
        return {"people": selectors.attendance_candidates(meeting)}

    def act(meeting, data):
        candidates = {str(c.person.pk): c.person for c in selectors.attendance_candidates(meeting)}
        services.meeting_hold(
            meeting=meeting,
            actor=request.user,
            attendees=[candidates[pk] for pk in data["attendees"]],
            minutes=data["minutes"],
            chair=candidates.get(data["chair"]) if data["chair"] else None,
        )

    return _act(
        request, pk, forms.HoldForm, act, done=_("Meeting recorded as held."), form_kwargs=people
    )


@login_required
@require_POST
def cancel(request, pk):
    def act(meeting, data):
        services.meeting_cancel(meeting=meeting, actor=request.user, reason=data["reason"])

    return _act(request, pk, forms.CancelForm, act, done=_("Meeting called off."))


@login_required
@require_POST
def attendee_add(request, pk):
    def people(meeting):
        return {"people": selectors.attendance_candidates(meeting)}

    def act(meeting, data):
        services.meeting_attendee_add(
            meeting=meeting, person=_person(meeting, data["person"]), actor=request.user
        )

    return _act(
        request,
        pk,
        forms.AttendeeAddForm,
        act,
        done=_("Added to the attendance."),
        form_kwargs=people,
    )


@login_required
@require_POST
def attendee_remove(request, pk):
    def act(meeting, data):
        row = meeting.attendance.filter(person_id=data["person"], removed_at__isnull=True).first()
        if row is None:
            raise ValidationError(_("not marked present"))
        services.meeting_attendee_remove(
            meeting=meeting, person=row.person, actor=request.user, reason=data["reason"]
        )

    return _act(request, pk, forms.AttendeeRemoveForm, act, done=_("Struck off the attendance."))


@login_required
@require_POST
def correct(request, pk):
    def act(meeting, data):
        services.meeting_minutes_correct(meeting=meeting, actor=request.user, text=data["text"])

    return _act(request, pk, forms.CorrectionForm, act, done=_("Correction appended."))


@login_required
@require_POST
def decide(request, pk):
    def items(meeting):
        return {"items": list(meeting.agenda.all())}

    def act(meeting, data):
        item = (
            AgendaItem.objects.filter(meeting=meeting, pk=data["agenda_item"]).first()
            if data["agenda_item"]
            else None
        )
        services.meeting_decide(
            meeting=meeting, actor=request.user, text=data["text"], agenda_item=item
        )

    return _act(
        request, pk, forms.DecisionForm, act, done=_("Decision recorded."), form_kwargs=items
    )


@login_required
@require_POST
def decision_problem(request, pk, decision_pk):
    def act(meeting, data):
        decision = Decision.objects.filter(meeting=meeting, pk=decision_pk).first()
        if decision is None:
            raise ValidationError(_("no such decision of this meeting"))
        try:
            ticket = services.decision_report_problem(
                decision=decision,
                actor=request.user,
                category=data["category"],
                tier=data["tier"] or None,
            )
        except PermissionDenied:
            raise ValidationError(_("you may not give a problem that tier")) from None
        messages.info(request, _("Problem #%(pk)s reported.") % {"pk": ticket.pk})

    return _act(request, pk, forms.DecisionProblemForm, act, done=_("Decision carried out."))


def _decision_of(meeting, decision_pk) -> Decision:
    decision = Decision.objects.filter(meeting=meeting, pk=decision_pk).first()
    if decision is None:
        raise ValidationError(_("no such decision of this meeting"))
    return decision


@login_required
@require_POST
def decision_wish(request, pk, decision_pk):
    def act(meeting, data):
        wish = services.decision_post_wish(
            decision=_decision_of(meeting, decision_pk),
            actor=request.user,
            title=data["title"],
            for_name=data["for_name"],
            for_phone=data["for_phone"],
        )
        messages.info(request, _("Micro-wish #%(pk)s posted.") % {"pk": wish.pk})

    return _act(request, pk, forms.DecisionWishForm, act, done=_("Decision carried out."))


@login_required
@require_POST
def decision_proposal(request, pk, decision_pk):
    def act(meeting, data):
        proposal = services.decision_draft_proposal(
            decision=_decision_of(meeting, decision_pk),
            actor=request.user,
            title=data["title"],
            kind=data["kind"],
        )
        messages.info(request, _("Proposal #%(pk)s drafted.") % {"pk": proposal.pk})

    return _act(request, pk, forms.DecisionProposalForm, act, done=_("Decision carried out."))

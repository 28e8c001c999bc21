"""The workers' pages for proposals (/proposals/): thin views over ``deliberation.selectors``
(every read scoped) and ``deliberation.services`` (every write)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.keyset import keyset_page, page_size
from deliberation import rules, selectors, services
from deliberation.files import attachment_response, progress_photo_response
from deliberation.forms import (
    AttachmentForm,
    CostSplitForm,
    PaperBallotForm,
    ProgressForm,
    ProposalFilterForm,
    ProposalForm,
)
from deliberation.models import Ballot, PaperBallot, Proposal, RollEntry
from grids.access import scope_for
from grids.selectors import area_labels, area_subtree_q, filter_area_for_user, set_places

S = Proposal.State
DETAIL = "deliberation/proposal_detail.html"


def _require_any(user, action: str) -> None:
    if not rules.user_may(user, action):
        raise PermissionDenied


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _back(proposal):
    return redirect("deliberation:proposal_detail", pk=proposal.pk)


@login_required
@require_safe
def proposal_list(request):
    _require_any(request.user, rules.VIEW)
    form = ProposalFilterForm(request.GET or None)
    proposals = selectors.proposals_visible_to(request.user)
    if form.is_valid():
        data = form.cleaned_data
        if code := data["area"].strip():
            area = filter_area_for_user(request.user, code, form)
            if area is None:
                proposals = proposals.none()
            else:
                form.area_label = area_labels([area], user=request.user)[area.pk]
                proposals = proposals.filter(area_subtree_q(area, "area__"))
        if data["state"]:
            proposals = proposals.filter(state=data["state"])
    number = request.GET.get("page", "")
    page = keyset_page(
        selectors.with_turnout(proposals.select_related("area", "result")),
        order="-created_at",
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        size=page_size(request.GET.get("size")),
        number=int(number) if number.isdigit() else None,
    )
    set_places(page.object_list, user=request.user)
    return render(
        request,
        "deliberation/proposal_list.html",
        {
            "form": form,
            "page": page,
            "query": urlencode({k: v for k, v in request.GET.items() if k in ("area", "state")}),
            "may_create": rules.user_may(request.user, rules.MANAGE),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def proposal_create(request):
    _require_any(request.user, rules.MANAGE)
    form = ProposalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        area = filter_area_for_user(request.user, data["area"].strip(), form)
        if area is not None:
            form.area_label = area_labels([area], user=request.user)[area.pk]
            try:
                proposal = services.proposal_create(
                    area=area,
                    actor=request.user,
                    **{k: v for k, v in data.items() if k != "area"},
                )
            except PermissionDenied:
                form.add_error("area", _("you do not run proposals at this place"))
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Draft saved."))
                return _back(proposal)
    return render(request, "deliberation/proposal_form.html", {"form": form, "proposal": None})


@login_required
@require_http_methods(["GET", "POST"])
def proposal_edit(request, pk):
    proposal = selectors.get_proposal_for_user(request.user, pk, rules.MANAGE)
    if proposal.state not in (S.DRAFT, S.DISCUSSION):
        raise PermissionDenied
    initial = {name: getattr(proposal, name) for name in services.EDITABLE}
    initial["voting_closes_at"] = timezone.localtime(proposal.voting_closes_at)
    form = ProposalForm(
        request.POST or None,
        initial=initial,
        editing=True,
        threshold_locked=proposal.state != S.DRAFT,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.proposal_update(proposal=proposal, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Proposal saved."))
            return _back(proposal)
    set_places([proposal], user=request.user)
    return render(request, "deliberation/proposal_form.html", {"form": form, "proposal": proposal})


@login_required
@require_safe
def proposal_detail(request, pk):
    proposal = selectors.get_proposal_for_user(request.user, pk, rules.VIEW)
    proposal = services.proposal_close_if_due(proposal=proposal)
    return render(request, DETAIL, _detail_context(request, proposal))


def _detail_context(request, proposal: Proposal, **extra) -> dict:
    user = request.user
    role = scope_for(user).role_for(proposal.area)
    may_manage = rules.role_may(role, rules.MANAGE)
    may_paper = rules.role_may(role, rules.PAPER) and proposal.state == S.VOTING
    set_places([proposal], user=user)
    roll = RollEntry.objects.filter(proposal=proposal)
    context = {
        "proposal": proposal,
        "events": proposal.events.select_related("actor"),
        "attachments": proposal.attachments.all(),
        "result": getattr(proposal, "result", None) if proposal.state == S.CLOSED else None,
        "cost_shares": proposal.cost_shares.all(),
        "progress": proposal.progress.all(),
        "may_manage": may_manage,
        "may_paper": may_paper,
        "now": timezone.now(),
    }
    if proposal.state == S.VOTING:
        context["eligible"] = roll.count()
        context["voted"] = roll.filter(voted=True).count()
    if may_paper:
        pending = list(
            PaperBallot.objects.filter(proposal=proposal, status=PaperBallot.Status.PENDING)
            .select_related("household__area", "recorded_by__person")
            .order_by("recorded_at", "pk")
        )
        set_places([p.household for p in pending], user=user)
        context["pending"] = pending
        blocked = {p.household_id for p in pending}
        waiting = [
            e.household
            for e in roll.filter(voted=False).select_related("household__area").order_by("pk")
            if e.household_id not in blocked
        ]
        set_places(waiting, user=user)
        context["paper_form"] = extra.pop(
            "paper_form",
            PaperBallotForm(households=[(h.pk, f"{h.place} {h.door}") for h in waiting]),
        )
    if may_manage and proposal.state in (S.DRAFT, S.DISCUSSION):
        context["attachment_form"] = extra.pop("attachment_form", AttachmentForm())
    if may_manage and proposal.outcome == Proposal.Outcome.PASSED:
        current = {s.source: s.percent for s in context["cost_shares"]}
        context["cost_form"] = extra.pop("cost_form", CostSplitForm(current=current))
        context["progress_form"] = extra.pop(
            "progress_form", ProgressForm(initial={"on": timezone.localdate()})
        )
    context.update(extra)
    return context


@login_required
@require_POST
def proposal_step(request, pk):
    proposal = selectors.get_proposal_for_user(request.user, pk, rules.MANAGE)
    to = request.POST.get("to", "")
    if to not in (S.DISCUSSION, S.VOTING):
        raise Http404
    try:
        services.proposal_transition(proposal=proposal, to=to, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Discussion opened.") if to == S.DISCUSSION else _("Voting opened.")
        )
    return _back(proposal)


@login_required
@require_POST
def attachment_add(request, pk):
    proposal = selectors.get_proposal_for_user(request.user, pk, rules.MANAGE)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.proposal_attach(
                proposal=proposal,
                upload=form.cleaned_data["file"],
                title=form.cleaned_data["title"],
                actor=request.user,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Attachment added."))
            return _back(proposal)
    return render(
        request, DETAIL, _detail_context(request, proposal, attachment_form=form), status=400
    )


@login_required
@require_safe
def attachment_file(request, pk, attachment_pk):
    proposal = selectors.get_proposal_for_user(request.user, pk, rules.VIEW)
    attachment = proposal.attachments.filter(pk=attachment_pk).first()
    if attachment is None:
        raise Http404
    return attachment_response(attachment)


@login_required
@require_safe
def progress_photo(request, pk, note_pk):
    proposal = selectors.get_proposal_for_user(request.user, pk, rules.VIEW)
    note = proposal.progress.filter(pk=note_pk).first()
    if note is None:
        raise Http404
    return progress_photo_response(note)


@login_required
@require_POST
def paper_record(request, pk):
    proposal = selectors.get_proposal_for_user(request.user, pk, rules.PAPER)
    household_id = request.POST.get("household", "")
    entry = (
        RollEntry.objects.filter(proposal=proposal, household_id=household_id)
        .select_related("household")
        .first()
        if household_id.isdigit()
        else None
    )
    choice = request.POST.get("choice", "")
    if entry is None or choice not in Ballot.Choice.values:
        messages.error(request, _("Choose a household of the roll and the choice on its ballot."))
        return _back(proposal)
    try:
        services.paper_ballot_record(
            proposal=proposal, household=entry.household, choice=choice, actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Paper ballot recorded: it counts once a second worker confirms it.")
        )
    return _back(proposal)


@login_required
@require_POST
def paper_decide(request, pk, paper_pk, decision):
    if decision not in ("confirm", "reject"):
        raise Http404
    proposal = selectors.get_proposal_for_user(request.user, pk, rules.PAPER)
    paper = selectors.get_paper_for_user(request.user, proposal, paper_pk)
    try:
        if decision == "confirm":
            code = services.paper_ballot_confirm(paper=paper, actor=request.user)
        else:
            services.paper_ballot_reject(paper=paper, actor=request.user)
            code = None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(proposal)
    if code is None:
        messages.success(request, _("Paper ballot rejected: the household may vote again."))
        return _back(proposal)
    # The receipt code is shown once, on this answer, and stored nowhere but as its hash.
    proposal.refresh_from_db()
    response = render(
        request,
        "deliberation/paper_receipt.html",
        {"proposal": proposal, "receipt": services.receipt_format(code)},
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def cost_split(request, pk):
    proposal = selectors.get_proposal_for_user(request.user, pk, rules.MANAGE)
    form = CostSplitForm(request.POST)
    if form.is_valid():
        try:
            services.proposal_cost_split_set(
                proposal=proposal, shares=form.shares(), actor=request.user
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Cost split saved."))
            return _back(proposal)
    return render(request, DETAIL, _detail_context(request, proposal, cost_form=form), status=400)


@login_required
@require_POST
def progress_add(request, pk):
    proposal = selectors.get_proposal_for_user(request.user, pk, rules.MANAGE)
    form = ProgressForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.proposal_progress_add(
                proposal=proposal,
                on=data["on"],
                text=data["text"],
                photo=data["photo"],
                actor=request.user,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Progress noted."))
            return _back(proposal)
    return render(
        request, DETAIL, _detail_context(request, proposal, progress_form=form), status=400
    )

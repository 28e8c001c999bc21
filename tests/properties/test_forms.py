"""Every form of the portal, posted random and hostile input to the view that uses it, as a
user who may use that view: never a server error or an exception; refused, no row changed
anywhere; accepted, every row written passes ``full_clean``.

The forms are found by walking the subclasses of Django's form classes defined in the
project's modules: a new form that no target below covers fails ``test_every_form_has_a_target``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django import forms
from django.core.cache import cache
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from . import engine
from .world import Things

EXAMPLES = int(os.environ.get("PROPERTIES_EXAMPLES", "12"))

FORM_MODULES = (
    "citizens.forms",
    "citizens.wishes",
    "councils.forms",
    "deliberation.forms",
    "digests.forms",
    "issues.forms",
    "issues.admin",
    "points.forms",
    "residents.forms",
    "wishes.forms",
    "grids.admin",
    "core.admin_spreadsheets",
    "portal.auth",
)
# Bases and forms posted elsewhere: the spreadsheet import forms go through the preview and
# confirm flow of tests/properties/test_imports.py.
NOT_HERE = {
    "core.forms.Form": "the base of every portal form",
    "grids.admin.ImportForm": "tests/properties/test_imports.py",
    "grids.admin.HeadsImportForm": "tests/properties/test_imports.py",
    "core.admin_spreadsheets.LimitedImportForm": "tests/properties/test_imports.py",
    "wishes.forms.WishForm": "the base of WorkerWishForm and ResidentWishForm, posted below",
}


def project_forms() -> set[str]:
    for module in FORM_MODULES:
        importlib.import_module(module)
    found, todo = set(), [forms.BaseForm]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in engine.PROJECT_APPS[:-1]:
            found.add(f"{cls.__module__}.{cls.__qualname__}")
    return found


# --- targets -----------------------------------------------------------------------------


@dataclass
class Target:
    """One form as one view uses it: who posts, where, the form instance the view builds (for
    its fields and choices), the prefix of its fields, plausible values of some fields."""

    form: str
    persona: str | None
    url: Callable[[Things], str]
    make: Callable[[Things], forms.BaseForm] | None = None
    prefix: str = ""
    method: str = "post"
    good: Callable[[Things], dict] = lambda w: {}
    allowed: tuple = ()
    resident: str | None = None  # "account" or "fresh_account": signed in on /r/
    label: str = ""
    files: bool = field(default=False)
    prepare: Callable | None = None  # (client, things) -> None, after signing in

    @property
    def name(self) -> str:
        return self.label or self.form.rsplit(".", 1)[-1]


def cls(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def codes(w: Things, *keys):
    areas = [getattr(w, key) for key in keys]
    return st.sampled_from([a.code for a in areas] + w.codes())


def ids(*values):
    return st.sampled_from([str(v) for v in values])


def _ticket_target(action: str, form: str, w_ticket: Callable, persona: str, **extra):
    from issues.views import _action_form

    def make(w):
        ticket = w_ticket(w)
        return _action_form(action, w.t.user(persona), ticket, None, list(ticket.tasks.all()))

    return Target(
        form=form,
        persona=persona,
        url=lambda w: reverse("issues:ticket_act", args=[w_ticket(w).pk, action]),
        make=make,
        prefix=action,
        label=f"{form.rsplit('.', 1)[-1]}[{action}]",
        **extra,
    )


def _reward_communities(w):
    from points import permissions as perm
    from points import selectors

    return list(selectors.communities_visible_to(w.t.user("community"), perm.BANK))


def _meeting_people(w, meeting):
    from councils import selectors

    return selectors.attendance_candidates(meeting)


def _agenda_form(w):
    from councils import forms as f
    from councils import selectors

    user, meeting = w.t.user("building_head"), w.planned
    return f.AgendaForm(
        problems=selectors.open_problems(user, meeting),
        wishes=selectors.open_wishes(user, meeting),
        proposals=selectors.open_proposals(user, meeting),
        people=selectors.attendance_candidates(meeting),
    )


def _reset_code_session(client, w):
    from portal.auth import RESET_PHONE

    session = client.session
    session[RESET_PHONE] = w.persons["community"].phone
    session.save()


def _reset_link_opened(client, w):
    """Open the mailed link: the view keeps its token in the session and sends the browser
    on to the form's address, where the examples post."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = w.t.user("community")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    response = client.get(reverse("password_reset_confirm", args=[uid, token]))
    assert response.status_code == 302, response.status_code


def _reset_form_url(w):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(w.t.users["community"].pk))
    return reverse("password_reset_confirm", args=[uid, "set-password"])


TARGETS: list[Target] = [
    # residents
    Target(
        "residents.forms.ResidentFilterForm",
        "community",
        lambda w: reverse("residents:resident_list"),
        method="get",
        good=lambda w: {"area": codes(w, "community_a", "g1")},
    ),
    Target(
        "residents.forms.HouseholdFilterForm",
        "grid_head",
        lambda w: reverse("residents:household_list"),
        method="get",
        good=lambda w: {"area": codes(w, "g1")},
    ),
    Target(
        "residents.forms.ResidentEditForm",
        "community",
        lambda w: reverse("residents:resident_edit", args=[w.residents["U1"].pk]),
    ),
    Target(
        "residents.forms.HouseholdEditForm",
        "community",
        lambda w: reverse("residents:household_edit", args=[w.households["U1"].pk]),
    ),
    Target(
        "residents.forms.VisitForm",
        "grid_head",
        lambda w: reverse("residents:visit_create", args=[w.households["U1"].pk]),
    ),
    Target(
        "residents.forms.CoverageForm",
        "community",
        lambda w: reverse("residents:coverage"),
        method="get",
    ),
    # problems
    Target(
        "issues.forms.InboxFilterForm",
        "community",
        lambda w: reverse("issues:inbox"),
        method="get",
        good=lambda w: {"area": codes(w, "community_a")},
    ),
    Target(
        "issues.forms.ReportForm",
        "grid_head",
        lambda w: reverse("issues:report"),
        make=lambda w: cls("issues.forms.ReportForm")(tiers=None),
        good=lambda w: {
            "area": codes(w, "u1", "g1", "u4"),
            "category": ids(w.repair.pk, w.leak.pk, w.noise.pk),
            "resident": ids(*(r.pk for r in w.residents.values())),
            "visit": ids(w.visit().pk),
        },
        files=True,
    ),
    Target(
        "issues.forms.MeetingForm",
        "county",
        lambda w: reverse("issues:meeting_list"),
        make=lambda w: cls("issues.forms.MeetingForm")(counties=[w.county]),
    ),
    _ticket_target(
        "assign", "issues.forms.AssignForm", lambda w: w.ticket("reported"), "grid_head"
    ),
    _ticket_target(
        "decline", "issues.forms.DeclineForm", lambda w: w.ticket("reported"), "grid_head"
    ),
    _ticket_target("merge", "issues.forms.MergeForm", lambda w: w.ticket("reported"), "grid_head"),
    _ticket_target(
        "accept", "issues.forms.OptionalNoteForm", lambda w: w.ticket("assigned"), "unit_head"
    ),
    _ticket_target(
        "remind", "issues.forms.OptionalNoteForm", lambda w: w.ticket("assigned"), "grid_head"
    ),
    _ticket_target(
        "progress", "issues.forms.NoteForm", lambda w: w.ticket("in_progress"), "unit_head"
    ),
    _ticket_target(
        "escalate", "issues.forms.EscalateForm", lambda w: w.ticket("assigned"), "unit_head"
    ),
    _ticket_target(
        "resolve", "issues.forms.ResolveForm", lambda w: w.ticket("in_progress"), "unit_head"
    ),
    _ticket_target("rate", "issues.forms.RateForm", lambda w: w.ticket("resolved"), "community"),
    _ticket_target(
        "return_visit", "issues.forms.ReturnVisitForm", lambda w: w.ticket("closed"), "community"
    ),
    _ticket_target(
        "meeting", "issues.forms.MeetingAssignForm", lambda w: w.escalated_hard_only, "county"
    ),
    _ticket_target(
        "department_report",
        "issues.forms.DepartmentReportForm",
        lambda w: w.hard,
        "department",
    ),
    _ticket_target("review", "issues.forms.ReviewForm", lambda w: w.hard_reported, "county"),
    _ticket_target("send_back", "issues.forms.SendBackForm", lambda w: w.hard_reported, "county"),
    Target(
        "issues.forms.ReturnVisitLogForm",
        "community",
        lambda w: reverse(
            "issues:return_visit_log", args=[w.return_visit.ticket_id, w.return_visit.pk]
        ),
        prefix="",
        make=lambda w: cls("issues.forms.ReturnVisitLogForm")(prefix=f"log{w.return_visit.pk}"),
    ),
    # points
    Target(
        "points.forms.RankingFilterForm",
        "community",
        lambda w: reverse("points:index"),
        method="get",
        good=lambda w: {"area": codes(w, "community_a")},
    ),
    Target(
        "points.forms.AdjustForm",
        "admin",
        lambda w: reverse("points:adjust", args=[w.resident_person.pk]),
    ),
    Target(
        "points.forms.GoodDeedForm",
        "community",
        lambda w: reverse("points:deed", args=[w.resident_person.pk]),
    ),
    Target(
        "points.forms.NewSaverForm",
        "community",
        lambda w: reverse("points:deed_new"),
        good=lambda w: {"phone": ids(w.residents["U1"].phone, w.residents["U4"].phone)},
    ),
    Target(
        "points.forms.RedeemForm",
        "community",
        lambda w: reverse("points:redeem", args=[w.resident_person.pk]),
        make=lambda w: cls("points.forms.RedeemForm")(items=[w.reward_item]),
    ),
    Target(
        "points.forms.RewardItemForm",
        "community",
        lambda w: reverse("points:item_add"),
        make=lambda w: cls("points.forms.RewardItemForm")(communities=_reward_communities(w)),
    ),
    Target(
        "points.forms.StockForm",
        "community",
        lambda w: reverse("points:item_update", args=[w.reward_item.pk]),
    ),
    # wishes
    Target(
        "wishes.forms.ListFilterForm",
        "community",
        lambda w: reverse("wishes:list"),
        method="get",
        good=lambda w: {"area": codes(w, "community_a")},
    ),
    Target(
        "wishes.forms.WorkerWishForm",
        "community",
        lambda w: reverse("wishes:new"),
        good=lambda w: {"area": codes(w, "u1", "u4")},
        files=True,
    ),
    Target(
        "wishes.forms.SortForm",
        "community",
        lambda w: reverse("wishes:sort", args=[w.wish.pk]),
        make=lambda w: __import__("wishes.views", fromlist=["_sort_form"])._sort_form(
            w.t.user("community"), w.wish, None
        ),
    ),
    Target(
        "wishes.forms.HandBackForm",
        "member",
        lambda w: reverse("wishes:near_act", args=[w.claimed_wish.pk, "hand-back"]),
        make=lambda w: cls("wishes.forms.HandBackForm")(prefix=f"back{w.claimed_wish.pk}"),
    ),
    Target(
        "wishes.forms.FulfilForm",
        "member",
        lambda w: reverse("wishes:near_act", args=[w.claimed_wish_for_sorting.pk, "fulfil"]),
        make=lambda w: cls("wishes.forms.FulfilForm")(
            prefix=f"done{w.claimed_wish_for_sorting.pk}"
        ),
        files=True,
    ),
    # proposals
    Target(
        "deliberation.forms.ProposalFilterForm",
        "community",
        lambda w: reverse("deliberation:proposal_list"),
        method="get",
        good=lambda w: {"area": codes(w, "community_a")},
    ),
    Target(
        "deliberation.forms.ProposalForm",
        "community",
        lambda w: reverse("deliberation:proposal_create"),
        good=lambda w: {"area": codes(w, "community_a", "community_b", "u1")},
        label="ProposalForm[new]",
    ),
    Target(
        "deliberation.forms.ProposalForm",
        "community",
        lambda w: reverse("deliberation:proposal_edit", args=[w.proposal("draft").pk]),
        good=lambda w: {"area": codes(w, "community_a", "community_b", "u1")},
        label="ProposalForm[edit]",
    ),
    Target(
        "deliberation.forms.AttachmentForm",
        "community",
        lambda w: reverse("deliberation:attachment_add", args=[w.proposal("draft").pk]),
        files=True,
    ),
    Target(
        "deliberation.forms.PaperBallotForm",
        "community",
        lambda w: reverse("deliberation:paper_record", args=[w.proposal("voting").pk]),
        make=lambda w: cls("deliberation.forms.PaperBallotForm")(
            households=[(h.pk, h.door) for h in w.households.values()]
        ),
    ),
    Target(
        "deliberation.forms.CostSplitForm",
        "community",
        lambda w: reverse("deliberation:cost_split", args=[w.proposal("draft").pk]),
    ),
    Target(
        "deliberation.forms.ProgressForm",
        "community",
        lambda w: reverse("deliberation:progress_add", args=[w.proposal("draft").pk]),
        files=True,
    ),
    # regular meetings
    Target(
        "councils.forms.RhythmFilterForm",
        "community",
        lambda w: reverse("councils:rhythm"),
        method="get",
        good=lambda w: {"area": codes(w, "community_a")},
    ),
    Target(
        "councils.forms.PlanForm",
        "building_head",
        lambda w: reverse("councils:plan"),
        good=lambda w: {"area": codes(w, "b1", "b3", "u1")},
    ),
    Target(
        "councils.forms.AgendaForm",
        "building_head",
        lambda w: reverse("councils:agenda_add", args=[w.planned.pk]),
        make=_agenda_form,
    ),
    Target(
        "councils.forms.HoldForm",
        "building_head",
        lambda w: reverse("councils:hold", args=[w.planned.pk]),
        make=lambda w: cls("councils.forms.HoldForm")(people=_meeting_people(w, w.planned)),
    ),
    Target(
        "councils.forms.CancelForm",
        "building_head",
        lambda w: reverse("councils:cancel", args=[w.planned.pk]),
    ),
    Target(
        "councils.forms.AttendeeAddForm",
        "building_head",
        lambda w: reverse("councils:attendee_add", args=[w.held.pk]),
        make=lambda w: cls("councils.forms.AttendeeAddForm")(people=_meeting_people(w, w.held)),
    ),
    Target(
        "councils.forms.AttendeeRemoveForm",
        "building_head",
        lambda w: reverse("councils:attendee_remove", args=[w.held.pk]),
        good=lambda w: {"person": ids(*(p.pk for p in w.persons.values()))},
    ),
    Target(
        "councils.forms.CorrectionForm",
        "building_head",
        lambda w: reverse("councils:correct", args=[w.held.pk]),
    ),
    Target(
        "councils.forms.DecisionForm",
        "building_head",
        lambda w: reverse("councils:decide", args=[w.held.pk]),
    ),
    Target(
        "councils.forms.DecisionProblemForm",
        "building_head",
        lambda w: reverse("councils:decision_problem", args=[w.held.pk, w.decision.pk]),
        good=lambda w: {"category": ids(w.repair.pk, w.noise.pk)},
    ),
    Target(
        "councils.forms.DecisionWishForm",
        "building_head",
        lambda w: reverse("councils:decision_wish", args=[w.held.pk, w.decision.pk]),
    ),
    Target(
        "councils.forms.DecisionProposalForm",
        "building_head",
        lambda w: reverse("councils:decision_proposal", args=[w.held.pk, w.decision.pk]),
    ),
    # digests
    Target(
        "digests.forms.DigestFilterForm",
        "community",
        lambda w: reverse("digests:digest_list"),
        method="get",
        make=lambda w: cls("digests.forms.DigestFilterForm")(areas=[w.community_a]),
    ),
    # the resident pages
    Target(
        "citizens.forms.PhoneForm",
        None,
        lambda w: reverse("citizens:sign_in"),
        good=lambda w: {"phone": ids(w.residents["U1"].phone, "13912345678")},
        allowed=("core_textmessage", "residents_residentaccount", "residents_signincode"),
    ),
    Target(
        "citizens.forms.CodeForm",
        None,
        lambda w: reverse("citizens:sign_in_code"),
        allowed=("residents_signincode",),
    ),
    Target(
        "citizens.forms.PrivacyForm",
        None,
        lambda w: reverse("citizens:privacy"),
        resident="fresh_account",
    ),
    Target(
        "citizens.forms.ResidentReportForm",
        None,
        lambda w: reverse("citizens:report"),
        resident="account",
        good=lambda w: {
            "category": ids(w.repair.pk, w.noise.pk),
            "place": ids(w.u1.pk, w.u4.pk, w.g1.pk),
        },
        files=True,
    ),
    Target(
        "citizens.forms.ResidentRateForm",
        None,
        lambda w: reverse("citizens:problem_rate", args=[w.resident_ticket.pk]),
        resident="account",
        prefix="rate",
    ),
    Target(
        "citizens.wishes.ResidentWishForm",
        None,
        lambda w: reverse("citizens:wish_new"),
        resident="account",
        good=lambda w: {"place": ids(w.u1.pk, w.u4.pk)},
        files=True,
    ),
    Target(
        "deliberation.forms.VoteForm",
        None,
        lambda w: reverse("citizens:proposal_vote", args=[w.proposal("voting").pk]),
        resident="account",
    ),
    Target(
        "deliberation.forms.ReceiptForm",
        None,
        lambda w: reverse("citizens:proposal_receipt"),
        resident="account",
    ),
    # sign-in and passwords
    Target(
        "portal.auth.LoginForm",
        None,
        lambda w: reverse("login"),
        make=lambda w: cls("portal.auth.LoginForm")(),
        good=lambda w: {"username": ids("community", "admin", "nobody")},
        allowed=("portal_", "core_loginattempt", "auth_user"),
    ),
    Target(
        "portal.auth.PortalPasswordChangeForm",
        "community",
        lambda w: reverse("password_change"),
        make=lambda w: cls("portal.auth.PortalPasswordChangeForm")(w.t.user("community")),
    ),
    Target(
        "portal.auth.PasswordResetRequestForm",
        None,
        lambda w: reverse("password_reset"),
        allowed=("core_textmessage", "grids_", "portal_"),
    ),
    Target(
        "portal.auth.PasswordResetCodeForm",
        None,
        lambda w: reverse("password_reset_code"),
        make=lambda w: cls("portal.auth.PasswordResetCodeForm")(w.t.user("community")),
        prepare=_reset_code_session,
        allowed=("core_textmessage", "grids_", "portal_"),
    ),
    Target(
        "portal.auth.PasswordResetConfirmView.form_class",
        None,
        _reset_form_url,
        make=lambda w: cls("portal.auth.PasswordResetConfirmView").form_class(
            w.t.user("community")
        ),
        prepare=_reset_link_opened,
        label="PasswordResetConfirmForm",
    ),
    # the admin's own forms
    Target(
        "grids.admin.AreaForm",
        "admin",
        lambda w: reverse("admin:grids_area_add"),
        make=lambda w: cls("grids.admin.AreaForm")(),
        good=lambda w: {"parent": ids(w.g1.pk, w.community_a.pk), "kind": ids("building")},
    ),
    Target(
        "grids.admin.PostForm",
        "admin",
        lambda w: reverse("admin:grids_post_add"),
        make=lambda w: cls("grids.admin.PostForm")(),
        good=lambda w: {
            "area": ids(w.u2.pk, w.g2.pk),
            "person": ids(*(p.pk for p in w.persons.values())),
        },
    ),
    Target(
        "grids.admin.PartyOrgForm",
        "admin",
        lambda w: reverse("admin:grids_partyorg_add"),
        make=lambda w: cls("grids.admin.PartyOrgForm")(),
        good=lambda w: {"area": ids(w.community_a.pk, w.g1.pk)},
    ),
    Target(
        "issues.admin.ApiKeyForm",
        "admin",
        lambda w: reverse("admin:issues_apikey_add"),
        make=lambda w: cls("issues.admin.ApiKeyForm")(),
    ),
    Target(
        "issues.admin.NotificationChannelsForm",
        "admin",
        lambda w: reverse("admin:issues_notificationchannels_add"),
        make=lambda w: cls("issues.admin.NotificationChannelsForm")(),
    ),
]


def test_every_form_has_a_target():
    covered = {target.form for target in TARGETS} | set(NOT_HERE)
    missing = sorted(project_forms() - covered)
    assert not missing, f"forms no property test posts to: {missing}"


# --- the run -----------------------------------------------------------------------------


def _sign_in(client, w: Things, target: Target):
    client.cookies.clear()
    if target.persona == "member":
        client.force_login(w.wishing.member_user)
    elif target.persona is not None:
        client.force_login(w.t.user(target.persona))
    if target.resident:
        from tests.citizens.conftest import as_resident

        as_resident(client, getattr(w, target.resident))
    if target.prepare:
        target.prepare(client, w)


@pytest.fixture
def things(world, settings, tmp_path):
    from tests.issues.conftest import Ticketing

    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Things(Ticketing(world))


@pytest.mark.parametrize("target", TARGETS, ids=lambda target: target.name)
def test_hostile_input_to_every_form(target: Target, things, client, django_db_blocker):
    w = things
    url = target.url(w)
    instance = target.make(w) if target.make else cls(target.form)()
    fields = dict(instance.fields)
    prefix = target.prefix or (instance.prefix or "")
    good = target.good(w)
    every_id = w.ids()
    if target.resident:
        getattr(w, target.resident)  # made before the examples, which roll back what they write
    if target.persona == "member":
        assert w.wishing.member_user
    reached = []

    @hsettings(engine.HYPOTHESIS, max_examples=EXAMPLES)
    @given(data=engine.form_data(fields, prefix=prefix, good=good, ids=every_id))
    def example(data):
        with engine.rolled_back():
            cache.clear()
            _sign_in(client, w, target)
            before = engine.snapshot()
            if target.method == "get":
                data = {k: v for k, v in data.items() if not hasattr(v, "read")}
                response = client.get(url, data)
            else:
                response = client.post(url, data)
            reached.append(response.status_code)
            engine.check_answer("forms", target.name, response, before, allowed=target.allowed)

    example()
    assert any(code not in (403, 404, 405) for code in reached), (
        f"{target.name}: the view never let the user in ({sorted(set(reached))})"
    )

"""The state machine: every legal move through the services, every illegal pair refused by
``ticket_step``, and who may do what at each state."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from issues import permissions as perm
from issues import services
from issues.models import Level, Ticket, TicketEvent
from issues.rules import MOVES, SYSTEM, SYSTEM_STEPS, TRANSITIONS, next_state
from issues.services import Part, TicketError

from .helpers import events, ticket_in

S = Ticket.State
E = TicketEvent.Kind
STATES = list(S.values)
LEGAL_PAIRS = {(old, new) for old, targets in TRANSITIONS.items() for new in targets}
ILLEGAL_PAIRS = sorted(
    (old, new) for old in STATES for new in STATES if (old, new) not in LEGAL_PAIRS
)


# --- every legal move, through the service that makes it ------------------------------------
#
# (from, to): (persona, service call, events appended in order, note of the move's event)

LEGAL_MOVES = {
    (S.REPORTED, S.ASSIGNED): (
        "grid_head",
        lambda tk, u: services.ticket_assign(ticket=tk, tier="simple", actor=u, note="单元长处理"),
        [E.ASSIGN],
        "单元长处理",
    ),
    (S.ASSIGNED, S.ASSIGNED): (
        "unit_head",
        lambda tk, u: services.ticket_escalate(ticket=tk, actor=u, note="需要楼栋长协调"),
        [E.ESCALATE],
        "需要楼栋长协调",
    ),
    (S.ASSIGNED, S.IN_PROGRESS): (
        "unit_head",
        lambda tk, u: services.ticket_accept(ticket=tk, actor=u),
        [E.ACCEPT],
        "",
    ),
    (S.ASSIGNED, S.RESOLVED): (
        "unit_head",
        lambda tk, u: services.ticket_resolve(ticket=tk, actor=u, feedback="当天换好了灯泡"),
        [E.RESOLVE],
        "当天换好了灯泡",
    ),
    (S.IN_PROGRESS, S.ASSIGNED): (
        "building_head",
        lambda tk, u: services.ticket_escalate(ticket=tk, actor=u, note="单元长处理不了"),
        [E.ESCALATE],
        "单元长处理不了",
    ),
    (S.IN_PROGRESS, S.IN_PROGRESS): (
        "unit_head",
        lambda tk, u: services.ticket_progress(ticket=tk, actor=u, note="已联系物业"),
        [E.PROGRESS],
        "已联系物业",
    ),
    (S.IN_PROGRESS, S.RESOLVED): (
        "unit_head",
        lambda tk, u: services.ticket_resolve(ticket=tk, actor=u, feedback="物业已修好"),
        [E.RESOLVE],
        "物业已修好",
    ),
    (S.RESOLVED, S.IN_PROGRESS): (
        "community",
        lambda tk, u: services.ticket_rate(
            ticket=tk, actor=u, rating="unsatisfied", comment="灯还是不亮"
        ),
        [E.RATE, E.REOPEN],
        "灯还是不亮",
    ),
    (S.RESOLVED, S.CLOSED): (
        "community",
        lambda tk, u: services.ticket_rate(ticket=tk, actor=u, rating="satisfied"),
        [E.RATE, E.CLOSE],
        "",
    ),
    # (merging, the other way to declined, is test_triage's)
    (S.REPORTED, S.DECLINED): (
        "grid_head",
        lambda tk, u: services.ticket_decline(
            ticket=tk, actor=u, reason="outside_area", note="请向隔壁社区反映"
        ),
        [E.DECLINE],
        lambda: f"{Ticket.DeclineReason.OUTSIDE_AREA.label}: 请向隔壁社区反映",
    ),
}


def test_the_legal_moves_cover_the_table():
    assert set(LEGAL_MOVES) == LEGAL_PAIRS
    assert len(ILLEGAL_PAIRS) == len(STATES) ** 2 - len(LEGAL_PAIRS) == 26


@pytest.mark.parametrize(("old", "new"), sorted(LEGAL_MOVES))
def test_a_legal_move_succeeds_and_appends_its_event(t, old, new):
    persona, move, kinds, note = LEGAL_MOVES[(old, new)]
    ticket = ticket_in(t, old)
    actor = t.user(persona)
    before_version, before_events = ticket.version, len(events(ticket))
    before = timezone.now()

    move(ticket, actor)

    after = timezone.now()
    ticket.refresh_from_db()
    assert ticket.state == new
    assert ticket.version == before_version + 1
    appended = events(ticket)[before_events:]
    assert [e.kind for e in appended] == kinds
    step = appended[-1]
    assert (step.old_state, step.new_state) == (old, new)
    assert step.actor == actor
    assert before <= step.at <= after
    assert step.note == (note() if callable(note) else note)
    assert step.level == ticket.level and step.handler_area_id == ticket.handler_area_id


def test_reporting_appends_the_first_event(t):
    ticket = t.report(actor=t.user("grid_head"), channel=Ticket.Channel.HOTLINE)
    (first,) = events(ticket)
    assert (first.kind, first.new_state) == (E.REPORT, S.REPORTED)
    assert first.actor == t.users["grid_head"]
    assert str(Ticket.Channel.HOTLINE.label) in first.text
    assert ticket.version == 1


def test_the_report_event_starts_from_no_state(t):
    (first,) = events(t.report())
    assert first.old_state == ""


# --- every illegal pair, straight through ticket_step ---------------------------------------


@pytest.mark.parametrize(("old", "new"), ILLEGAL_PAIRS)
def test_an_illegal_pair_is_refused_and_changes_nothing(t, old, new):
    """No step of the table takes ``old`` to ``new``. Asked of the one write path by the
    system (no permission check: the table alone must refuse), every step that leads to
    ``new`` is refused with a message naming the state and the step."""
    ticket = ticket_in(t, old)
    version, count = ticket.version, len(events(ticket))
    leading_there = [step for step, (_froms, to) in MOVES.items() if to == new]
    assert all(next_state(old, step) is None for step in leading_there)

    for step in [s for s in leading_there if s in SYSTEM_STEPS]:
        with pytest.raises(TicketError) as refused:
            services.ticket_step(ticket=ticket, step=step, actor=SYSTEM, note="试一试")
        message = refused.value.messages[0]
        assert str(S(old).label) in message and str(E(step).label) in message

    assert ticket.state == old and ticket.version == version  # the caller's object too
    ticket.refresh_from_db()
    assert ticket.state == old and ticket.version == version
    assert len(events(ticket)) == count


# --- illegal moves asked of the services ----------------------------------------------------


def _rate(tk, u):
    return services.ticket_rate(ticket=tk, actor=u, rating="satisfied")


def _resolve(tk, u):
    return services.ticket_resolve(ticket=tk, actor=u, feedback="再解决一次")


def _accept(tk, u):
    return services.ticket_accept(ticket=tk, actor=u)


def _progress(tk, u):
    return services.ticket_progress(ticket=tk, actor=u, note="再处理一下")


def _assign(tk, u):
    return services.ticket_assign(ticket=tk, tier="complex", actor=u)


def _escalate(tk, u):
    return services.ticket_escalate(ticket=tk, actor=u)


ILLEGAL_SERVICE_MOVES = [
    ("rate a reported one", S.REPORTED, _rate),
    ("resolve a closed one", S.CLOSED, _resolve),
    ("resolve a resolved one", S.RESOLVED, _resolve),
    ("accept a resolved one", S.RESOLVED, _accept),
    ("accept a closed one", S.CLOSED, _accept),
    ("progress a resolved one", S.RESOLVED, _progress),
    ("assign an assigned one", S.ASSIGNED, _assign),
    ("assign a closed one", S.CLOSED, _assign),
    ("escalate a resolved one", S.RESOLVED, _escalate),
    ("escalate a reported one", S.REPORTED, _escalate),
]


def _unchanged(ticket, version, count):
    ticket.refresh_from_db()
    return ticket.version == version and len(events(ticket)) == count


@pytest.mark.parametrize(
    ("state", "move"),
    [pytest.param(state, move, id=name) for name, state, move in ILLEGAL_SERVICE_MOVES],
)
def test_an_illegal_move_by_a_person_is_refused(t, state, move):
    """Even the administrator: the services offer only what ticket_actions allows."""
    ticket = ticket_in(t, state)
    version, count = ticket.version, len(events(ticket))
    with pytest.raises((PermissionDenied, TicketError)):
        move(ticket, t.user("admin"))
    assert _unchanged(ticket, version, count)


# Every illegal move is refused by the state machine itself, whoever asks (earlier the
# system's moves slipped through: see the history of issues/rules.py MOVES). The system
# never rates at all, in no state: ``test_the_system_never_rates``.
SYSTEM_CASES: dict = {}


@pytest.mark.parametrize(
    ("state", "move"),
    [
        pytest.param(state, move, id=name, marks=SYSTEM_CASES.get(name, ()))
        for name, state, move in ILLEGAL_SERVICE_MOVES
        if move is not _rate
    ],
)
def test_an_illegal_move_by_the_system_raises_ticket_error(t, state, move):
    """SYSTEM (deadline jobs, intake) has no permission check, so the state machine alone
    must refuse it, with a message naming the state."""
    ticket = ticket_in(t, state)
    version, count = ticket.version, len(events(ticket))
    with pytest.raises(TicketError) as refused:
        move(ticket, SYSTEM)
    assert str(S(state).label) in refused.value.messages[0]
    assert _unchanged(ticket, version, count)


@pytest.mark.parametrize("state", [S.REPORTED, S.RESOLVED])
def test_the_system_never_rates(t, state):
    """A rating is the reporter's: the portal refuses to give one, legal state or not, and
    says so (it used to close resolved problems as satisfied for the demo)."""
    ticket = ticket_in(t, state)
    version, count = ticket.version, len(events(ticket))
    with translation.override("en"), pytest.raises(TicketError) as refused:
        _rate(ticket, SYSTEM)
    assert "the rating is the reporter's" in refused.value.messages[0]
    assert _unchanged(ticket, version, count)


# --- permissions: the wrong persona is refused ----------------------------------------------


def _county_ticket(t):
    t.settings(hard_via_street=False)
    ticket = t.report(tier="hard")
    assert ticket.level == Level.COUNTY
    return ticket


def _meeting_assign(t, ticket, persona):
    meeting = services.meeting_open(area=t.county, title="第一次交办会", actor=t.users["county"])
    deadline = timezone.now() + dt.timedelta(days=10)
    services.meeting_assign(
        meeting=meeting,
        ticket=ticket,
        parts=[Part(department=t.housing, deadline=deadline)],
        actor=t.user(persona),
    )


WRONG_PERSONA = {
    "outsider accepts": (S.ASSIGNED, lambda t, tk: _accept(tk, t.user("outsider"))),
    "department handler works a unit ticket": (
        S.ASSIGNED,
        lambda t, tk: _progress(tk, t.user("department")),
    ),
    "building head resolves the unit head's ticket": (
        S.IN_PROGRESS,
        lambda t, tk: _resolve(tk, t.user("building_head")),
    ),
    "unit head triages": (S.REPORTED, lambda t, tk: _assign(tk, t.user("unit_head"))),
    "unit head reminds himself": (
        S.ASSIGNED,
        lambda t, tk: services.ticket_remind(ticket=tk, actor=t.user("unit_head")),
    ),
    "outsider escalates": (S.ASSIGNED, lambda t, tk: _escalate(tk, t.user("outsider"))),
    "outsider rates": (S.RESOLVED, lambda t, tk: _rate(tk, t.user("outsider"))),
    "department handler rates": (S.RESOLVED, lambda t, tk: _rate(tk, t.user("department"))),
    "grid head schedules a return visit on an open ticket": (
        S.IN_PROGRESS,
        lambda t, tk: services.return_visit_schedule(
            ticket=tk, actor=t.user("grid_head"), on=timezone.localdate()
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(WRONG_PERSONA))
def test_the_wrong_persona_is_refused(t, case):
    state, move = WRONG_PERSONA[case]
    ticket = ticket_in(t, state)
    version, count = ticket.version, len(events(ticket))
    with pytest.raises(PermissionDenied):
        move(t, ticket)
    assert _unchanged(ticket, version, count)


@pytest.mark.parametrize("persona", ["unit_head", "grid_head", "street", "department"])
def test_only_the_county_office_puts_a_ticket_on_a_meeting(t, persona):
    ticket = _county_ticket(t)
    version = ticket.version
    with pytest.raises(PermissionDenied):
        _meeting_assign(t, ticket, persona)
    ticket.refresh_from_db()
    assert ticket.version == version and ticket.level == Level.COUNTY
    assert not ticket.tasks.exists()


def test_a_unit_head_cannot_open_an_assignment_meeting(t):
    with pytest.raises(PermissionDenied):
        services.meeting_open(area=t.county, title="单元长的交办会", actor=t.user("unit_head"))


def test_a_unit_head_cannot_triage_by_reporting_with_a_tier(t):
    with pytest.raises(PermissionDenied):
        t.report(tier="hard", actor=t.user("unit_head"))


# --- ticket_actions: the whole table --------------------------------------------------------

A, AC, P, ES, R = perm.ASSIGN, perm.ACCEPT, perm.PROGRESS, perm.ESCALATE, perm.RESOLVE
RM, RT, RV, M, DR = perm.REMIND, perm.RATE, perm.RETURN_VISIT, perm.MEETING, perm.DEPARTMENT_REPORT
DC, MG = perm.DECLINE, perm.MERGE
HANDLES = {AC, P, R, ES}
SUPERVISES = {ES, RM}
TRIAGES = {A, DC, MG}
NONE = set()

# A simple ticket at U1, handled by the unit head (level unit). Rating (RT) is logging a
# return call for the reporter: never by the unit head, who handled it.
UNIT_TICKET_ACTIONS = {
    #                reported  assigned      in_progress    resolved  closed  declined
    "unit_head": (NONE, HANDLES, HANDLES - {AC}, {RV}, {RV}, NONE),
    "building_head": (NONE, SUPERVISES, SUPERVISES, {RT, RV}, {RV}, NONE),
    "grid_head": (TRIAGES, SUPERVISES, SUPERVISES, {RT, RV}, {RV}, NONE),
    "community": (TRIAGES, SUPERVISES, SUPERVISES, {RT, RV}, {RV}, NONE),
    "street": (TRIAGES, SUPERVISES, SUPERVISES, {RT, RV}, {RV}, NONE),
    "county": (TRIAGES, SUPERVISES, SUPERVISES, {RT, RV}, {RV}, NONE),
    "department": (NONE, NONE, NONE, NONE, NONE, NONE),
    "water": (NONE, NONE, NONE, NONE, NONE, NONE),
    # the admin may act as the handler and, holding no post there, also remind
    "admin": (TRIAGES, HANDLES | {RM}, HANDLES - {AC} | {RM}, {RT, RV}, {RV}, NONE),
    "outsider": (NONE, NONE, NONE, NONE, NONE, NONE),
}


@pytest.mark.parametrize("state", STATES)
def test_ticket_actions_for_every_persona_at_every_state(t, state):
    ticket = ticket_in(t, state)
    column = STATES.index(state)
    got = {persona: perm.ticket_actions(t.user(persona), ticket) for persona in UNIT_TICKET_ACTIONS}
    want = {persona: set(row[column]) for persona, row in UNIT_TICKET_ACTIONS.items()}
    assert got == want


def test_ticket_actions_at_the_county_office_and_with_departments(t):
    ticket = _county_ticket(t)
    at_county = {p: perm.ticket_actions(t.user(p), ticket) for p in UNIT_TICKET_ACTIONS}
    assert at_county == {
        **{p: set() for p in UNIT_TICKET_ACTIONS},
        "county": {AC, P, R, M},
        "admin": {AC, P, R, M, RM},
    }

    _meeting_assign(t, ticket, "county")
    ticket.refresh_from_db()
    with_departments = {p: perm.ticket_actions(t.user(p), ticket) for p in UNIT_TICKET_ACTIONS}
    with_departments.pop("county")  # its reminder is test_meetings' business
    assert with_departments == {
        **{p: set() for p in UNIT_TICKET_ACTIONS if p != "county"},
        "department": {DR},
        "admin": {RM},
    }

"""One write path for a ticket: every act that changes a ticket goes through
``services.workflow.ticket_step`` (locked, versioned, authorised, checked against
``rules.MOVES``), and the system acts as ``SYSTEM``, never as ``actor=None``."""

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from issues import services
from issues.models import Level, ReturnVisit, Ticket, TicketEvent
from issues.rules import SYSTEM, SystemActor
from issues.services import Part, meetings, return_visits, workflow

from .helpers import events, ticket_in

ROOT = Path(__file__).resolve().parents[2]
S = Ticket.State
E = TicketEvent.Kind


# --- every act through ticket_step ----------------------------------------------------------


@pytest.fixture
def steps(monkeypatch):
    """Counts the calls of ``ticket_step`` and the events each appended, wherever a module
    of the services calls it from."""
    calls: list[tuple[str, int]] = []
    real = workflow.ticket_step

    def counting(**kwargs):
        before = TicketEvent.objects.count()
        ticket = real(**kwargs)
        calls.append((kwargs["step"], TicketEvent.objects.count() - before))
        return ticket

    real_many = workflow.ticket_steps

    def counting_many(steps, **kwargs):
        # A job's batch: each ticket of it counts as one step taken.
        before = TicketEvent.objects.count()
        tickets = real_many(steps, **kwargs)
        appended = TicketEvent.objects.count() - before
        calls.extend((step, appended // len(steps)) for _t, step, _plan in steps)
        return tickets

    for module in (workflow, meetings, return_visits):
        monkeypatch.setattr(module, "ticket_step", counting)
    for module in (workflow, meetings):
        monkeypatch.setattr(module, "ticket_steps", counting_many)
    return calls


def _at_county(t):
    t.settings(hard_via_street=False)
    ticket = t.report(tier="hard")
    assert ticket.level == Level.COUNTY
    return ticket


def _on_a_meeting(t):
    ticket = _at_county(t)
    county = t.user("county")
    meeting = services.meeting_open(area=t.county, title="交办会", actor=county)
    deadline = timezone.now() + dt.timedelta(days=5)
    services.meeting_assign(
        meeting=meeting, ticket=ticket, parts=[Part(t.housing, deadline)], actor=county
    )
    ticket.refresh_from_db()
    return ticket


def _prepare_assign(t, freeze):
    ticket = ticket_in(t, S.REPORTED)
    return ticket, lambda: services.ticket_assign(
        ticket=ticket, tier="simple", actor=t.user("grid_head")
    )


def _prepare_accept(t, freeze):
    ticket = ticket_in(t, S.ASSIGNED)
    return ticket, lambda: services.ticket_accept(ticket=ticket, actor=t.user("unit_head"))


def _prepare_progress(t, freeze):
    ticket = ticket_in(t, S.IN_PROGRESS)
    return ticket, lambda: services.ticket_progress(
        ticket=ticket, actor=t.user("unit_head"), note="已联系物业"
    )


def _prepare_escalate(t, freeze):
    ticket = ticket_in(t, S.ASSIGNED)
    return ticket, lambda: services.ticket_escalate(ticket=ticket, actor=t.user("unit_head"))


def _prepare_report_up(t, freeze):
    ticket = ticket_in(t, S.ASSIGNED)
    return ticket, lambda: services.ticket_escalate(
        ticket=ticket, actor=t.user("grid_head"), as_hard=True
    )


def _prepare_remind(t, freeze):
    ticket = ticket_in(t, S.ASSIGNED)
    return ticket, lambda: services.ticket_remind(
        ticket=ticket, actor=t.user("building_head"), note="请尽快"
    )


def _prepare_resolve(t, freeze):
    ticket = ticket_in(t, S.IN_PROGRESS)
    return ticket, lambda: services.ticket_resolve(
        ticket=ticket, actor=t.user("unit_head"), feedback="修好了"
    )


def _prepare_rate(rating):
    def prepare(t, freeze):
        ticket = ticket_in(t, S.RESOLVED)
        return ticket, lambda: services.ticket_rate(
            ticket=ticket, actor=t.user("community"), rating=rating
        )

    return prepare


def _prepare_schedule_visit(t, freeze):
    ticket = ticket_in(t, S.RESOLVED)
    return ticket, lambda: services.return_visit_schedule(
        ticket=ticket, actor=t.user("community"), on=timezone.localdate()
    )


def _prepare_log_visit(t, freeze):
    ticket = ticket_in(t, S.RESOLVED)
    worker = t.user("community")
    visit = services.return_visit_schedule(ticket=ticket, actor=worker, on=timezone.localdate())
    ticket.refresh_from_db()
    return ticket, lambda: services.return_visit_log(visit=visit, actor=worker, note="满意")


def _prepare_meeting(t, freeze):
    ticket = _at_county(t)
    county = t.user("county")
    meeting = services.meeting_open(area=t.county, title="交办会", actor=county)
    deadline = timezone.now() + dt.timedelta(days=5)
    return ticket, lambda: services.meeting_assign(
        meeting=meeting, ticket=ticket, parts=[Part(t.housing, deadline)], actor=county
    )


def _prepare_department_report(t, freeze):
    ticket = _on_a_meeting(t)
    (task,) = ticket.tasks.all()
    return ticket, lambda: services.department_report(
        task=task, actor=t.user("department"), report="已修好"
    )


def _reported(t):
    ticket = _on_a_meeting(t)
    (task,) = ticket.tasks.all()
    services.department_report(task=task, actor=t.user("department"), report="已修好")
    ticket.refresh_from_db()
    return ticket, task


def _prepare_review(t, freeze):
    ticket, _task = _reported(t)
    return ticket, lambda: services.ticket_review(
        ticket=ticket, actor=t.user("county"), feedback="经核查已修复"
    )


def _prepare_send_back(t, freeze):
    ticket, task = _reported(t)
    return ticket, lambda: services.part_send_back(
        ticket=ticket,
        task=task,
        actor=t.user("county"),
        reason="仍有渗漏",
        deadline=timezone.now() + dt.timedelta(days=3),
    )


def _prepare_part_overdue(t, freeze):
    ticket = _on_a_meeting(t)
    (task,) = ticket.tasks.all()

    def act():
        with freeze(task.deadline + dt.timedelta(days=1)):
            assert services.parts_escalate_overdue() == 1

    return ticket, act


def _prepare_lift_overdue(t, freeze):
    ticket = ticket_in(t, S.ASSIGNED)

    def act():
        with freeze(ticket.deadline + dt.timedelta(days=1)):
            assert services.tickets_escalate_overdue() == 1

    return ticket, act


def _prepare_rectify_in_place(t, freeze):
    ticket = _at_county(t)

    def act():
        with freeze(ticket.deadline + dt.timedelta(days=1)):
            assert services.tickets_escalate_overdue() == 1

    return ticket, act


def _prepare_close_unrated(t, freeze):
    ticket = ticket_in(t, S.RESOLVED)
    later = timezone.now() + dt.timedelta(days=60)
    return ticket, lambda: services.tickets_close_unrated(now=later)


ACTS = {
    "assign": (_prepare_assign, [E.ASSIGN]),
    "accept": (_prepare_accept, [E.ACCEPT]),
    "progress": (_prepare_progress, [E.PROGRESS]),
    "escalate": (_prepare_escalate, [E.ESCALATE]),
    "report up as hard": (_prepare_report_up, [E.REPORT_UP]),
    "remind": (_prepare_remind, [E.REMIND]),
    "resolve": (_prepare_resolve, [E.RESOLVE]),
    "rate satisfied": (_prepare_rate("satisfied"), [E.RATE, E.CLOSE]),
    "rate unsatisfied": (_prepare_rate("unsatisfied"), [E.RATE, E.REOPEN]),
    "schedule a return visit": (_prepare_schedule_visit, [E.RETURN_VISIT]),
    "log a return visit": (_prepare_log_visit, [E.RETURN_VISIT]),
    "assignment meeting": (_prepare_meeting, [E.MEETING]),
    "the last department report": (_prepare_department_report, [E.DEPARTMENT_REPORT, E.ACCEPT]),
    "the county office accepts the reports": (_prepare_review, [E.REVIEW, E.RESOLVE]),
    "the county office sends a part back": (_prepare_send_back, [E.SEND_BACK]),
    "the overdue job rectifies a late part": (_prepare_part_overdue, [E.RECTIFY]),
    "the overdue job lifts": (_prepare_lift_overdue, [E.ESCALATE, E.RECTIFY]),
    "the overdue job rectifies in place": (_prepare_rectify_in_place, [E.RECTIFY]),
    "the rating job closes": (_prepare_close_unrated, [E.CLOSE]),
}


@pytest.mark.parametrize("name", list(ACTS))
def test_every_act_that_changes_a_ticket_goes_through_ticket_step(t, freeze, steps, name):
    """The act calls ``ticket_step`` once (or ``ticket_steps``, a job's batch, with this one
    ticket); the one version it bumps and every event it appends come from that call."""
    prepare, kinds = ACTS[name]
    ticket, act = prepare(t, freeze)
    version, before = ticket.version, len(events(ticket))
    steps.clear()

    act()

    ticket.refresh_from_db()
    appended = events(ticket)[before:]
    assert len(steps) == 1
    assert ticket.version == version + 1
    assert [e.kind for e in appended] == kinds
    assert steps[0] == (kinds[0], len(appended))


def test_a_report_with_a_tier_triages_through_ticket_step(t, steps):
    ticket = t.report(tier="simple", actor=t.user("grid_head"))
    assert steps == [(E.ASSIGN, 1)]
    assert [e.kind for e in events(ticket)] == [E.REPORT, E.ASSIGN]
    assert ticket.version == 2


def _source(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


REPORTER_WRITES = frozenset(
    {"create", "update", "bulk_create", "bulk_update", "delete"}
    | {"get_or_create", "update_or_create"}
)


def _writes(module: ast.Module) -> list[tuple[int, str]]:
    """The calls in ``module`` that write a ticket, its events or its reporters (or fetch a
    ticket past the locked step)."""
    found = []
    for node in ast.walk(module):
        if not isinstance(node, ast.Call):
            continue
        called = ast.unparse(node.func)
        saves = called.endswith(".save") and any(
            word in called.lower() for word in ("ticket", "reporter")
        )
        writes_reporters = (
            called.startswith("TicketReporter.objects")
            and called.rsplit(".", 1)[-1] in REPORTER_WRITES
        )
        fetches = called.startswith("Ticket.objects")
        if "TicketEvent" in called or saves or writes_reporters or fetches:
            found.append((node.lineno, called))
    return found


def test_only_the_workflow_module_writes_tickets_their_events_and_reporters():
    """Elsewhere in the services no ``TicketEvent`` is made, no ticket is saved (or fetched
    past the locked step) and no ``TicketReporter`` row is written: a merge moves the
    reporters through ``workflow.ticket_merged_in``, a rating through ``ticket_rate``;
    triage and reporters only read them."""
    found = []
    for path in sorted((ROOT / "issues" / "services").glob("*.py")):
        if path.name == "workflow.py":
            continue
        found += [f"{path.name}:{line}: {called}" for line, called in _writes(_source(path))]
    assert found == []


def test_the_scan_sees_reporters_written_and_read():
    written = ast.parse(
        "TicketReporter.objects.filter(ticket=merged).update(ticket=target)\n"
        "reporter.save(update_fields=['rating'])\n"
        "TicketReporter.objects.create(ticket=t, reported_as=t)\n"
    )
    assert [line for line, _called in _writes(written)] == [1, 2, 3]
    read = ast.parse("list(TicketReporter.objects.filter(ticket=t))\nticket.reporters.all()\n")
    assert _writes(read) == []


# --- the system actor -----------------------------------------------------------------------


def test_no_code_passes_actor_none():
    """The system is ``SYSTEM``: no call passes ``actor=None`` and no service defaults to
    it (this file's own source aside, which names the pattern)."""
    found = []
    for top in ("issues", "dashboard", "digests", "portal", "grids", "residents", "tests"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if path.name == Path(__file__).name or "migrations" in path.parts:
                continue
            for node in ast.walk(_source(path)):
                if isinstance(node, ast.Call):
                    for keyword in node.keywords:
                        if keyword.arg == "actor" and ast.unparse(keyword.value) == "None":
                            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
                elif isinstance(node, ast.FunctionDef):
                    named = node.args.args + node.args.kwonlyargs
                    defaults = [None] * (len(node.args.args) - len(node.args.defaults))
                    defaults += node.args.defaults + node.args.kw_defaults
                    for arg, default in zip(named, defaults, strict=True):
                        if arg.arg == "actor" and default and ast.unparse(default) == "None":
                            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_a_step_without_an_actor_is_a_programming_error(t):
    ticket = ticket_in(t, S.IN_PROGRESS)
    with pytest.raises(TypeError):
        services.ticket_step(ticket=ticket, step=E.PROGRESS, actor=None, note="谁？")
    with pytest.raises(TypeError):
        services.ticket_progress(ticket=ticket, actor=None, note="谁？")
    ticket.refresh_from_db()
    assert len(events(ticket, E.PROGRESS)) == 0


def test_the_system_is_recognisable_and_no_user():
    assert isinstance(SYSTEM, SystemActor) and repr(SYSTEM) == "SYSTEM"
    assert SYSTEM.pk is None and not SYSTEM.is_authenticated and not SYSTEM.is_superuser


def test_the_systems_steps_are_recorded_with_no_actor(t):
    ticket = ticket_in(t, S.IN_PROGRESS)
    services.ticket_resolve(ticket=ticket, actor=SYSTEM, feedback="系统处理")
    (resolved,) = events(ticket, E.RESOLVE)
    assert resolved.actor is None


def _visit(t):
    ticket = ticket_in(t, S.RESOLVED)
    return services.return_visit_schedule(
        ticket=ticket, actor=t.user("community"), on=timezone.localdate()
    )


NEEDS_A_PERSON = {
    "remind": lambda t: services.ticket_remind(ticket=ticket_in(t, S.ASSIGNED), actor=SYSTEM),
    "open a meeting": lambda t: services.meeting_open(area=t.county, title="会", actor=SYSTEM),
    "put on a meeting": lambda t: services.meeting_assign(
        meeting=services.meeting_open(area=t.county, title="会", actor=t.user("county")),
        ticket=_at_county(t),
        parts=[Part(t.housing, timezone.now() + dt.timedelta(days=3))],
        actor=SYSTEM,
    ),
    "schedule a return visit": lambda t: services.return_visit_schedule(
        ticket=ticket_in(t, S.RESOLVED), actor=SYSTEM, on=timezone.localdate()
    ),
    "log a return visit": lambda t: services.return_visit_log(
        visit=_visit(t), actor=SYSTEM, note="系统回访"
    ),
    "reveal the reporter's phone": lambda t: services.ticket_reporter_phone_reveal(
        user=SYSTEM, ticket=ticket_in(t, S.RESOLVED)
    ),
    "reveal the description": lambda t: services.ticket_description_reveal(
        user=SYSTEM, ticket=ticket_in(t, S.RESOLVED)
    ),
}


@pytest.mark.parametrize("name", sorted(NEEDS_A_PERSON))
def test_the_system_is_refused_where_a_person_is_required(t, name):
    with pytest.raises(PermissionDenied):
        NEEDS_A_PERSON[name](t)
    by_the_system = TicketEvent.objects.filter(actor__isnull=True).exclude(
        kind__in=[E.REPORT, E.ASSIGN]
    )
    assert not by_the_system.exists()
    assert not ReturnVisit.objects.filter(done_at__isnull=False).exists()

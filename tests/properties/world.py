"""The world the property tests post into: the personas' tree (``tests/conftest.py``) with
the ticket workflow (``tests/issues/conftest.py``), and the things the forms act on — tickets
in each state, a problem at the county with its parts, meetings, proposals, wishes, reward
items — built once per test through the services, each on first use."""

from __future__ import annotations

import datetime as dt
from functools import cached_property

from django.utils import timezone

from tests.issues.conftest import Ticketing


class Things:
    def __init__(self, t: Ticketing):
        self.t = t

    def __getattr__(self, name):
        return getattr(self.t, name)

    # --- problems ---------------------------------------------------------------------
    def ticket(self, state: str):
        from tests.issues.helpers import ticket_in

        cache = self.__dict__.setdefault("_tickets", {})
        if state not in cache:
            cache[state] = ticket_in(self.t, state)
        return cache[state]

    @cached_property
    def hard(self):
        """A hard problem at the county, put on a meeting with two parts; the housing part
        reported back (so the county may review it or send it back)."""
        from issues import services
        from issues.services import Part

        self.t.settings(hard_via_street=False)
        ticket = self.t.report("U1", tier="complex")
        services.ticket_escalate(ticket=ticket, actor=self.t.user("county"), as_hard=True)
        ticket.refresh_from_db()
        meeting = services.meeting_open(
            area=self.t.county, title="交办会", actor=self.t.users["county"]
        )
        now = timezone.now()
        parts = [
            Part(department=self.t.housing, deadline=now + dt.timedelta(days=5), instructions="修"),
            Part(department=self.t.water, deadline=now + dt.timedelta(days=6), instructions="查"),
        ]
        services.meeting_assign(
            meeting=meeting, ticket=ticket, parts=parts, actor=self.t.user("county")
        )
        ticket.refresh_from_db()
        return ticket

    @cached_property
    def hard_reported(self):
        from issues import services

        ticket = self.hard
        for department, handler in ((self.t.housing, "department"), (self.t.water, "water")):
            task = ticket.tasks.get(department=department)
            services.department_report(task=task, actor=self.t.user(handler), report="已办好")
        ticket.refresh_from_db()
        return ticket

    @cached_property
    def escalated_hard_only(self):
        """A hard problem at the county, not yet on a meeting."""
        from issues import services

        self.t.settings(hard_via_street=False)
        ticket = self.t.report("U2", tier="complex")
        services.ticket_escalate(ticket=ticket, actor=self.t.user("county"), as_hard=True)
        ticket.refresh_from_db()
        return ticket

    def visit(self):
        from residents import services

        return services.visit_log(
            household=self.t.households["U1"],
            visitor=self.t.persons["unit_head"],
            channel="door_knock",
            findings="楼道灯坏了",
            needs_follow_up=True,
        )

    @cached_property
    def return_visit(self):
        """A return visit scheduled on a closed problem (its log form)."""
        from issues import services

        ticket = self.ticket("closed")
        return services.return_visit_schedule(
            ticket=ticket, actor=self.t.user("community"), on=timezone.localdate()
        )

    # --- meetings (三级例会) --------------------------------------------------------------
    @cached_property
    def councils(self):
        from tests.councils.conftest import Councils

        return Councils(self.t)

    @cached_property
    def planned(self):
        return self.councils.plan(on=timezone.localdate() + dt.timedelta(days=3))

    @cached_property
    def held(self):
        return self.councils.held(on=timezone.localdate() - dt.timedelta(days=1))

    @cached_property
    def decision(self):
        from councils import services

        return services.meeting_decide(
            meeting=self.held, actor=self.t.user("building_head"), text="楼道照明改造"
        )

    # --- proposals (议事) ---------------------------------------------------------------
    def proposal(self, state: str):
        from tests.deliberation.conftest import proposal_in

        cache = self.__dict__.setdefault("_proposals", {})
        if state not in cache:
            cache[state] = proposal_in(self.t.world, state)
        return cache[state]

    # --- wishes (微心愿) ----------------------------------------------------------------
    @cached_property
    def wishing(self):
        from tests.wishes.conftest import Wishing

        return Wishing(self.t.world)

    @cached_property
    def wish(self):
        return self.wishing.post()

    @cached_property
    def claimed_wish(self):
        from wishes import services

        wish = self.wishing.post(title="帮忙修自行车")
        return services.wish_claim(
            wish=wish, person=self.wishing.member2, actor=self.wishing.member_user
        )

    @cached_property
    def claimed_wish_for_sorting(self):
        """A second claimed wish, for the fulfil form (the first is handed back)."""
        from wishes import services

        wish = self.wishing.post(title="楼道堆放杂物")
        return services.wish_claim(
            wish=wish, person=self.wishing.member2, actor=self.wishing.member_user
        )

    # --- points ---------------------------------------------------------------------
    @cached_property
    def resident_person(self):
        from residents.services import resident_person_ensure

        return resident_person_ensure(resident=self.t.residents["U1"])

    @cached_property
    def reward_item(self):
        from points import services

        return services.reward_item_create(
            community=self.t.community_a,
            name="洗衣液",
            description="一瓶",
            cost=10,
            stock=5,
            actor=self.t.user("community"),
        )

    # --- resident accounts ------------------------------------------------------------
    @cached_property
    def account(self):
        from tests.citizens.conftest import account_for

        return account_for(self.t.residents["U1"].phone)

    @cached_property
    def fresh_account(self):
        """Signed in, the privacy notice not yet accepted."""
        from tests.citizens.conftest import account_for

        return account_for("13912345670", accept=False)

    @cached_property
    def resident_ticket(self):
        """A problem of the resident of U1 resolved, for them to rate."""
        from issues import services

        ticket = self.t.report("U1", tier="simple", reporter=self.t.residents["U1"])
        services.ticket_resolve(ticket=ticket, actor=self.t.user("unit_head"), feedback="修好了")
        ticket.refresh_from_db()
        return ticket

    # --- everything's ids, those of other scopes among them ---------------------------
    def ids(self) -> list[int]:
        from grids.models import Area, Person
        from issues.models import Ticket
        from residents.models import Household, Resident

        found: set[int] = set()
        for model in (Area, Person, Household, Resident, Ticket):
            found.update(model.objects.values_list("pk", flat=True))
        return sorted(found)[:60] + [0, -1, 2**31, 2**63]

    def codes(self) -> list[str]:
        from grids.models import Area

        return list(Area.objects.values_list("code", flat=True)) + ["", "0", "3699" * 10]

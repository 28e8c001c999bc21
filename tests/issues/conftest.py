"""The ticket workflow's world: the persona tree from ``tests/conftest.py`` plus categories,
three departments with a handler login each, tier time limits and e-mail addresses, and
helpers that build tickets through the services."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
import time_machine
from django.contrib.auth.models import User

from grids import services as grid_services
from grids.models import Department, Post
from issues import services
from issues.models import Category, Ticket, TicketSettings, TierPolicy
from issues.rules import SYSTEM

from .helpers import TIER_POLICIES


class Ticketing:
    """``world`` plus what the ticket workflow needs. Attributes of the world are reachable
    directly: ``t.u1``, ``t.users["unit_head"]``."""

    def __init__(self, world):
        self.world = world
        for key, user in world.users.items():
            user.email = f"{key}@grid.example.org"
            user.save(update_fields=["email"])

        self.housing = world.department
        self.housing.email = "housing@dept.example.org"
        self.housing.save(update_fields=["email"])
        self.water = Department.objects.create(
            code="water", name="水务局", email="water@dept.example.org"
        )
        self.police = Department.objects.create(code="police", name="派出所")
        self._handler("water", "钱水生", self.water, "13800000001")
        self._handler("police", "孙警官", self.police, "13800000002")

        self.repair = Category.objects.create(
            code="repair", name="公共设施维修", default_department=self.housing
        )
        self.leak = Category.objects.create(
            code="leak", name="管道漏水", parent=self.repair, time_limit_days=1
        )
        self.noise = Category.objects.create(code="noise", name="噪音扰民")
        for tier, (days, rectify) in TIER_POLICIES.items():
            TierPolicy.objects.create(tier=tier, time_limit_days=days, rectification_days=rectify)

    def __getattr__(self, name):
        return getattr(self.world, name)

    def _handler(self, key, name, department, phone):
        user = User.objects.create_user(
            key, password="pw-for-tests-1", email=f"{key}@grid.example.org"
        )
        person = grid_services.person_get_or_create(name=name, phone=phone)
        person.user = user
        person.save(update_fields=["user"])
        department.handlers.add(person)
        self.world.users[key] = user
        self.world.persons[key] = person

    def user(self, key: str) -> User:
        """A fresh login object: its scope is worked out anew from the posts now held."""
        return User.objects.get(pk=self.users[key].pk)

    def place(self, key: str):
        return {
            "U1": self.u1,
            "U2": self.u2,
            "U3": self.u3,
            "U4": self.u4,
            "B1": self.b1,
            "G1": self.g1,
            "A": self.community_a,
            "street": self.street,
            "county": self.county,
        }[key]

    def report(self, place="U1", *, tier=None, actor=SYSTEM, category=None, **extra) -> Ticket:
        """A ticket reported (and with ``tier`` triaged) through ``ticket_report``, re-read."""
        area = self.place(place) if isinstance(place, str) else place
        ticket = services.ticket_report(
            area=area,
            category=category or self.repair,
            channel=extra.pop("channel", Ticket.Channel.VISIT),
            description=extra.pop("description", "楼道灯坏了，晚上看不见"),
            reporter=extra.pop("reporter", self.residents["U1"]),
            actor=actor,
            tier=tier,
            **extra,
        )
        ticket.refresh_from_db()
        return ticket

    def end_post(self, persona: str) -> None:
        post = Post.objects.get(person=self.persons[persona], ended_on__isnull=True)
        grid_services.post_end(post=post)

    def settings(self, **values) -> TicketSettings:
        row = TicketSettings.current()
        for name, value in values.items():
            setattr(row, name, value)
        row.save()
        return row


@pytest.fixture
def t(world) -> Ticketing:
    return Ticketing(world)


@pytest.fixture
def freeze():
    """``with freeze(moment): …`` — the clock stands at ``moment`` inside the block for every
    caller: the services' ``timezone.now()``, the models' ``default=timezone.now``, dates."""

    @contextmanager
    def _freeze(moment: dt.datetime):
        with time_machine.travel(moment, tick=False):
            yield moment

    return _freeze

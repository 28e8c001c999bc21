"""The regular meetings' world: the persona tree (``tests/conftest.py``) with the ticket
workflow's categories (``tests/issues/conftest.py``), and helpers that plan and hold
meetings through the services."""

from __future__ import annotations

import datetime as dt

import pytest

from councils import services
from councils.models import Meeting
from residents.services import resident_person_ensure
from tests.issues.conftest import Ticketing


class Councils:
    def __init__(self, t: Ticketing):
        self.t = t
        # Residents earn points through their person: the one of U1 attends meetings.
        self.resident_person = resident_person_ensure(resident=t.residents["U1"])

    def __getattr__(self, name):
        return getattr(self.t, name)

    def plan(self, area=None, *, on=None, by="building_head", **extra) -> Meeting:
        """A meeting of ``area`` on ``on``; by default on the next free day from 3 March 2025
        (a place has one meeting a day)."""
        if on is None:
            self._days = getattr(self, "_days", -1) + 1
            on = dt.date(2025, 3, 3) + dt.timedelta(days=self._days)
        return services.meeting_plan(area=area or self.b1, date=on, actor=self.t.user(by), **extra)

    def hold(self, meeting: Meeting, *, by="building_head", people=None, minutes="议定三件事"):
        people = (
            people
            if people is not None
            else [self.persons["building_head"], self.persons["unit_head"]]
        )
        return services.meeting_hold(
            meeting=meeting, actor=self.t.user(by), attendees=people, minutes=minutes
        )

    def held(self, area=None, *, on=None, by="building_head", **extra) -> Meeting:
        return self.hold(self.plan(area, on=on, by=by), by=by, **extra)


@pytest.fixture
def t(world) -> Ticketing:
    return Ticketing(world)


@pytest.fixture
def c(t) -> Councils:
    return Councils(t)

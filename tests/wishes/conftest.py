"""The wishes' world: the personas' small world (tests/conftest.py) with a Party member
registered at 莲心社区 (a resident of U3 signed in on the resident pages), a Party member with
a login and no post, a volunteer team on 旴江社区's grid, and the resident of U1 who posts."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from grids import services as g
from residents.models import PartyMember, VolunteerTeam
from residents.services import resident_person_ensure
from tests.citizens.conftest import account_for, as_resident
from tests.clock import Clock
from tests.conftest import PASSWORD
from wishes import services

__all__ = ["as_resident", "account_for"]


class Wishing:
    def __init__(self, world, *, accounts: bool = True):
        self.w = world
        # 居民U3 lives in 莲心社区 and registered there as a Party member (双报到).
        self.member = resident_person_ensure(resident=world.residents["U3"])
        PartyMember.objects.create(
            person=self.member,
            registered_area=world.community_a,
            in_service=True,
            work_unit="县人民医院",
        )
        self.member_account = account_for(world.residents["U3"].phone) if accounts else None
        # A Party member with a login and no post: the worker pages' open wishes.
        self.member_user = User.objects.create_user("member", password=PASSWORD)
        self.member2 = g.person_get_or_create(name="刘红", phone="13600000001")
        self.member2.user = self.member_user
        self.member2.save(update_fields=["user"])
        PartyMember.objects.create(person=self.member2, registered_area=world.community_a)
        # A volunteer of 旴江社区's grid (居民U4).
        self.volunteer = resident_person_ensure(resident=world.residents["U4"])
        team = VolunteerTeam.objects.create(name="莲乡红骑兵", area=world.g3)
        team.members.add(self.volunteer)
        self.volunteer_account = account_for(world.residents["U4"].phone) if accounts else None
        # The poster: 居民U1 on the register, signed in.
        # Signed in through the SMS code: only where the code is read before it is sent.
        self.poster = account_for(world.residents["U1"].phone) if accounts else None

    def user(self, persona):
        return self.w.users[persona]

    def post(self, *, area=None, title="帮忙买一袋面粉", account=None, **kwargs):
        return services.wish_post(
            area=area or self.w.u1, title=title, account=account or self.poster, **kwargs
        )


@pytest.fixture
def wt(world) -> Wishing:
    return Wishing(world)


@pytest.fixture
def clock():
    moment = timezone.make_aware(dt.datetime(2026, 5, 6, 9, 30))
    running = Clock(moment)
    yield running
    running.stop()


def png(name: str = "wish.png") -> SimpleUploadedFile:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")

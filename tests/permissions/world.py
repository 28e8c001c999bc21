"""The permission matrix's world: the personas' small world (tests/conftest.py) and the ticket
workflow's (tests/issues/conftest.py), a second street and a second county with an officer
each, two residents signed in on the resident pages, and one object of each kind on each
side — side A in 莲心社区 (unit U1, building B1, community A; the county office's meeting in
莲溪县), side B in 旴江社区 (unit U4, building B3, community B; the second county's meeting) —
each carrying a marker string of its own, so a page showing an object it should not is told
by its body. A marker is 秘 and two letters (秘AT: side A's problem): no random token, CSRF
or session key, which are ASCII, can hold one by chance (an ASCII ``QZBR`` was once found in
one)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.citizens.conftest import account_for
from tests.conftest import PASSWORD, World
from tests.issues.conftest import Ticketing

# Personas seeing side A (莲心社区, the first county), side B (旴江社区) or both.
A_SIDE = frozenset({"res_a", "unit_head", "building_head", "grid_head", "community"})
B_SIDE = frozenset({"res_b", "outsider"})
BOTH = frozenset({"street", "county", "admin"})
WORKERS = (
    "unit_head",
    "building_head",
    "grid_head",
    "community",
    "outsider",
    "street",
    "street_other",
    "county",
    "county_other",
    "department",
    "staff",
    "admin",
)
RESIDENTS = ("res_a", "res_b")
PERSONAS = ("anonymous", *RESIDENTS, *WORKERS)


def png(name: str = "photo.png", color=(200, 30, 30)) -> SimpleUploadedFile:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


@dataclass
class Obj:
    """One object of the world: the URL arguments that reach it, the strings only those who
    may see it may read (``markers``), and who they are (``seen_by``)."""

    kind: str
    side: str
    kwargs: dict
    markers: tuple[str, ...]
    seen_by: frozenset[str]
    extra: dict = field(default_factory=dict)


class MatrixWorld:
    def __init__(self):
        from grids import services as g
        from grids.rules import AreaKind as K
        from grids.rules import PostTitle as T

        self.w = World()
        self.t = Ticketing(self.w)
        w = self.w
        self.users = w.users
        # A second street of the county and a second county, each with its officer.
        self.street2 = g.area_create(
            code="369921002", name="莲东街道", kind=K.STREET, parent=w.county
        )
        self.community_c = g.area_create(
            code="369921002001", name="东湖社区", kind=K.COMMUNITY, parent=self.street2
        )
        self.county2 = g.area_create(code="369922", name="临川县", kind=K.DISTRICT, parent=w.city)
        for key, name, area, title, phone in (
            ("street_other", "吴东升", self.street2, T.STREET_OFFICER, "13900001001"),
            ("county_other", "郑临川", self.county2, T.COUNTY_OFFICER, "13900001002"),
        ):
            user = User.objects.create_user(key, password=PASSWORD)
            person = g.person_get_or_create(name=name, phone=phone)
            person.user = user
            person.save(update_fields=["user"])
            g.post_assign(area=area, title=title, person=person)
            w.users[key], w.persons[key] = user, person
        # Staff without any permission: the admin's index, and nothing in it.
        w.users["staff"] = User.objects.create_user("staff", password=PASSWORD, is_staff=True)

        self.accounts = {
            "res_a": account_for(w.residents["U1"].phone, display_name="居民U1"),
            "res_b": account_for(w.residents["U4"].phone, display_name="居民U4"),
        }
        self.objects: dict[str, dict[str, Obj]] = {}
        self._people()
        self._tickets()
        self._wishes()
        self._proposals()
        self._councils()
        self._points()
        self._digests()

    # --- helpers ------------------------------------------------------------------------

    def add(self, kind, side, kwargs, markers, seen_by, **extra) -> Obj:
        obj = Obj(kind, side, kwargs, tuple(markers), frozenset(seen_by), extra)
        self.objects.setdefault(kind, {})[side] = obj
        return obj

    @staticmethod
    def fresh(area):
        """The area as stored now: the world's instances keep the nested-set numbers they
        had when made, before their later siblings shifted them."""
        from grids.models import Area

        return Area.objects.get(pk=area.pk)

    def get(self, kind: str, side: str) -> Obj:
        return self.objects[kind][side]

    def all_objects(self):
        for sides in self.objects.values():
            yield from sides.values()

    # --- residents, households ------------------------------------------------------------

    def _people(self):
        w = self.w
        for side, key, seen in (("A", "U1", A_SIDE | BOTH), ("B", "U4", B_SIDE | BOTH)):
            resident = w.residents[key]
            household = w.households[key]
            # The resident pages' own person sees their own data; the workers' pages are
            # the workers'. Name, full phone and full ID number are the markers.
            self.add(
                "resident",
                side,
                {"pk": resident.pk},
                (resident.name, resident.phone, resident.id_number),
                seen,
            )
            self.add("household", side, {"pk": household.pk}, (resident.name,), seen)
            area = w.u1 if side == "A" else w.u4
            self.add("unit", side, {"code": area.code}, (), seen)
        self.add(
            "grid", "A", {"code": w.g1.code}, (), (A_SIDE - {"unit_head", "building_head"}) | BOTH
        )
        self.add("grid", "B", {"code": w.g3.code}, (), B_SIDE | BOTH)
        self.add("community", "A", {"code": w.community_a.code}, (), A_SIDE | BOTH)
        self.add("community", "B", {"code": w.community_b.code}, (), B_SIDE | BOTH)

    # --- tickets ----------------------------------------------------------------------------

    def _tickets(self):
        from issues.models import Notification
        from issues.services import meetings

        t, w = self.t, self.w
        for side, place, key in (("A", "U1", "res_a"), ("B", "U4", "res_b")):
            account = self.accounts[key]
            ticket = t.report(
                place,
                description=f"秘{side}T 楼道灯坏了",
                reporter=None,
                account=account,
                photos=[png()],
            )
            reporter_row = ticket.reporters.order_by("pk").first()
            photo = ticket.photos.get()
            seen = (A_SIDE if side == "A" else B_SIDE) | BOTH
            self.add(
                "ticket",
                side,
                {"pk": ticket.pk},
                (f"秘{side}T",),
                seen,
                ticket=ticket,
                photo=photo,
                reporter=reporter_row,
                token=reporter_row.token,
            )
            note = Notification.objects.filter(ticket=ticket).order_by("pk").first()
            self.add(
                "notification",
                side,
                {"pk": note.pk},
                (),
                {note.recipient.username} if note.recipient else set(),
                recipient=note.recipient,
            )
        # The county offices' assignment meetings: the first county's and the second's.
        for side, area, persona in (("A", w.county, "county"), ("B", self.county2, "county_other")):
            meeting = meetings.meeting_open(
                area=self.fresh(area), title=f"秘{side}H 调度会", actor=t.user(persona)
            )
            self.add(
                "ticket_meeting", side, {"pk": meeting.pk}, (f"秘{side}H",), {persona, "admin"}
            )

    # --- wishes -----------------------------------------------------------------------------

    def _wishes(self):
        from wishes import services

        w = self.w
        for side, area, key in (("A", w.u1, "res_a"), ("B", w.u4, "res_b")):
            wish = services.wish_post(
                area=self.fresh(area),
                title=f"秘{side}W 帮忙买面粉",
                account=self.accounts[key],
                photo=png(),
            )
            photo = wish.photos.first()
            seen = (A_SIDE if side == "A" else B_SIDE) | BOTH
            self.add("wish", side, {"pk": wish.pk}, (f"秘{side}W",), seen, wish=wish, photo=photo)

    # --- proposals --------------------------------------------------------------------------

    def _proposals(self):
        from deliberation import services

        w = self.w
        for side, area, persona in (
            ("A", w.community_a, "community"),
            ("B", w.community_b, "outsider"),
        ):
            actor = self.t.user(persona)
            proposal = services.proposal_create(
                area=self.fresh(area),
                title=f"秘{side}P 楼道照明改造",
                text="加装楼道灯",
                voting_closes_at=timezone.now() + dt.timedelta(days=7),
                actor=actor,
            )
            attachment = services.proposal_attach(
                proposal=proposal, upload=png("plan.png"), title="方案图", actor=actor
            )
            proposal = services.proposal_discussion_open(proposal=proposal, actor=actor)
            proposal = services.proposal_voting_open(proposal=proposal, actor=actor)
            seen = (A_SIDE if side == "A" else B_SIDE) | BOTH
            self.add(
                "proposal",
                side,
                {"pk": proposal.pk},
                (f"秘{side}P",),
                seen,
                proposal=proposal,
                attachment=attachment,
            )

    # --- regular meetings -------------------------------------------------------------------

    def _councils(self):
        from councils import services

        w = self.w
        for side, area, persona in (("A", w.b1, "building_head"), ("B", w.b3, "outsider")):
            actor = self.t.user(persona)
            meeting = services.meeting_plan(
                area=self.fresh(area),
                date=dt.date(2025, 3, 3),
                actor=actor,
                topic=f"秘{side}C 楼道议事",
            )
            held = services.meeting_hold(
                meeting=meeting, actor=actor, attendees=[w.persons[persona]], minutes="议定"
            )
            decision = services.meeting_decide(meeting=held, actor=actor, text=f"秘{side}D 修灯")
            seen = {"building_head", "grid_head", "community"} if side == "A" else {"outsider"}
            self.add(
                "council",
                side,
                {"pk": meeting.pk},
                (f"秘{side}C", f"秘{side}D"),
                seen | BOTH,
                decision=decision,
            )

    # --- points -----------------------------------------------------------------------------

    def _points(self):
        from points import services
        from residents.services import resident_person_ensure

        w = self.w
        for side, key, community, persona in (
            ("A", "U1", w.community_a, "community"),
            ("B", "U4", w.community_b, "outsider"),
        ):
            actor = self.t.user(persona)
            person = resident_person_ensure(resident=w.residents[key])
            services.points_adjust(
                person=person,
                amount=20,
                reason=f"秘{side}R 义务劳动",
                actor=actor,
                area=self.fresh(w.u1 if side == "A" else w.u4),
            )
            item = services.reward_item_create(
                community=self.fresh(community),
                name=f"秘{side}I 大米",
                cost=5,
                stock=3,
                actor=actor,
            )
            request = services.redemption_request(person=person, item=item)
            self.add(
                "points_person",
                side,
                {"person_pk": person.pk},
                (f"秘{side}R",),
                # The resident earning them reads their own lines on /r/points/.
                (A_SIDE if side == "A" else B_SIDE) | BOTH,
            )
            self.add(
                "reward_item",
                side,
                {"pk": item.pk},
                (f"秘{side}I",),
                (A_SIDE if side == "A" else B_SIDE) | BOTH,
                request=request,
            )

    # --- digests ----------------------------------------------------------------------------

    def _digests(self):
        from digests import services
        from digests.models import Digest

        services.digests_build(kind="weekly", day=timezone.localdate(), deliver=False)
        for side, area in (("A", self.w.community_a), ("B", self.w.community_b)):
            digest = Digest.objects.filter(node=area).order_by("pk").first()
            self.add(
                "digest",
                side,
                {"pk": digest.pk} if digest else {"pk": 0},
                (),
                {"community" if side == "A" else "outsider"} | BOTH,
                digest=digest,
            )

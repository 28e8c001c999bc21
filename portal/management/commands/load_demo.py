"""Load the demo county (grids/demo_data.py, residents/demo_data.py, issues/demo.py, and the
engagement apps' demo.py) through
the same services and imports an admin uses. It spans every app, so it lives in the project
package on top of them.

Idempotent: a second run finds everything in place and changes nothing. All or nothing: the
whole load is one transaction, so a run that fails half-way leaves the database as it was (and
the after-commit sends of what it wrote never run).

Refused on a production configuration (``production_reasons``) unless ``--allow-production``
is given; even then no login gets the well-known demo password: each gets a generated one,
printed once.
"""

import datetime as dt
import re
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from core.spreadsheets import Table
from councils import demo as councils_demo
from dashboard import points_demo
from deliberation import demo as deliberation_demo
from digests.models import Digest
from digests.periods import latest_due
from digests.services import digests_build
from grids import demo_data, services
from grids.imports import AREA_COLUMNS, HEAD_COLUMNS, areas_import, heads_import
from grids.models import Area, PartyOrg, Person
from grids.rules import AreaKind, PartyOrgKind, PostTitle
from grids.selectors import area_subtree_q
from issues import demo as issues_demo
from residents import demo as residents_demo
from wishes import demo as wishes_demo

DEMO_PASSWORD = "demo1234"
# A database other than SQLite is taken for a demo one only when its name says so as a word
# of its own: portal_demo, demo-county, test_portal (the test runner's), grid_dev.
DEMO_DATABASE_NAME = re.compile(r"(?:^|[^a-z0-9])(?:demo|test|dev)(?:$|[^a-z])", re.IGNORECASE)
# The digests built for the embedded demo, which runs no beat: the last 7 days', 4 weeks'
# (each community's rectification list among them) and 3 months'.
DIGEST_DAYS = 7
DIGEST_WEEKS = 4
DIGEST_MONTHS = 3

# Staff logins have no head post in the generated data; give them the post their role needs.
STAFF_POSTS = {
    "street": (PostTitle.STREET_OFFICER, "周立新", "13900000101"),
    "county": (PostTitle.COUNTY_OFFICER, "陈志远", "13900000102"),
}


def _table(columns, rows: list[dict], keys: list[str]) -> Table:
    headers = [c.label for c in columns if c.key in keys]
    order = [c.key for c in columns if c.key in keys]
    data = [(i + 2, [_text(r[k]) for k in order]) for i, r in enumerate(rows)]
    return Table(headers=headers, rows=data)


def _text(value) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def production_reasons(*, production: bool, database: dict) -> list[str]:
    """Why this configuration looks like production (empty if it does not): ``DJANGO_DEBUG``
    false (``settings.PRODUCTION``), or a database that is neither SQLite nor named as a demo
    or test one."""
    reasons = []
    if production:
        reasons.append("DJANGO_DEBUG is false")
    name = str(database.get("NAME") or "")
    if not database["ENGINE"].endswith("sqlite3") and not DEMO_DATABASE_NAME.search(name):
        reasons.append(
            f"the database {name!r} is not SQLite and its name does not say demo, test or dev"
        )
    return reasons


class Command(BaseCommand):
    help = "Load the demo county, its heads, Party bodies and one login per role."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load the demo on a production configuration all the same (the demo logins "
            "then get generated passwords, printed once, never the well-known one).",
        )

    def handle(self, *args, allow_production=False, **options):
        reasons = production_reasons(
            production=settings.PRODUCTION, database=connection.settings_dict
        )
        if reasons and not allow_production:
            raise CommandError(
                "This looks like a production configuration ("
                + "; ".join(reasons)
                + "): the demo county would mix invented areas, people, problems and logins "
                "into real ones. Nothing was loaded. Load it into a demo database (SQLite, or "
                "one whose name says demo, test or dev), or pass --allow-production if this "
                "really is a demonstration server."
            )
        self.generated_passwords = bool(reasons)
        with transaction.atomic():
            self._load()

    def _load(self):
        areas = _table(
            AREA_COLUMNS,
            demo_data.area_rows(),
            ["code", "name", "kind", "parent_code", "grid_type", "households"],
        )
        report = areas_import(table=areas, source="demo county")
        self.stdout.write(f"areas: {report.summary()} ({report.seconds:.1f}s)")
        heads = _table(
            HEAD_COLUMNS,
            [{**r, "started_on": "2022-09-01"} for r in demo_data.head_rows()],
            ["area_code", "title", "name", "phone", "public", "deputy", "started_on"],
        )
        report = heads_import(table=heads, source="demo heads")
        self.stdout.write(f"heads: {report.summary()} ({report.seconds:.1f}s)")
        created = self._party_orgs()
        self.stdout.write(f"Party organisations: {created} new")
        residents_demo.load(self.stdout.write)
        for line in self._logins():
            self.stdout.write(line)
        issues_demo.load(self.stdout.write)
        # Engagement, on the problems, people and households above: micro-wishes claimed by
        # the registered Party members, a Yantan-like household vote, the meetings' rhythm.
        # Points last: the moral bank's items and savers, and the visits' points.
        for demo in (wishes_demo, deliberation_demo, councils_demo, points_demo):
            with issues_demo.sending_nothing():
                demo.load(self.stdout.write)
        self.stdout.write(self._digests())

    @transaction.atomic
    def _party_orgs(self) -> int:
        """党工委 per town, 社区党组织 per community/village, 网格党支部 per urban grid, and a
        楼栋党小组 per building of the first community."""
        have = set(PartyOrg.objects.values_list("area_id", flat=True))
        wanted = Area.objects.filter(
            kind__in=[AreaKind.TOWN, AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.VILLAGE]
        ).order_by("tree_id", "lft")
        orgs_by_area: dict[int, PartyOrg] = {
            o.area_id: o for o in PartyOrg.objects.select_related("area")
        }
        created = 0
        first_community = None
        for area in wanted:
            if area.kind == AreaKind.COMMUNITY and first_community is None:
                first_community = area
            if area.pk in have:
                continue
            if area.kind in (AreaKind.TOWN, AreaKind.STREET):
                kind, parent, suffix = PartyOrgKind.WORKING_COMMITTEE, None, "党委"
            else:
                kind, suffix = PartyOrgKind.COMMUNITY_ORG, "党总支"
                parent = orgs_by_area[area.parent_id]
            org = services.party_org_create(
                name=f"{area.name}{suffix}", kind=kind, area=area, parent=parent
            )
            orgs_by_area[area.pk] = org
            created += 1
        communities = Area.objects.filter(kind=AreaKind.COMMUNITY)
        grids = Area.objects.filter(kind=AreaKind.GRID, parent__in=communities)
        for grid in grids.order_by("tree_id", "lft"):
            if grid.pk not in have:
                orgs_by_area[grid.pk] = services.party_org_create(
                    name=f"{grid.parent.name}{grid.name}党支部",
                    kind=PartyOrgKind.GRID_BRANCH,
                    area=grid,
                    parent=orgs_by_area[grid.parent_id],
                )
                created += 1
        if first_community is not None:
            buildings = Area.objects.filter(
                area_subtree_q(first_community), kind=AreaKind.BUILDING
            ).select_related("parent")
            for building in buildings.order_by("lft"):
                if building.pk not in have:
                    services.party_org_create(
                        name=f"{building.parent.name}{building.name}党小组",
                        kind=PartyOrgKind.GROUP,
                        area=building,
                        parent=orgs_by_area[building.parent_id],
                    )
                    created += 1
        return created

    def _digests(self) -> str:
        """The digests the beat would have built over the demo's history: the daily ones of
        the last ``DIGEST_DAYS`` finished days, the weekly ones (every community's, street's
        and the county's) of the last ``DIGEST_WEEKS`` full weeks, the monthly ones of the last
        ``DIGEST_MONTHS`` full months. Read in the portal only: nothing is mailed (the history
        is backdated). Kept on a second run."""
        today = timezone.localdate()
        days = [today - dt.timedelta(days=n) for n in range(DIGEST_DAYS, 0, -1)]
        runs = [(Digest.Kind.DAILY, day) for day in days]
        back = {Digest.Kind.WEEKLY: DIGEST_WEEKS, Digest.Kind.MONTHLY: DIGEST_MONTHS}
        for kind, count in back.items():
            period = latest_due(kind, today)
            for _n in range(count):
                runs.append((kind, period.start))
                period = period.preceding()
        created = kept = 0
        for kind, day in runs:
            result = digests_build(kind=kind, day=day, deliver=False)
            created, kept = created + result.created, kept + result.kept
        return f"digests: {created} new, {kept} kept (not mailed)"

    @transaction.atomic
    def _logins(self) -> list[str]:
        User = get_user_model()
        lines = []
        for login in demo_data.demo_logins():
            username = login["username"]
            user, created = User.objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = username == "admin"
            if not self.generated_passwords:
                password = DEMO_PASSWORD
                user.set_password(password)
            elif created or user.check_password(DEMO_PASSWORD):
                password = secrets.token_urlsafe(12)
                user.set_password(password)
            else:  # one set on this server before: kept
                password = "(password unchanged)"
            user.save()
            if username in STAFF_POSTS:
                title, name, phone = STAFF_POSTS[username]
                person = services.person_get_or_create(name=name, phone=phone)
                area = Area.objects.get(code=login["area_code"])
                services.post_assign(area=area, title=title, person=person)
            elif login["phone"]:
                person = Person.objects.get(phone=login["phone"])
            else:
                lines.append(f"login {username} / {password}: {login['role']}")
                continue
            if person.user_id != user.pk:
                Person.objects.filter(user=user).exclude(pk=person.pk).update(user=None)
                person.user = user
                person.save(update_fields=["user"])
            lines.append(f"login {username} / {password}: {login['role']} {person.name}")
        return lines

"""What the audit history's triggers cost: an areas import of a new county (2,611 rows), a
heads import of its 2,555 grid heads, the county's areas imported again unchanged, a street
moved to another county (its nested set renumbered, its households' keys rewritten) and
problem steps (report and triage), each with the triggers on and with them off, in one
transaction rolled back after each run, so both runs start from the same database.

    DATABASE_URL=postgres://…/portal_hD_bench python -m tests.audit.cost

Prints ``name: value`` lines. PostgreSQL only (SQLite has no triggers)."""

import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

import pgtrigger  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from core import audit  # noqa: E402
from core.spreadsheets import Table  # noqa: E402
from grids import services as grids  # noqa: E402
from grids.imports import areas_import, heads_import  # noqa: E402
from grids.models import Area  # noqa: E402
from grids.rules import AreaKind  # noqa: E402
from issues import services as issues  # noqa: E402
from issues.models import Category, TierPolicy  # noqa: E402

AREA_HEADERS = ["编码", "名称", "类型", "上级编码", "网格类型", "户数"]
HEAD_HEADERS = ["区域编码", "区域名称", "职务", "姓名", "手机", "公示", "副职", "任职日期"]
STREETS, COMMUNITIES, GRIDS = 5, 10, 2555  # communities per street; grids in all
STEPS = 200


class Rollback(Exception):
    pass


def _table(headers, rows) -> Table:
    return Table(headers=headers, rows=[(i + 2, r) for i, r in enumerate(rows)])


def county_rows(district: str) -> list[list]:
    rows = [[district, "测试县", "区县", "3699", "", "0"]]
    communities = []
    for s in range(1, STREETS + 1):
        street = f"{district}{s:03d}"
        rows.append([street, f"街道{s}", "街道", district, "", "0"])
        for c in range(1, COMMUNITIES + 1):
            community = f"{street}{c:03d}"
            communities.append(community)
            rows.append([community, f"社区{s}-{c}", "社区", street, "", "0"])
    for g in range(GRIDS):
        community = communities[g % len(communities)]
        rows.append([f"{community}{g // len(communities) + 1:03d}", f"网格{g}", "网格",
                     community, "基础网格", "300"])  # fmt: skip
    return rows


def head_rows(grid_codes: list[str]) -> list[list]:
    return [
        [code, "", "网格长", f"网格长{i}", f"1{38_0000_0000 + i:010d}", "", "", "2024-01-01"]
        for i, code in enumerate(grid_codes)
    ]


def history_rows() -> int:
    return sum(audit.history_model(m).objects.count() for m in _tracked())


def _tracked():
    return sorted(
        {
            m.pgh_tracked_model
            for m, _t in pgtrigger.registered()
            if issubclass(m, audit.AuditEvent)
        },
        key=lambda m: m._meta.label,
    )


def _triggers_off() -> None:
    """Disable the history triggers inside the current transaction (rolled back after)."""
    with connection.cursor() as cursor:
        for model, trigger in pgtrigger.registered():
            if trigger.name.startswith("history_"):
                cursor.execute(
                    f'ALTER TABLE "{model._meta.db_table}" DISABLE TRIGGER'  # nosec B608
                    f' "{trigger.get_pgid(model)}"'
                )


def run(triggers: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        with transaction.atomic():
            if not triggers:
                _triggers_off()
            admin = get_user_model().objects.create_superuser("bench-admin", password="x" * 12)
            if not Area.objects.filter(code="3699").exists():
                grids.area_create(code="3699", name="抚阳市", kind=AreaKind.CITY)
            rows = county_rows("369988")
            before = history_rows()
            started = time.perf_counter()
            areas_import(table=_table(AREA_HEADERS, rows), source="county.xlsx", user=admin)
            out["areas_import_s"] = time.perf_counter() - started
            out["areas_import_history_rows"] = history_rows() - before

            grid_codes = [r[0] for r in rows if r[2] == "网格"]
            before = history_rows()
            started = time.perf_counter()
            heads_import(table=_table(HEAD_HEADERS, head_rows(grid_codes)), source="h.xlsx",
                         user=admin)  # fmt: skip
            out["heads_import_s"] = time.perf_counter() - started
            out["heads_import_history_rows"] = history_rows() - before

            before = history_rows()
            started = time.perf_counter()
            areas_import(table=_table(AREA_HEADERS, rows), source="again.xlsx", user=admin)
            out["areas_reimport_unchanged_s"] = time.perf_counter() - started
            out["areas_reimport_unchanged_history_rows"] = history_rows() - before

            other = grids.area_create(code="369989", name="邻县", kind=AreaKind.DISTRICT,
                                      parent=Area.objects.get(code="3699"))  # fmt: skip
            before = history_rows()
            started = time.perf_counter()
            grids.area_move(area=Area.objects.get(code="369988001"), parent=other)
            out["street_move_s"] = time.perf_counter() - started
            out["street_move_history_rows"] = history_rows() - before

            category = Category.objects.create(code="bench", name="测试类别")
            for tier, days in (("simple", 3), ("complex", 5), ("hard", 10)):
                TierPolicy.objects.get_or_create(
                    tier=tier, defaults={"time_limit_days": days, "rectification_days": 2}
                )
            grid = Area.objects.get(code=grid_codes[0])
            worker = admin
            before = history_rows()
            started = time.perf_counter()
            with audit.context(user=worker.pk):
                for i in range(STEPS):
                    ticket = issues.ticket_report(
                        area=grid, category=category, channel="visit",
                        description=f"楼道灯坏了{i}", reporter_phone=f"1370000{i:04d}",
                        actor=worker,
                    )  # fmt: skip
                    issues.ticket_assign(ticket=ticket, tier="simple", actor=worker)
            out["ticket_report_and_assign_ms"] = (time.perf_counter() - started) * 1000 / STEPS
            out["ticket_history_rows_per_problem"] = (history_rows() - before) / STEPS
            out["history_bytes_per_ticket_change"] = _bytes_per_row("issues_tickethistory")
            raise Rollback
    except Rollback:
        pass
    return out


def _bytes_per_row(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT avg(pg_column_size(t.*)) FROM "{table}" AS t')  # nosec B608
        value = cursor.fetchone()[0]
    return float(value or 0)


def main() -> None:
    assert connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database"
    call_command("migrate", verbosity=0)
    results = {}
    for name, triggers in (("off", False), ("on", True), ("off2", False), ("on2", True)):
        results[name] = run(triggers)
    for key in results["on"]:
        for name in ("off", "on", "off2", "on2"):
            print(f"{key}[{name}]: {results[name][key]:.3f}")


if __name__ == "__main__":
    main()

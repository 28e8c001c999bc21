"""The measurements. Imported only after ``django.setup()`` on the bench database."""

from __future__ import annotations

import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import django
import mptt
import psycopg
from django.db import connection, transaction

from bench import data
from bench.report import comment, emit
from core.spreadsheets import ReadLimits, read_table, write_table
from grids import services
from grids.imports import (
    AREA_COLUMNS,
    GRID_TYPE_LOOKUP,
    KIND_LOOKUP,
    area_export_headers,
    area_export_rows,
    areas_import,
)
from grids.models import Area
from grids.rules import AreaKind

HEADERS = [c.label for c in AREA_COLUMNS]
TABLE = Area._meta.db_table


def size_label(rows: int) -> str:
    return f"{rows // 1000}k" if rows % 1000 == 0 else str(rows)


def truncate() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{TABLE}" RESTART IDENTITY CASCADE')


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{TABLE}"')


def write_csv(path: Path, rows: int) -> None:
    nodes = data.generate(rows)
    write_table(path, "csv", HEADERS, data.shuffled_rows(nodes))


def timed_import(path: Path, stages: dict[str, float] | None = None):
    """read_table + areas_import of ``path``; returns (report, seconds, read_table seconds).

    ``stages`` receives the seconds at which each progress stage of the import was last
    (``<stage>``) and first (``<stage>_first``) reported."""
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        if stages is not None:
            stages.setdefault(stage + "_first", time.perf_counter() - started)
            stages[stage] = time.perf_counter() - started

    table = read_table(path, limits=ReadLimits())
    read = time.perf_counter() - started
    report = areas_import(table=table, source=path.name, progress=progress)
    return report, time.perf_counter() - started, read


def bench_import(path: Path, rows: int, profile: bool) -> None:
    label = size_label(rows)
    stages: dict[str, float] = {}
    report, seconds, read = timed_import(path, stages)
    if report.created != rows or report.updated:
        raise AssertionError(f"import of {rows} rows: {report.summary()}")
    emit(f"import_areas_{label}_rows_per_s", rows / seconds, 0)
    emit(f"import_areas_{label}_seconds", seconds)
    # Where the time went, from the import's own progress reports.
    write_start = stages.get("created_first", seconds)
    emit(f"import_areas_{label}_read_table_seconds", read)
    emit(f"import_areas_{label}_parse_seconds", stages["read"] - read)
    emit(f"import_areas_{label}_lookup_seconds", stages["matched"] - stages["read"])
    emit(f"import_areas_{label}_plan_and_first_batch_seconds", write_start - stages["matched"])
    emit(f"import_areas_{label}_write_seconds", stages.get("created", 0) - write_start)
    emit(f"import_areas_{label}_commit_seconds", seconds - stages.get("created", seconds))

    report, seconds, _ = timed_import(path)
    if report.created or report.updated or report.unchanged != rows:
        raise AssertionError(f"re-import of {rows} rows: {report.summary()}")
    emit(f"reimport_areas_{label}_seconds", seconds)
    emit(f"reimport_areas_{label}_new", report.created)
    emit(f"reimport_areas_{label}_changed", report.updated)

    if profile:
        truncate()
        profiler = cProfile.Profile()
        profiler.enable()
        timed_import(path)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        comment(f"profile of a second import of {rows} rows into an empty table, by own time:")
        for line in out.getvalue().splitlines():
            if line.strip():
                comment(line.rstrip())


def bench_bulk_create(path: Path, rows: int) -> None:
    """The floor: the same rows in one plain bulk_create, no planning, no parents."""
    table = read_table(path, limits=ReadLimits())
    objects = []
    for i, (_line, cells) in enumerate(table.rows):
        # read_table drops empty cells at the end of a row: pad them back.
        code, name, kind, _parent, grid_type, households = (cells + [""] * 6)[:6]
        objects.append(
            Area(
                code=code,
                name=name,
                kind=KIND_LOOKUP[kind],
                grid_type=GRID_TYPE_LOOKUP[grid_type] if grid_type else "",
                households=int(households or 0),
                tree_id=1,
                lft=2 * i + 1,
                rght=2 * i + 2,
                level=0,
            )
        )
    truncate()
    started = time.perf_counter()
    with transaction.atomic():
        Area.objects.bulk_create(objects, batch_size=2000)
    seconds = time.perf_counter() - started
    label = size_label(rows)
    emit(f"bulk_create_{label}_rows_per_s", rows / seconds, 0)
    emit(f"bulk_create_{label}_seconds", seconds)


def _snapshot() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_before")
        cursor.execute(
            f'CREATE TEMP TABLE bench_before AS SELECT id, tree_id, lft, rght FROM "{TABLE}"'
        )


def _renumbered_since_snapshot(tree_id: int) -> tuple[int, int]:
    """Rows whose numbers changed since ``_snapshot``: (in tree ``tree_id``, elsewhere)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*) FILTER (WHERE a.tree_id = %s),
                       count(*) FILTER (WHERE a.tree_id <> %s)
                FROM "{TABLE}" a JOIN bench_before b USING (id)
                WHERE (a.tree_id, a.lft, a.rght) IS DISTINCT FROM (b.tree_id, b.lft, b.rght)""",
            [tree_id, tree_id],
        )
        inside, outside = cursor.fetchone()
    return inside, outside


def _ms(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def _first_building(tree_id: int) -> Area:
    """The building that comes first in the tree's numbering: almost all of the street lies
    to its right, so appending under it shifts nearly the whole street."""
    buildings = Area.objects.filter(tree_id=tree_id, kind=AreaKind.BUILDING)
    return buildings.order_by("lft").first()


def _times(name: str, times: list[float]) -> None:
    comment(f"{name} runs: " + ", ".join(f"{t:.1f}" for t in times))


def bench_tree_writes(workdir: Path, rows: int, repeat: int = 5) -> None:
    """Insert and move one node in the largest street (the renumbering unit: a street is the
    root of its own tree), and move a whole street to another district."""
    label = size_label(rows)
    streets = Area.objects.filter(kind__in=(AreaKind.STREET, AreaKind.TOWN))
    street = max(streets.order_by("tree_id"), key=lambda s: s.rght)
    in_street = Area.objects.filter(tree_id=street.tree_id)
    building = _first_building(street.tree_id)
    district = Area.objects.get(pk=street.upper_id)
    emit("tree_nodes", Area.objects.count())
    emit("districts", Area.objects.filter(kind=AreaKind.DISTRICT).count())
    emit("streets", streets.count())
    emit("largest_street_nodes", in_street.count())

    # Insert: one unit appended under that building, through the service the UI uses.
    def insert(n: int) -> Callable[[], object]:
        return lambda: services.area_create(
            code=f"UBENCH{n:04d}",
            name=f"新增{n}单元",
            kind=AreaKind.UNIT,
            parent=Area(pk=building.pk),
        )

    _snapshot()
    times = [_ms(insert(0))]
    inside, outside = _renumbered_since_snapshot(street.tree_id)
    times += [_ms(insert(n)) for n in range(1, repeat)]
    emit(f"insert_one_node_{label}_tree_ms", statistics.median(times), 2)
    _times(f"insert_one_node_{label}_tree_ms", times)
    emit("insert_one_node_rows_renumbered", inside)
    emit("insert_one_node_rows_renumbered_outside_street", outside)

    # Move: that building (with its units) to the last grid of the street, and back.
    grids = in_street.filter(kind=AreaKind.GRID).order_by("lft")
    home, away = building.parent_id, grids.last().pk

    def move(to: int) -> Callable[[], object]:
        return lambda: services.area_move(area=Area(pk=building.pk), parent=Area(pk=to))

    _snapshot()
    times = [_ms(move(away))]
    inside, outside = _renumbered_since_snapshot(street.tree_id)
    times += [_ms(move(away if n % 2 == 0 else home)) for n in range(1, repeat)]
    emit(f"move_one_node_{label}_tree_ms", statistics.median(times), 2)
    _times(f"move_one_node_{label}_tree_ms", times)
    emit("move_one_node_rows_renumbered", inside)
    emit("move_one_node_rows_renumbered_outside_street", outside)

    # A whole street to another district (and back): a new link above its tree, no numbers.
    other = Area.objects.filter(kind=AreaKind.DISTRICT).exclude(pk=district.pk).first()

    def relink(to: Area) -> Callable[[], object]:
        return lambda: services.area_move(area=Area(pk=street.pk), parent=Area(pk=to.pk))

    _snapshot()
    times = [_ms(relink(other))]
    inside, outside = _renumbered_since_snapshot(street.tree_id)
    times += [_ms(relink(other if n % 2 == 0 else district)) for n in range(1, repeat)]
    emit(f"move_one_street_{label}_tree_ms", statistics.median(times), 2)
    _times(f"move_one_street_{label}_tree_ms", times)
    emit("move_one_street_rows_renumbered", inside + outside)
    if Area.objects.get(pk=street.pk).upper_id != district.pk:
        services.area_move(area=Area(pk=street.pk), parent=Area(pk=district.pk))

    # The same one-unit insert, but as a one-row spreadsheet through areas_import.
    parent = _first_building(street.tree_id)
    path = workdir / "one_row.csv"
    write_table(path, "csv", HEADERS, [["UBENCHFILE1", "新增单元", "单元", parent.code, "", "20"]])
    _snapshot()
    report, seconds, _ = timed_import(path)
    inside, outside = _renumbered_since_snapshot(street.tree_id)
    if report.created != 1:
        raise AssertionError(f"one-row import: {report.summary()}")
    emit(f"import_one_row_{label}_tree_seconds", seconds)
    emit("import_one_row_rows_renumbered", inside)
    emit("import_one_row_rows_renumbered_outside_street", outside)


def _child(step: str, scale: float) -> dict:
    """One step of ``bench.imports`` in a process of its own (its peak memory is its own)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.imports", step, str(scale)],
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_city_imports(scale: float) -> None:
    """The city's tree and heads (``seed_city``'s tables at ``scale``) through the imports an
    administrator uses, each next to plain ``bulk_create`` of the same rows: rows/s and the
    peak resident memory of the process."""
    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{TABLE}", grids_person RESTART IDENTITY CASCADE')
    areas = _child("areas", scale)
    emit("import_areas_city_rows", areas["rows"])
    emit("import_areas_city_rows_per_s", areas["rows"] / areas["seconds"], 0)
    emit("import_areas_city_peak_mb", areas["peak_mb"], 0)
    bulk = _child("bulk_heads", scale)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE grids_person RESTART IDENTITY CASCADE")
    heads = _child("heads", scale)
    emit("import_heads_city_rows", heads["rows"])
    emit("import_heads_city_rows_per_s", heads["rows"] / heads["seconds"], 0)
    emit("import_heads_city_seconds", heads["seconds"], 1)
    emit("import_heads_city_peak_mb", heads["peak_mb"], 0)
    emit("bulk_create_heads_city_rows_per_s", bulk["rows"] / bulk["seconds"], 0)
    emit("bulk_create_heads_city_peak_mb", bulk["peak_mb"], 0)


def bench_export(path: Path) -> None:
    started = time.perf_counter()
    count = write_table(path, "csv", area_export_headers(), area_export_rows())
    seconds = time.perf_counter() - started
    label = size_label(count - count % 1000)
    emit(f"export_areas_{label}_rows_per_s", count / seconds, 0)
    emit(f"export_areas_{label}_seconds", seconds)


def main(workdir: Path, rows: int, tree_rows: int, profile: bool, city_scale: float = 1.0) -> None:
    comment(
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"django-mptt {mptt.__version__}, psycopg {psycopg.__version__}"
    )
    small = workdir / f"areas_{size_label(rows)}.csv"
    write_csv(small, rows)
    bench_import(small, rows, profile)
    bench_bulk_create(small, rows)

    truncate()
    big = workdir / f"areas_{size_label(tree_rows)}.csv"
    write_csv(big, tree_rows)
    report, seconds, _ = timed_import(big)
    if report.created != tree_rows:
        raise AssertionError(f"import of {tree_rows} rows: {report.summary()}")
    emit(f"import_areas_{size_label(tree_rows)}_rows_per_s", tree_rows / seconds, 0)
    emit(f"import_areas_{size_label(tree_rows)}_seconds", seconds)
    analyze()  # as autovacuum would have done by the time anyone edits the tree
    bench_tree_writes(workdir, tree_rows)
    bench_export(workdir / "export.csv")
    bench_city_imports(city_scale)

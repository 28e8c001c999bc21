"""The area and heads imports at a city's size, each in a process of its own so that its peak
memory is its own: ``python -m bench.imports STEP SCALE`` prints one JSON line (rows, seconds,
peak resident memory). Run by ``bench/run.py`` on the throw-away bench database.

Steps: ``areas`` (the city's tree, ``portal.city.tree(SCALE)``, through ``areas_import``),
``heads`` (a head on every node that has one, through ``heads_import``, into that tree) and
``bulk_heads`` (the baseline: the same people and posts through two plain ``bulk_create``
calls, the areas looked up by code in one query, no checks and no history). The tables are
built in memory before the clock starts, as ``read_table`` hands an upload over.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def run(step: str, scale: float) -> dict:
    import django

    django.setup()
    from django.db import transaction

    from grids.imports import areas_import, heads_import
    from grids.models import Area, Person, Post
    from portal import city

    nodes = city.tree(scale)
    # The table alone, as an upload hands it over: the generator's nodes are let go before
    # the clock starts (the peak counts from the start of the process all the same).
    table = (city.area_table if step == "areas" else city.heads_table)(nodes)
    del nodes
    gc.collect()
    if step == "areas":
        started = time.perf_counter()
        areas_import(table=table, source="bench")
    elif step == "heads":
        started = time.perf_counter()
        heads_import(table=table, source="bench")
    elif step == "bulk_heads":
        started = time.perf_counter()
        area_of = dict(Area.objects.values_list("code", "pk"))
        titles = {names[0]: title for title, names in city.TITLE_NAMES.items()}
        with transaction.atomic():
            people = Person.objects.bulk_create(
                [Person(name=cells[3], phone=cells[4]) for _line, cells in table.rows],
                batch_size=2000,
            )
            Post.objects.bulk_create(
                [
                    Post(
                        area_id=area_of[cells[0]],
                        title=titles[cells[2]],
                        person=person,
                        started_on="2025-01-01",
                    )
                    for person, (_line, cells) in zip(people, table.rows, strict=True)
                ],
                batch_size=2000,
            )
    else:
        raise SystemExit(f"bench.imports: unknown step {step!r}")
    seconds = time.perf_counter() - started
    return {"rows": len(table.rows), "seconds": seconds, "peak_mb": _peak_mb()}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], float(sys.argv[2]))), flush=True)

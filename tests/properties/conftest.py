"""The property tests' summary: how many examples each target ran, how many the portal
accepted and refused, and the server errors and partial writes (each of which fails its test),
per kind and in total, the pytest-xdist workers' added up. Called by tests/summaries.py (the
hooks of the root conftest, the one the xdist controller reads)."""

from __future__ import annotations


def worker_finish(session):
    """A pytest-xdist worker hands its tallies to the controller, which prints them."""
    from dataclasses import asdict

    from tests.properties.engine import TALLIES

    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["property_tallies"] = {
            kind: {name: asdict(t) for name, t in targets.items()}
            for kind, targets in TALLIES.items()
        }


def node_down(node, error):
    from tests.properties.engine import tally

    for kind, targets in getattr(node, "workeroutput", {}).get("property_tallies", {}).items():
        for name, counts in targets.items():
            mine = tally(kind, name)
            for field, value in counts.items():
                setattr(mine, field, getattr(mine, field) + value)


def summary(terminalreporter):
    from tests.properties.engine import TALLIES

    if not any(TALLIES.values()):
        return
    write = terminalreporter.write_line
    terminalreporter.section("properties")
    total = {"examples": 0, "server_errors": 0, "partial_writes": 0, "targets": 0}
    for kind, targets in TALLIES.items():
        if not targets:
            continue
        examples = sum(t.examples for t in targets.values())
        errors = sum(t.server_errors for t in targets.values())
        partial = sum(t.partial_writes for t in targets.values())
        accepted = sum(t.accepted for t in targets.values())
        refused = sum(t.refused for t in targets.values())
        total["examples"] += examples
        total["server_errors"] += errors
        total["partial_writes"] += partial
        total["targets"] += len(targets)
        for name, t in sorted(targets.items()):
            write(
                f"  {kind}/{name}: {t.examples} examples, {t.accepted} accepted "
                f"({t.wrote} wrote rows), "
                f"{t.refused} refused, {t.server_errors} server errors, "
                f"{t.partial_writes} partial writes"
            )
        write(
            f"properties: {len(targets)} {kind} targets, {examples:,} examples "
            f"({accepted:,} accepted, {refused:,} refused), {errors} server errors, "
            f"{partial} partial writes"
        )
    write(
        f"properties in total: {total['targets']} targets, {total['examples']:,} examples, "
        f"{total['server_errors']} server errors, {total['partial_writes']} partial writes"
    )

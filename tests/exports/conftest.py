"""The counts the export tests state in the test output: how many exports were opened with
how many formula payloads in them, and what was found; summed over pytest-xdist's workers
and printed by tests/summaries.py."""

from __future__ import annotations

from collections import defaultdict

CASES: dict[str, int] = defaultdict(int)  # export (and format) → payload cells checked
FORMULAS: list[str] = []  # any cell that would run: none expected


KEY = "formula_injection"


def worker_finish(session):
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # a pytest-xdist worker hands its counts to the controller
        output[KEY] = {"cases": dict(CASES), "formulas": list(FORMULAS)}


def node_down(node, error):
    found = getattr(node, "workeroutput", {}).get(KEY, {})
    for name, count in found.get("cases", {}).items():
        CASES[name] += count
    FORMULAS.extend(found.get("formulas", []))


def summary(terminalreporter):
    if not CASES:
        return
    payloads = sum(CASES.values())
    terminalreporter.write_sep("-", "formula injection on every export")
    for name, count in sorted(CASES.items()):
        terminalreporter.write_line(f"{name}: {count} payload cells")
    terminalreporter.write_line(
        f"{len(CASES)} exports and formats × their payloads = {payloads} cases, "
        f"{len(FORMULAS)} formula cells"
    )

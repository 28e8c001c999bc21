"""The house's layers: each package imports only itself and the packages below it.

    core < grids < points < residents < issues < deliberation < wishes < councils < citizens
         < dashboard < digests < portal

``core`` is the ground floor and imports no app; ``portal`` (settings, urls, login, Celery,
the demo loader) sits on top of everything. Three kinds of reference count: Python imports
(module level or inside a function), ``apps.get_model("app", …)`` look-ups, and model
references written as strings (``ForeignKey("app.Model")``) together with migration
dependencies, which tie the apps' tables together the same way. No module may point up; the
only exception is a frozen list of historical migrations (HISTORICAL_MIGRATIONS).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = [
    "core",
    "grids",
    "points",
    "residents",
    "issues",
    "deliberation",
    "wishes",
    "councils",
    "citizens",
    "dashboard",
    "digests",
    "portal",
]
RANK = {name: i for i, name in enumerate(LAYERS)}

# Migrations are history: these two were written while the residents access log still named
# a problem (a ``ticket`` column on ``issues.Ticket``). Existing databases have applied them,
# so they stay as they were; issues 0008 moved the column's values to ``issues.TicketAccess``
# and residents 0005 dropped it. They are the only files allowed to point up, each must be
# followed by a later migration of its app, and the list may only shrink: no new file joins it.
HISTORICAL_MIGRATIONS = frozenset(
    {
        "residents/migrations/0003_access_log_ticket.py",
        "residents/migrations/0004_access_log_searches_and_descriptions.py",
    }
)

_MODEL_STRING = re.compile(r"""["']([a-z_]+)\.[A-Z][A-Za-z]+["']""")


def _modules():
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            yield layer, path


def _references(path: Path) -> set[str]:
    """Every project package that the file at ``path`` refers to."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get_model"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value.split(".")[0])
    if path.name == "models.py" or "migrations" in path.parts:
        found.update(_MODEL_STRING.findall(text))
        if "migrations" in path.parts:
            found.update(re.findall(r"""\(\s*["']([a-z_]+)["']\s*,\s*["']\d{4}_""", text))
    return {name for name in found if name in RANK}


def _upward(*, historical: bool = False) -> list[tuple[str, str]]:
    """The references that point up; with ``historical``, those of HISTORICAL_MIGRATIONS
    only (left out otherwise)."""
    upward = []
    for layer, path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if (rel in HISTORICAL_MIGRATIONS) != historical:
            continue
        for target in sorted(_references(path)):
            if RANK[target] > RANK[layer]:
                upward.append((rel, target))
    return upward


def test_no_module_refers_to_a_layer_above_its_own():
    unexpected = _upward()
    assert unexpected == [], (
        "these modules reach a layer above their own (order: "
        + " < ".join(LAYERS)
        + "): "
        + ", ".join(f"{path} -> {target}" for path, target in unexpected)
    )


def test_the_historical_migrations_are_history():
    """Each file of HISTORICAL_MIGRATIONS still exists and still points up (else it leaves
    the list), refers up only through migration dependencies and model strings, and is
    followed by a later migration of its own app."""
    still_upward = {path for path, _ in _upward(historical=True)}
    assert still_upward == HISTORICAL_MIGRATIONS
    for rel in sorted(HISTORICAL_MIGRATIONS):
        path = ROOT / rel
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import)
            for alias in n.names
        } | {
            n.module.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module
        }
        layer = rel.split("/")[0]
        assert {name for name in imported if name in RANK and RANK[name] > RANK[layer]} == set()
        later = [
            p.name
            for p in path.parent.glob("[0-9][0-9][0-9][0-9]_*.py")
            if p.name > path.name and p.relative_to(ROOT).as_posix() not in HISTORICAL_MIGRATIONS
        ]
        assert later, f"{rel}: no later migration of its app has left the upper app behind"


def test_core_imports_no_app():
    for path in sorted((ROOT / "core").rglob("*.py")):
        assert _references(path) <= {"core"}, path


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from issues.models import Ticket\n", {"issues"}),
        ("def f():\n    import digests.services\n", {"digests"}),
        ("apps.get_model('issues', 'Ticket')\n", {"issues"}),
        ("from . import models\nimport django\n", set()),
    ],
)
def test_the_scanner_sees_every_kind_of_import(tmp_path, source, expected):
    module = tmp_path / "module.py"
    module.write_text(source, encoding="utf-8")
    assert _references(module) == expected

"""The house's layers: each package imports only itself and the packages below it.

    core  <  grids  <  residents  <  issues  <  dashboard  <  digests  <  portal

``core`` is the ground floor and imports no app; ``portal`` (settings, urls, login, Celery,
the demo loader) sits on top of everything. Three kinds of reference count: Python imports
(module level or inside a function), ``apps.get_model("app", …)`` look-ups, and model
references written as strings (``ForeignKey("app.Model")``) together with migration
dependencies, which tie the apps' tables together the same way.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["core", "grids", "residents", "issues", "dashboard", "digests", "portal"]
RANK = {name: i for i, name in enumerate(LAYERS)}

# References that still point upward, each with the reason it has not been turned round yet.
# The list may only shrink: a reference not named here fails the test.
KNOWN_UPWARD = {
    # The personal-data access log records which problem a reporter's phone was revealed for.
    ("residents/models.py", "issues"),
    ("residents/migrations/0003_access_log_ticket.py", "issues"),
    ("residents/migrations/0004_access_log_searches_and_descriptions.py", "issues"),
}

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


def _upward() -> list[tuple[str, str]]:
    upward = []
    for layer, path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        for target in sorted(_references(path)):
            if RANK[target] > RANK[layer]:
                upward.append((rel, target))
    return upward


def test_no_module_refers_to_a_layer_above_its_own():
    unexpected = [ref for ref in _upward() if ref not in KNOWN_UPWARD]
    assert unexpected == [], (
        "these modules reach a layer above their own (order: "
        + " < ".join(LAYERS)
        + "): "
        + ", ".join(f"{path} -> {target}" for path, target in unexpected)
    )


def test_the_known_upward_references_still_exist():
    """An entry of KNOWN_UPWARD that is fixed must leave the list, so it cannot come back."""
    stale = KNOWN_UPWARD - set(_upward())
    assert stale == set(), f"no longer upward, remove from KNOWN_UPWARD: {sorted(stale)}"


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

"""``issues.services`` is a package of small modules with no import cycles: the Celery tasks
import the services inside their bodies and the services queue tasks from inside a
function (STYLE.md, "Celery"), and every module imports on its own, in any order."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted((ROOT / "issues" / "services").glob("*.py"))


def _module_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_services_are_the_modules_the_house_names():
    names = {path.stem for path in SERVICES}
    assert names >= {
        "__init__",
        "workflow",
        "routing",
        "meetings",
        "return_visits",
        "api_keys",
        "contact",
        "notifications",
        "photos",
    }


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.stem)
def test_no_service_imports_the_tasks_at_load_time(path):
    assert not {m for m in _module_level_imports(path) if m.startswith("issues.tasks")}


def test_the_tasks_import_the_services_only_inside_their_bodies():
    path = ROOT / "issues" / "tasks.py"
    assert not {m for m in _module_level_imports(path) if m.startswith("issues.services")}
    tasks = [n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)]
    assert tasks
    for task in tasks:
        inside = {
            f"{node.module}.{alias.name}"
            for node in ast.walk(task)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        assert "issues.services" in inside, task.name


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.stem)
def test_each_service_module_imports_first_on_its_own(path):
    """Imported first in a fresh interpreter (so no other module has warmed the way): a
    cycle would fail here."""
    module = "issues.services" if path.stem == "__init__" else f"issues.services.{path.stem}"
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
        f"'portal.settings_test'); django.setup(); import {module}; import issues.tasks"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr

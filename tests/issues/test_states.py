"""The groups of ticket states are named once, in ``issues.rules``; every other module imports
them rather than spelling a group out again (a second spelling drifts: one place counts a
resolved ticket as open, another does not)."""

import ast
from pathlib import Path

from issues import rules
from issues.models import Ticket

ROOT = Path(__file__).resolve().parents[2]
APPS = ("grids", "issues", "residents", "digests", "portal")
S = Ticket.State
STATE_NAMES = set(S.names)
STATE_VALUES = set(S.values)


def _is_state(node: ast.expr) -> bool:
    """``S.RESOLVED``, ``Ticket.State.RESOLVED`` or the bare value ``"resolved"``."""
    if isinstance(node, ast.Attribute) and node.attr in STATE_NAMES:
        owner = node.value
        return (isinstance(owner, ast.Name) and owner.id in ("S", "State")) or (
            isinstance(owner, ast.Attribute) and owner.attr == "State"
        )
    return isinstance(node, ast.Constant) and node.value in STATE_VALUES


def test_state_groups_are_spelled_only_in_the_rules():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name == "issues/rules.py" or "/migrations/" in name:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                literal = isinstance(node, (ast.Tuple, ast.List, ast.Set))
                if literal and sum(_is_state(e) for e in node.elts) >= 2:
                    found.append(f"{name}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert found == [], "import the group from issues.rules:\n" + "\n".join(found)


def test_the_groups_cover_the_states_as_their_names_say():
    assert rules.OPEN_STATES | rules.SOLVED_STATES | {S.DECLINED} == STATE_VALUES
    assert not rules.OPEN_STATES & rules.SOLVED_STATES
    ended = rules.SOLVED_STATES | {S.DECLINED}
    assert ended == STATE_VALUES - rules.OPEN_STATES == rules.ENDED_STATES
    assert {S.CLOSED, S.DECLINED} == rules.FINAL_STATES
    assert STATE_VALUES - {S.DECLINED} == rules.TAKEN_ON_STATES
    assert rules.OPEN_STATES | {S.RESOLVED} == rules.MERGE_TARGET_STATES
    assert rules.OPEN_STATES - {S.REPORTED} == rules.IN_HAND_STATES
    assert rules.SOLVED_STATES - {S.CLOSED} == rules.AWAITING_RATING_STATES
    assert Ticket(state=S.IN_PROGRESS).is_open and not Ticket(state=S.RESOLVED).is_open


def test_the_open_index_migration_names_the_open_states():
    """issues/migrations/0016 writes the open states out (a migration is frozen): they are
    today's ``OPEN_STATES``; a change of the group needs a new index."""
    import importlib

    migration = importlib.import_module("issues.migrations.0016_open_ticket_index")
    assert set(migration.OPEN) == rules.OPEN_STATES

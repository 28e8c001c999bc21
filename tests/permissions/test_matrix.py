"""The permission matrix over every named URL of the portal (issue 15): every view and export
of every app, the photos, attachments and Open311 included, and the admin.

Walked from the resolver (portal/urls.py): a pattern missing from the matrix fails
``test_every_pattern_is_in_the_matrix``, so a new view is added here with its answers.

For each pattern, each persona of ``world.PERSONAS`` (the anonymous visitor, a resident of
莲心社区 and one of 旴江社区 signed in on /r/, the unit, building and grid heads and the
community worker of 莲心社区, the secretary of 旴江社区, the officer of their street and of
another street, the county officer and the officer of another county, a department handler,
staff with no permission, a superuser) asks the URL for the object of side A (莲心社区) and
the object of side B (旴江社区) where the URL names one. Each answer is checked three ways:

1. against ``expected.EXPECTED``, the matrix written down (200, 403, 404, 400 for a form sent
   empty, ``302L``/``302S``/``302A`` for the workers' login, the residents' sign-in, the
   admin's login);
2. by the rule that stands whatever the table says: an object the persona may not see is
   never answered 200 (but through the public Open311 API and a reporter's tracking link,
   whose token is the permission), and nothing but the public pages answer an anonymous
   visitor 200;
3. for leaks: the body (an XLSX's cells included) and the redirect carry none of the
   markers of any object of the world the persona may not see — names, full phones and ID
   numbers of residents, the unique text of each problem, wish, proposal, meeting, ledger
   line and reward item.

The number of cases and of leaks is printed at the end of the run (tests/permissions/
conftest.py): "permission matrix: N cases over P URL patterns, 0 leaks".
"""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from tests.permissions import expected
from tests.permissions.harness import answer_code, ask, client_for, leaks, sessions
from tests.permissions.tally import TALLY
from tests.permissions.urls import ARGS, admin_kwargs, admin_patterns, named_patterns
from tests.permissions.world import PERSONAS

pytestmark = pytest.mark.django_db

# Pages anyone may open (an anonymous visitor included).
PUBLIC = frozenset(
    {
        "healthz",
        "livez",
        "set_language",
        "login",
        "password_reset",
        "password_reset_done",
        "password_reset_code",
        "password_reset_confirm",
        "open311:services",
        "open311:service",
        "open311:requests",
        "open311:request",
        "open311:photo",
        "citizens:sign_in",
        "citizens:sign_in_code",
        "citizens:privacy",
        "citizens:proposal_receipt",
        "citizens:track",
        "citizens:track_rate",
        "citizens:track_photo",
        "notifications:badge",
    }
)
# Where the problems themselves are public: the Open311 API (every problem, its reporter
# left out) and a reporter's tracking link (the token sent to them is the permission).
PUBLIC_KINDS = {
    "open311:requests": frozenset({"ticket"}),
    "open311:request": frozenset({"ticket"}),
    "open311:photo": frozenset({"ticket"}),
    "citizens:track": frozenset({"ticket"}),
    "citizens:track_rate": frozenset({"ticket"}),
    "citizens:track_photo": frozenset({"ticket"}),
}
PROBE = os.environ.get("PERMISSION_MATRIX_PROBE")  # a path: write the answers seen there


@pytest.fixture(scope="module")
def cookies(mworld, django_db_blocker):
    with django_db_blocker.unblock():
        return sessions(mworld, PERSONAS)


def test_every_pattern_is_in_the_matrix():
    portal = {name for name in named_patterns() if not name.startswith("admin:")}
    assert portal - set(ARGS) == set(), "add these views to tests/permissions/urls.py"
    assert set(ARGS) - portal == set(), "these views are gone: take them out of the matrix"
    assert set(ARGS) == {key.split("|")[0] for key in expected.EXPECTED}
    for key, codes in expected.EXPECTED.items():
        assert len(codes.split()) == len(PERSONAS), key


def _cases(name):
    kind, args = ARGS[name]
    return [(None, None)] if kind is None else [("A", kind), ("B", kind)]


observed: dict[str, str] = {}


@pytest.mark.parametrize("name", sorted(ARGS))
def test_matrix(mworld, cookies, name):
    kind, args = ARGS[name]
    failures = []
    TALLY["patterns"] += 1
    for side, _kind in _cases(name):
        obj = mworld.get(kind, side) if kind else None
        url = reverse(name, kwargs=args(obj) if args else None)
        key = f"{name}|{side}"
        want = expected.EXPECTED.get(key, "").split()
        seen = []
        for index, persona in enumerate(PERSONAS):
            response, body = ask(client_for(cookies[persona]), name, url)
            code = answer_code(response)
            seen.append(code)
            TALLY["cases"] += 1
            found = leaks(mworld, persona, body, PUBLIC_KINDS.get(name, frozenset()))
            if found:
                TALLY["leaks"] += 1
                failures.append(f"{key} {persona}: LEAK of {found}")
            if want and code != want[index]:
                failures.append(f"{key} {persona}: {code}, the matrix says {want[index]}")
            if response.status_code == 200 and name not in PUBLIC:
                if persona == "anonymous":
                    failures.append(f"{key}: 200 to an anonymous visitor")
                if obj is not None and persona not in obj.seen_by:
                    failures.append(f"{key} {persona}: 200 for an object out of their scope")
            if response.status_code >= 500:
                failures.append(f"{key} {persona}: server error {code}")
        observed[key] = " ".join(seen)
    if PROBE:
        import json

        with open(PROBE, "w") as out:
            json.dump(observed, out, ensure_ascii=False, indent=0, sort_keys=True)
    assert not failures, "\n".join(failures)


# The admin: who is not staff is sent to its login, whatever the page; staff with no
# permission reach its index and nothing of any model; a superuser every page.
ADMIN_PERSONAS = ("anonymous", "res_a", "community", "county", "staff", "admin")
ADMIN_OPEN = frozenset({"admin:login", "admin:jsi18n"})


def _admin_expected(name: str, persona: str) -> set[str]:
    if persona in ("anonymous", "res_a", "community", "county"):
        if name == "admin:login":
            return {"200"}
        if name == "admin:logout":
            return {"302"}  # signed out of nothing, sent on
        return {"302A"}
    if persona == "staff":
        return expected.ADMIN_STAFF.get(name, {"403"})
    return expected.ADMIN_SUPERUSER.get(name, {"200"})


admin_observed: dict[str, str] = {}


def test_admin_matrix(mworld, cookies):
    failures = []
    patterns = admin_patterns()
    TALLY["patterns"] += len(patterns)
    for name, params in patterns:
        url = reverse(name, kwargs=admin_kwargs(name, params, mworld))
        seen = []
        for persona in ADMIN_PERSONAS:
            response, body = ask(client_for(cookies[persona]), name, url)
            code = answer_code(response)
            seen.append(code)
            TALLY["cases"] += 1
            found = leaks(mworld, persona, body)
            if found:
                TALLY["leaks"] += 1
                failures.append(f"{name} {persona}: LEAK of {found}")
            if code not in _admin_expected(name, persona):
                failures.append(f"{name} {persona}: {code}")
            if response.status_code >= 500:
                failures.append(f"{name} {persona}: server error {code}")
        admin_observed[name] = " ".join(seen)
    if PROBE:
        import json

        with open(PROBE + ".admin", "w") as out:
            json.dump(admin_observed, out, ensure_ascii=False, indent=0, sort_keys=True)
    assert not failures, "\n".join(failures)


# Where each marker must show (to a persona who may see it): the leak check reads bodies in
# which markers do appear, so a marker missing everywhere would make "0 leaks" say nothing.
POSITIVE = (
    ("residents:resident_detail", "resident", "community", "居民U1"),
    ("residents:resident_export", None, "community", "居民U1"),
    ("issues:ticket_detail", "ticket", "community", "秘AT"),
    ("issues:inbox_ledger", None, "community", "秘AT"),
    ("citizens:problem", "ticket", "res_a", "秘AT"),
    ("wishes:detail", "wish", "community", "秘AW"),
    ("citizens:wish", "wish", "res_a", "秘AW"),
    ("deliberation:proposal_detail", "proposal", "community", "秘AP"),
    ("citizens:proposal", "proposal", "res_a", "秘AP"),
    ("councils:meeting", "council", "community", "秘AD"),
    ("points:person", "points_person", "community", "秘AR"),
    ("points:items", None, "community", "秘AI"),
    ("issues:meeting_detail", "ticket_meeting", "county", "秘AH"),
)


@pytest.mark.parametrize(("name", "kind", "persona", "marker"), POSITIVE)
def test_markers_show_where_they_may_so_a_leak_would_be_seen(
    mworld, cookies, name, kind, persona, marker
):
    _kind, args = ARGS[name]
    obj = mworld.get(kind, "A") if kind else None
    url = reverse(name, kwargs=args(obj) if args else None)
    response, body = ask(client_for(cookies[persona]), name, url)
    assert response.status_code == 200
    assert marker in body
    # The same body read as the other community's secretary's: a leak, and counted as one.
    assert marker in leaks(mworld, "outsider", body)

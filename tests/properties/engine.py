"""The machinery of the property-based tests: hostile values, a snapshot of every row of the
project's tables, one example run inside a savepoint that is rolled back (each example starts
from the same rows), and the tally the terminal summary prints.

An example is one request. Whatever it sends, the answer is never a server error and never an
exception. When the portal refuses it (a 4xx, a page with form errors, an error message) no
row changed anywhere; when it accepts it, every row it wrote or changed passes
``full_clean``."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from django import forms
from django.apps import apps
from django.contrib.messages import constants as message_levels
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

PROJECT_APPS = (
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
    "auth",
)
# Rows any request may write whatever its answer: the session, lockout and sign-in attempt
# bookkeeping, the admin's log of its own changes.
ALWAYS_ALLOWED = ("django_session", "axes_", "django_admin_log")

HYPOTHESIS = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
    database=None,
    derandomize=False,
)

# --- the tally printed at the end (tests/properties/conftest.py) --------------------------


@dataclass
class Tally:
    examples: int = 0
    accepted: int = 0  # answered as done (or, for a list's filters, shown)
    wrote: int = 0  # accepted and rows written
    refused: int = 0
    server_errors: int = 0
    partial_writes: int = 0


TALLIES: dict[str, dict[str, Tally]] = {"forms": {}, "imports": {}, "open311": {}}


def tally(kind: str, name: str) -> Tally:
    return TALLIES[kind].setdefault(name, Tally())


# --- hostile values ----------------------------------------------------------------------

CONTROL = ["\x00", "a\x07b", "\x1b[31mred", "line\rfeed", "\x7f", "tab\tin", "\u0085next"]
UNICODE = [
    "\u202eevil\u202c",  # right-to-left override
    "\u200b\u200c\u200d\ufeff",  # zero-width
    "👩‍👩‍👧‍👦🏳️‍🌈",
    "１３９００００１２３４",  # full-width digits
    "ｱｲｳｴｵ",
    "Ｚ̵̢͚̈́a̷l̶g̸o̵",
    "𠀀𪚥𰻞",  # outside the basic plane
    "اختبار",
    " ",
    "",
]
INJECTION = [
    "' OR '1'='1' --",
    "1; DROP TABLE grids_area;--",
    '" UNION SELECT password FROM auth_user --',
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "{{ settings.SECRET_KEY }}",
    "{% debug %}",
    "${7*7}#{7*7}",
    "%s%s%s%n",
    "../../../../etc/passwd",
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+86 139-0000-0001",
    "-2+3",
    "\\x00\\u0000",
    "null",
    "None",
    "[]",
    "{}",
]
NUMBERS = [
    "-1",
    "0",
    "-0",
    "1",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999999999999",
    "-99999999999999999999",
    "1e309",
    "1e-400",
    "NaN",
    "inf",
    "-inf",
    "0x10",
    "1_000",
    "３",
    "1.5",
    "1,5",
    " 7 ",
]
DATES = [
    "2026-02-30",
    "2026-13-01",
    "0000-00-00",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "1-1-1",
    "2026/03/10",
    "2026-03-10T25:61",
    "2026-03-10 09:00",
    "2026-03-10T09:00",
    "2026-03-10T09:00:00+23:59",
    "yesterday",
    "２０２６-０３-１０",
    "1970-01-01",
    "2038-01-19T03:14:08",
]
HUGE = ["字" * 5000, "a" * 70000, "=" * 3000, "\u200b" * 4000]

hostile_text = st.one_of(
    st.sampled_from(CONTROL + UNICODE + INJECTION + NUMBERS + DATES),
    st.sampled_from(HUGE),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
)


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (6, 6), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


PNG = png_bytes()
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@st.composite
def upload(draw):
    name = draw(st.sampled_from(["a.png", "b.jpg", "c.pdf", "../../x.png", "x", "照片.webp"]))
    body = draw(
        st.sampled_from(
            [
                PNG,
                PDF,
                b"",
                b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,  # a PNG's signature, nothing after
                b"<svg onload=alert(1)>",
                b"GIF89a" + b"\x00" * 20,
            ]
        )
        | st.binary(max_size=200)
    )
    kind = draw(st.sampled_from(["image/png", "application/pdf", "text/html", ""]))
    return SimpleUploadedFile(name, body, content_type=kind)


def plausible(form_field: forms.Field, name: str, ids: list) -> st.SearchStrategy:
    """Values the field could accept, so that some examples go through."""
    some_id = st.sampled_from([str(i) for i in ids]) if ids else st.integers(1, 40).map(str)
    if isinstance(form_field, forms.FileField):
        return st.builds(lambda: SimpleUploadedFile("照片.png", PNG, content_type="image/png"))
    if isinstance(form_field, forms.NullBooleanField):
        return st.sampled_from(["true", "false", "unknown", "1", "2", "3", ""])
    if isinstance(form_field, forms.BooleanField):
        return st.sampled_from(["on", "", "false", "0", "1"])
    if isinstance(form_field, forms.ModelChoiceField | forms.ModelMultipleChoiceField):
        return some_id
    if isinstance(form_field, forms.ChoiceField):
        static = [
            str(key)
            for key, _label in getattr(form_field, "choices", [])
            if not isinstance(_label, list | tuple)
        ]
        return st.sampled_from(static) | some_id if static else some_id
    if isinstance(form_field, forms.DecimalField | forms.FloatField):
        return st.decimals(-5, 100, places=1, allow_nan=False).map(str)
    if isinstance(form_field, forms.IntegerField):
        low = form_field.min_value if form_field.min_value is not None else -5
        high = form_field.max_value if form_field.max_value is not None else 1000
        return st.integers(low, high).map(str) | some_id
    if isinstance(form_field, forms.DateTimeField):
        return st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2028, 12, 31)).map(
            lambda moment: moment.strftime("%Y-%m-%dT%H:%M")
        )
    if isinstance(form_field, forms.DateField):
        return st.dates(dt.date(2024, 1, 1), dt.date(2028, 12, 31)).map(dt.date.isoformat)
    if "phone" in name:
        return st.sampled_from(["13900001234", "+86 139 0000 1234", "１３９００００１２３４"])
    return st.sampled_from(["楼道灯坏了，晚上看不见", "议定三件事", "好", "x" * 30]) | st.text(
        min_size=1, max_size=20
    )


@st.composite
def form_data(draw, fields: dict, *, prefix: str = "", good: dict | None = None, ids=()):
    """A POST (or GET) body for ``fields``: each field plausible, hostile, missing or a list,
    and now and then a field nobody asked for."""
    good = good or {}
    data: dict = {}
    # Half the examples are a form someone could fill in, one field at most made hostile;
    # the others mix missing, hostile and list values in every field.
    careful = draw(st.booleans())
    spoilt = draw(st.sampled_from([None, *fields])) if careful else None
    for name, form_field in fields.items():
        key = f"{prefix}-{name}" if prefix else name
        if careful:
            choice = draw(st.sampled_from([6, 8, 0])) if name == spoilt else 1
        else:
            choice = draw(st.integers(0, 9))
        if choice == 0:
            continue  # missing
        usual = good.get(name) or plausible(form_field, name, list(ids))
        if choice <= 5:
            value = draw(usual)
        elif choice <= 7:
            value = draw(upload() if isinstance(form_field, forms.FileField) else hostile_text)
        else:
            value = draw(st.lists(usual | hostile_text, min_size=0, max_size=3))
        if isinstance(value, SimpleUploadedFile) or (
            isinstance(value, list) and any(isinstance(v, SimpleUploadedFile) for v in value)
        ):
            if not isinstance(form_field, forms.FileField):
                continue
        elif isinstance(form_field, forms.FileField):
            # A text value where a file goes: sent as a field, which the form ignores.
            pass
        data[key] = value
    if draw(st.integers(0, 5)) == 0:
        data[draw(st.sampled_from(["id", "pk", "csrfmiddlewaretoken", "next", "x" * 100]))] = draw(
            hostile_text
        )
    return data


# --- rows before and after ---------------------------------------------------------------


def tracked_models():
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS and not model._meta.proxy
    ]


def snapshot() -> dict[str, dict]:
    """Every row of every tracked table, keyed by table and primary key."""
    rows: dict[str, dict] = {}
    with connection.cursor() as cursor:
        for model in tracked_models():
            table = model._meta.db_table
            if table.startswith(ALWAYS_ALLOWED):
                continue
            pk = model._meta.pk.column
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (table names of our models)
            names = [column[0] for column in cursor.description]
            at = names.index(pk)
            rows[table] = {row[at]: row for row in cursor.fetchall()}
    return rows


@dataclass
class Changes:
    added: dict = field(default_factory=dict)
    changed: dict = field(default_factory=dict)
    removed: dict = field(default_factory=dict)

    def tables(self) -> set[str]:
        return set(self.added) | set(self.changed) | set(self.removed)

    def describe(self) -> str:
        return "; ".join(
            f"{what} {table}: {sorted(pks, key=str)[:5]}"
            for what, part in (
                ("added", self.added),
                ("changed", self.changed),
                ("removed", self.removed),
            )
            for table, pks in part.items()
        )


def compare(before: dict, after: dict, allowed=()) -> Changes:
    changes = Changes()
    for table, rows in after.items():
        if table.startswith(tuple(allowed)):
            continue
        old = before.get(table, {})
        added = set(rows) - set(old)
        removed = set(old) - set(rows)
        changed = {pk for pk in set(rows) & set(old) if rows[pk] != old[pk]}
        if added:
            changes.added[table] = added
        if removed:
            changes.removed[table] = removed
        if changed:
            changes.changed[table] = changed
    return changes


def inconsistent(changes: Changes) -> list[str]:
    """Rows written or changed that do not pass their model's own checks."""
    by_table = {model._meta.db_table: model for model in tracked_models()}
    problems = []
    for part in (changes.added, changes.changed):
        for table, pks in part.items():
            model = by_table[table]
            for obj in model._base_manager.filter(pk__in=pks):
                try:
                    obj.full_clean(validate_unique=False, validate_constraints=False)
                except ValidationError as exc:
                    problems.append(f"{table} #{obj.pk}: {exc.message_dict}")
    return problems


class _Rollback(Exception):
    pass


class rolled_back:
    """``with rolled_back(): …`` — whatever the block writes is undone when it ends."""

    def __enter__(self):
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        return self

    def __exit__(self, kind, value, trace):
        self._atomic.__exit__(_Rollback, _Rollback(), None)
        return False


# --- what the answer says ----------------------------------------------------------------

REFUSING = {400, 403, 404, 405, 409, 410, 413, 422, 429}


def _context_values(context):
    try:
        flat = context.flatten()
    except AttributeError:
        flat = {}
        for part in context:
            flat.update(part.flatten() if hasattr(part, "flatten") else part)
    return list(flat.values())


def messages_of(response) -> list:
    storage = getattr(response.wsgi_request, "_messages", None)
    return list(getattr(storage, "_queued_messages", [])) if storage is not None else []


def check_answer(kind, name, response, before, allowed=()) -> Changes:
    """The invariants of one example; raises AssertionError (hypothesis shrinks it)."""
    count = tally(kind, name)
    count.examples += 1
    if response.status_code >= 500:
        count.server_errors += 1
        raise AssertionError(f"{name}: server error {response.status_code}")
    changes = compare(before, snapshot(), allowed=(*ALWAYS_ALLOWED, *allowed))
    said_no = (
        response.status_code in REFUSING or _form_errors(response) or _error_messages(response)
    )
    if said_no:
        count.refused += 1
        if changes.tables():
            count.partial_writes += 1
            raise AssertionError(
                f"{name}: refused ({response.status_code}) yet rows changed: {changes.describe()}"
            )
    else:
        count.accepted += 1
        count.wrote += int(bool(changes.tables()))
        problems = inconsistent(changes)
        if problems:
            count.partial_writes += 1
            raise AssertionError(f"{name}: accepted, rows fail full_clean: {problems}")
    return changes


def _form_errors(response) -> bool:
    context = getattr(response, "context", None)
    if context is None:
        return False
    return any(
        isinstance(value, forms.BaseForm) and value.is_bound and bool(value.errors)
        for value in _context_values(context)
    )


def _error_messages(response) -> bool:
    return any(m.level >= message_levels.ERROR for m in messages_of(response))

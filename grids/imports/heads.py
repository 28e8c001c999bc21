"""The heads import: people into posts, by area code, title and phone.

Each row is handed over as ``grids.services.post_assign`` would, in file order, by the same
rule (``post_hand_over``): a row whose post already has another current principal ends that
holder's post (the history stays) and starts the new one. Posts that are not in the file
are left alone: a partial file never removes anybody. All or nothing, like the area import.

With ``logins``, the people of the file get logins too, in the same transaction
(``grids.imports.logins``: username the mobile number, a one-time password by SMS or shown
once to the importer).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from core.importing import (
    BATCH,
    PREVIEW_ROWS,
    ImportReport,
    Progress,
    chunks,
    import_failed,
    no_progress,
    parse_bool,
    parse_date,
)
from core.spreadsheets import CellError, ColumnMap, Table, map_columns
from grids import rules
from grids.imports.columns import HEAD_COLUMNS, TITLE_LOOKUP, TITLE_NAMES
from grids.imports.logins import LoginDelivery, OneTimePassword, logins_plan, logins_write
from grids.imports.sql import (
    WRITE_BATCH,
    AreaKey,
    area_keys_by_code,
    insert_persons,
    insert_posts,
    rows_any_of,
)
from grids.models import ImportRun, Person, Post
from grids.services import import_run_record, post_hand_over
from grids.validators import normalize_phone, validate_phone, validate_post_start


@dataclass(slots=True)  # 100,000s of them in one import
class _HeadRow:
    line: int
    area_code: str
    title: str
    name: str
    phone: str
    public: bool
    deputy: bool
    started_on: dt.date | None


@dataclass
class HeadImportReport(ImportReport):
    """An ``ImportReport`` with the logins the import made (``logins`` asked for them)."""

    logins: str = LoginDelivery.NONE
    logins_created: int = 0
    logins_linked: int = 0
    # The new logins' one-time passwords when they are to be shown once (``LoginDelivery.
    # SHOW``): held here only, for the page that answers the import, never written down.
    passwords: list[OneTimePassword] = field(default_factory=list, repr=False)

    def summary(self) -> str:
        text = super().summary()
        if self.logins:
            text += _("; logins: %(created)s new, %(linked)s existing linked") % {
                "created": self.logins_created,
                "linked": self.logins_linked,
            }
            if self.logins == LoginDelivery.SMS:
                text += _(" (one-time passwords by SMS)")
            else:
                text += _(" (one-time passwords shown once, after the import)")
        return text


def heads_import(
    *,
    table: Table,
    dry_run: bool = False,
    source: str = "",
    user=None,
    progress: Progress = no_progress,
    logins: str = LoginDelivery.NONE,
) -> HeadImportReport:
    """Put the heads in ``table`` into their posts (see the module's docstring), and with
    ``logins`` (a ``LoginDelivery``) give them logins. Raises ``ImportFailed``; then nothing
    was written and nothing sent."""
    started = time.monotonic()
    logins = LoginDelivery(logins)
    report = HeadImportReport(
        target="heads",
        dry_run=dry_run,
        rows=len(table.rows),
        encoding=table.encoding,
        logins=logins,
    )
    cols = map_columns(table, HEAD_COLUMNS)
    rows = _parse_head_rows(table, cols, report.errors)
    progress("read", len(rows), len(table.rows))

    with transaction.atomic():
        areas = area_keys_by_code(r.area_code for r in rows)
        persons = _load_persons({r.phone for r in rows})
        _check_head_rows(rows, areas, cols, report.errors)
        login_plan = logins_plan(rows, persons, cols, report.errors) if logins else None
        if report.errors:
            raise import_failed(report, started)
        plan = _HeadPlan(rows, areas, persons)
        del areas  # each planned row carries its area's id; the lookup is let go
        report.created, report.updated, report.unchanged = plan.counts()
        report.ended = len(plan.to_end)
        report.preview = plan.preview
        if login_plan is not None:
            report.logins_created = len(login_plan.create)
            report.logins_linked = len(login_plan.link)
        if not dry_run:
            with audit.import_context(ImportRun.Target.HEADS, source, user):
                plan.write()
                if login_plan is not None:
                    report.passwords = logins_write(login_plan, delivery=logins)
            progress("written", len(rows), len(rows))
            report.seconds = time.monotonic() - started
            import_run_record(
                target=ImportRun.Target.HEADS, report=report, source=source, user=user
            )
    report.seconds = time.monotonic() - started
    return report


# -- reading the rows -------------------------------------------------------------------------


def _parse_head_rows(table: Table, cols: ColumnMap, errors: list[CellError]) -> list[_HeadRow]:
    rows: list[_HeadRow] = []
    today = timezone.localdate()
    for line, cells in table.rows:

        def bad(key: str, message: str, line=line) -> None:
            errors.append(CellError(line, cols.label(key), message))

        row = _parse_head_row(line, cells, cols, bad, today)
        # A row with a usable area and title still takes part in the checks across rows, so
        # that one upload reports every problem at once; the write needs every row clean.
        if row is not None:
            rows.append(row)
    return rows


def _parse_head_row(
    line: int, cells: list[str], cols: ColumnMap, bad, today: dt.date
) -> _HeadRow | None:
    area_code = cols.get(cells, "area_code")
    if not area_code:
        bad("area_code", _("the area code is empty"))
    title_text = cols.get(cells, "title")
    title = TITLE_LOOKUP.get(title_text.lower(), "")
    if not title:
        bad(
            "title",
            _("unknown title “%(v)s” (one of: %(names)s)")
            % {"v": title_text, "names": "、".join(n[0] for n in TITLE_NAMES.values())},
        )
    name = cols.get(cells, "name")
    if not name:
        bad("name", _("the person's name is empty"))
    elif len(name) > (limit := Person._meta.get_field("name").max_length):
        bad("name", _("the person's name is longer than %(max)s characters") % {"max": limit})
    phone = normalize_phone(cols.get(cells, "phone"))
    try:
        validate_phone(phone)
    except ValidationError as exc:
        bad("phone", exc.messages[0] if phone else _("the phone number is empty"))
        phone = ""
    flags = {}
    for key, default in (("public", True), ("deputy", False)):
        text = cols.get(cells, key)
        flags[key] = default if not text else parse_bool(text)
        if flags[key] is None:
            bad(key, _("“%(v)s” is neither yes (是) nor no (否)") % {"v": text})
    started_on = None
    if text := cols.get(cells, "started_on"):
        started_on = parse_date(text)
        if started_on is None:
            bad("started_on", _("“%(v)s” is not a date (YYYY-MM-DD)") % {"v": text})
        elif started_on > today:  # the rule post_assign checks (validate_post_start)
            try:
                validate_post_start(started_on)
            except ValidationError as exc:
                bad("started_on", exc.messages[0])
    if not (area_code and title):
        return None
    return _HeadRow(
        line, area_code, title, name, phone, flags["public"], flags["deputy"], started_on
    )


def _check_head_rows(
    rows: list[_HeadRow], areas: dict[str, AreaKey], cols: ColumnMap, errors: list[CellError]
) -> None:
    """The checks across rows and against the portal: known areas, titles allowed there, one
    principal per post, one person once per post, one name per phone."""

    def bad(line: int, key: str, message: str) -> None:
        errors.append(CellError(line, cols.label(key), message))

    seen_post: dict[tuple, int] = {}
    seen_phone: dict[str, _HeadRow] = {}
    for row in rows:
        area = areas.get(row.area_code)
        if area is None:
            bad(row.line, "area_code", _("unknown area code “%(v)s”") % {"v": row.area_code})
            continue
        message = rules.title_kind_error(row.title, area.kind)
        if message:
            bad(row.line, "title", message)
        # One principal per post, and one person once per post (as principal or deputy).
        keys = [(row.area_code, row.title, "person", row.phone)]
        if not row.deputy:
            keys.append((row.area_code, row.title, "principal"))
        for key in keys:
            if key in seen_post and (row.phone or key[2] == "principal"):
                bad(
                    row.line,
                    "title",
                    _("this post is already given on line %(first)s") % {"first": seen_post[key]},
                )
                break
        for key in keys:
            seen_post.setdefault(key, row.line)
        if not row.phone or not row.name:
            continue
        first = seen_phone.setdefault(row.phone, row)
        if first.name != row.name:
            bad(
                row.line,
                "phone",
                _("phone %(phone)s belongs to %(name)s on line %(first)s")
                % {"phone": row.phone, "name": first.name, "first": first.line},
            )


def _load_persons(phones: set[str]) -> dict[str, Person]:
    return {p.phone: p for p in rows_any_of(Person.objects.order_by(), "phone", sorted(phones))}


# -- the plan ---------------------------------------------------------------------------------


class _HeadPlan:
    def __init__(self, rows: list[_HeadRow], areas: dict[str, AreaKey], persons: dict[str, Person]):
        self.persons = persons
        self.preview: list[tuple[int, str, str, str]] = []
        # New people by phone: just their names (no model instance per row).
        self.new_persons: dict[str, str] = {}
        self.renamed: list[Person] = []
        self.to_create: list[tuple[_HeadRow, int]] = []
        self.to_update: list[Post] = []
        self.to_end: list[Post] = []
        self.unchanged = 0
        self._today = timezone.localdate()
        area_ids = [a.pk for a in areas.values()]
        held_now = Post.objects.filter(ended_on__isnull=True).order_by()
        current = rows_any_of(held_now, "area", area_ids)
        # The posts still held, per area and title, as the rows before have left them: each
        # row is one post_assign, in file order. Posts the file creates are not added: the
        # row checks (one principal per post, a person once per post) leave no later row
        # that could end or change them.
        self._held: dict[tuple[int, str], list[Post]] = defaultdict(list)
        for post in current:
            self._held[(post.area_id, post.title)].append(post)
        for row in rows:
            self._plan_row(row, areas[row.area_code].pk)

    def _person_for(self, row: _HeadRow) -> Person | None:
        """The person with the row's phone, renamed as the row says; None for one the import
        creates (``new_persons``)."""
        person = self.persons.get(row.phone)
        if person is None:
            self.new_persons.setdefault(row.phone, row.name)
        elif person.name != row.name:
            person.name = row.name
            self.renamed.append(person)
        return person

    def _plan_row(self, row: _HeadRow, area_id: int) -> None:
        person = self._person_for(row)
        # .get, not the defaultdict's []: an empty list a row for posts nobody holds would be
        # 100 MB at a city's size. Nothing is ended from an empty list.
        held = self._held.get((area_id, row.title), [])
        hand_over = post_hand_over(
            current=held,
            person_id=person.pk if person is not None else None,
            is_deputy=row.deputy,
            started_on=row.started_on or self._today,
        )
        for ended, ended_on in hand_over.ends:
            ended.ended_on = ended_on
            self.to_end.append(ended)
            held.remove(ended)
        post = hand_over.same
        if post is None:
            self.to_create.append((row, area_id))
            self._preview(row, "new")
        elif (post.is_public, post.is_deputy) != (row.public, row.deputy) or (
            person in self.renamed
        ):
            post.is_public, post.is_deputy = row.public, row.deputy
            self.to_update.append(post)
            self._preview(row, "update")
        else:
            self.unchanged += 1
            self._preview(row, "unchanged")

    def _preview(self, row: _HeadRow, action: str) -> None:
        if len(self.preview) < PREVIEW_ROWS:
            label = f"{row.area_code} {TITLE_NAMES[row.title][0]} {row.name}"
            self.preview.append((row.line, action, label, ""))

    def counts(self) -> tuple[int, int, int]:
        return len(self.to_create), len(self.to_update), self.unchanged

    def write(self) -> None:
        person_ids = {phone: person.pk for phone, person in self.persons.items()}
        # Built a batch at a time, here and for the posts below: the city's whole file as
        # tuples would be another 100 MB at the import's peak.
        new_phones = sorted(self.new_persons)
        for chunk in chunks(new_phones, WRITE_BATCH):
            made = [(phone, self.new_persons[phone]) for phone in chunk]
            person_ids.update(insert_persons(made, timezone.now()))
        Person.objects.bulk_update(self.renamed, ["name"], batch_size=BATCH)
        Post.objects.bulk_update(self.to_end, ["ended_on"], batch_size=BATCH)
        Post.objects.bulk_update(self.to_update, ["is_public", "is_deputy"], batch_size=BATCH)
        today = timezone.localdate()
        for chunk in chunks(self.to_create, WRITE_BATCH):
            posts = [
                (
                    person_ids[row.phone],
                    area_id,
                    row.title,
                    row.deputy,
                    row.public,
                    row.started_on or today,
                )
                for row, area_id in chunk
            ]
            insert_posts(posts)

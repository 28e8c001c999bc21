"""What every spreadsheet import shares: the report, the failure, batching and yes/no cells,
and the one preview/confirm flow of an upload (``import_preview`` then ``import_confirm``)
that the admin's and the portal's import pages both go through."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.spreadsheets import CellError, ReadLimits, SpreadsheetError, detect_format, read_table
from core.uploads import UploadTooLarge, upload_discard, upload_path, upload_store

Progress = Callable[[str, int, int], None]  # (stage, done, total)

BATCH = 2000
LOOKUP_CHUNK = 5000  # codes per IN (...) lookup: well under SQLite's variable limit

YES = {"是", "y", "yes", "true", "1", "√", "公示"}
NO = {"否", "n", "no", "false", "0", "", "不公示"}


_DATE_RE = re.compile(r"^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?$")


def parse_date(text: str) -> dt.date | None:
    """A date as spreadsheets write it: 2024-03-05, 2024/3/5 (Excel in a Chinese locale),
    2024.3.5, 2024年3月5日 or 20240305. None if it is no real date."""
    text = text.strip()
    if re.fullmatch(r"[0-9]{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    match = _DATE_RE.match(text)
    if not match:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def parse_bool(text: str) -> bool | None:
    value = text.strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    return None


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do). ``errors`` non-empty: nothing written."""

    target: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ended: int = 0  # heads: posts ended because a new principal took over
    renumbered: int = 0  # areas: existing nodes whose tree numbers shifted
    errors: list[CellError] = field(default_factory=list)
    preview: list[tuple[int, str, str, str]] = field(
        default_factory=list
    )  # line, action, code, what
    seconds: float = 0.0
    encoding: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        text = _("%(rows)s rows: %(created)s new, %(updated)s changed, %(unchanged)s unchanged") % {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }
        if self.ended:
            text += _(", %(ended)s previous holders' posts ended") % {"ended": self.ended}
        return text


class ImportFailed(Exception):
    def __init__(self, report: ImportReport):
        self.report = report
        super().__init__("\n".join(str(e) for e in report.errors))


def import_failed(report: ImportReport, started: float) -> ImportFailed:
    """The failure of an import that found ``report.errors``: sorted by line and column, with
    the time taken since ``started`` (``time.monotonic()``)."""
    report.errors.sort(key=lambda e: (e.line, e.column))
    report.seconds = time.monotonic() - started
    return ImportFailed(report)


PREVIEW_ROWS = 500


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def no_progress(stage: str, done: int, total: int) -> None:
    pass


# -- the preview/confirm flow of an upload ----------------------------------------------------

# run(table=..., dry_run=..., source=...) -> ImportReport, raising ImportFailed: an import
# with whatever else it needs (the user, say) already bound, e.g. with functools.partial.
Run = Callable[..., ImportReport]

UPLOAD_EXPIRED = gettext_lazy("The uploaded file has expired; please upload it again.")


@dataclass
class ImportStep:
    """What a preview or a confirmation came to, for the page to show.

    ``errors``: nothing was (or would be) written. ``token``: a preview without errors,
    whose upload is kept until it is confirmed. ``expired``: a confirmation whose upload is
    gone (expired, spent, or a token that names no upload)."""

    report: ImportReport | None = None
    errors: list[CellError] = field(default_factory=list)
    token: str = ""
    filename: str = ""
    expired: bool = False

    @property
    def ok(self) -> bool:
        return self.report is not None and not self.errors and not self.expired

    def context(self) -> dict:
        """What the import templates (``_import_result.html``) read."""
        return {
            "report": self.report,
            "errors": self.errors,
            "token": self.token,
            "filename": self.filename,
        }

    def imported_message(self) -> str:
        return _("Imported %(file)s: %(summary)s") % {
            "file": self.filename,
            "summary": self.report.summary() if self.report else "",
        }


def upload_errors(upload, limits: ReadLimits | None = None) -> list[CellError]:
    """What is wrong with an upload before it is even stored: a file type that is not a
    spreadsheet, or a size over the limit (the web's by default)."""
    limits = limits or ReadLimits.web()
    try:
        detect_format(upload.name)
        limits.check_size(upload.size)
    except SpreadsheetError as exc:
        return exc.errors
    return []


def import_preview(upload, *, run: Run) -> ImportStep:
    """Check an upload: store it (readable by this user only), dry-run the import on it and
    keep it for ``import_confirm`` if nothing is wrong; any error and it is not kept."""
    limits = ReadLimits.web()
    errors = upload_errors(upload, limits)
    if errors:
        return ImportStep(errors=errors, filename=upload.name)
    try:
        token = upload_store(upload, max_bytes=limits.max_bytes)
    except UploadTooLarge as exc:  # larger than it said it was
        return ImportStep(errors=_size_errors(exc, limits), filename=upload.name)
    try:
        step = _run(run, upload_path(token), upload.name, dry_run=True)
    except BaseException:
        upload_discard(token)
        raise
    if step.errors:
        upload_discard(token)  # nothing to confirm: don't keep the personal data
    else:
        step.token = token
    return step


def import_confirm(token: str, *, filename: str | None = None, run: Run) -> ImportStep:
    """Import the upload previewed under ``token`` (checked again: the data may have moved
    on). The upload is removed whatever happens; an unknown token comes back ``expired``."""
    stored = upload_path(token)
    if stored is None:
        return ImportStep(expired=True)
    name = stored.name if filename is None else filename
    try:
        return _run(run, stored, name, dry_run=False)
    finally:
        stored.unlink(missing_ok=True)  # confirmed or failed, it is not kept


def _size_errors(exc: UploadTooLarge, limits: ReadLimits) -> list[CellError]:
    try:
        limits.check_size(max(exc.size, exc.limit + 1))
    except SpreadsheetError as too_large:
        return too_large.errors
    return []  # not reached: the size is over the limit


def _run(run: Run, stored: Path, name: str, *, dry_run: bool) -> ImportStep:
    try:
        report = run(table=read_table(stored, name=name), dry_run=dry_run, source=name)
    except SpreadsheetError as exc:
        return ImportStep(errors=exc.errors, filename=name)
    except ImportFailed as exc:
        return ImportStep(report=exc.report, errors=exc.report.errors, filename=name)
    return ImportStep(report=report, filename=name)

"""What every spreadsheet import shares: the report, the failure, batching and yes/no cells."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from core.spreadsheets import CellError

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

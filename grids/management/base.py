"""What the import/export commands share: reading the file, progress, error output, exit codes."""

import getpass
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from core import audit
from core.spreadsheets import (
    FORMATS,
    MB,
    ReadLimits,
    SpreadsheetError,
    detect_format,
    read_table,
    write_table,
)
from grids.imports import ImportFailed


class Progress:
    """Prints a line per stage and at most every 10 % of a large stage, to stderr."""

    def __init__(self, stream, verbosity: int):
        self.stream, self.verbosity = stream, verbosity
        self.last: tuple[str, int] = ("", -1)
        self.started = time.monotonic()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.verbosity < 1:
            return
        tenth = 10 * done // total if total else 10
        if (stage, tenth) == self.last:
            return
        self.last = (stage, tenth)
        elapsed = time.monotonic() - self.started
        self.stream.write(f"  {stage}: {done}/{total} ({elapsed:.1f}s)\n")
        self.stream.flush()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return str(os.getuid())


class ImportCommand(BaseCommand):
    service = None  # set by subclasses: one of grids.imports.*_import
    what = ""

    def add_arguments(self, parser):
        parser.add_argument("path", help="a .csv (UTF-8, UTF-8 with BOM or GBK) or .xlsx file")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, write nothing"
        )
        parser.add_argument(
            "--max-rows",
            type=int,
            default=0,
            help="refuse a file with more data rows than this (default 0: no limit)",
        )
        parser.add_argument(
            "--max-mb",
            type=int,
            default=0,
            help="refuse a file larger than this many MB, or an XLSX that unpacks to more "
            "than ten times that (default 0: no limit)",
        )

    def service_kwargs(self, options) -> dict:
        return {}

    def handle(self, *args, path, dry_run, verbosity, max_rows=0, max_mb=0, **options):
        translation.activate("zh-hans")
        extra = self.service_kwargs(options)
        if not Path(path).is_file():
            raise CommandError(f"{path}: no such file")
        limits = ReadLimits.command_line()
        if max_rows:
            limits = replace(limits, max_rows=max_rows)
        if max_mb:
            limits = replace(limits, max_bytes=max_mb * MB, max_unpacked_bytes=10 * max_mb * MB)
        try:
            table = read_table(path, limits=limits)
            # The history's rows of a command-line import name the command and who ran it.
            with audit.context(command=f"import_{self.what}", os_user=_os_user()):
                report = type(self).service(
                    table=table,
                    dry_run=dry_run,
                    source=Path(path).name,
                    progress=Progress(sys.stderr, verbosity),
                    **extra,
                )
        except SpreadsheetError as exc:
            self._fail(path, exc.errors)
        except ImportFailed as exc:
            self._fail(path, exc.report.errors)
        mode = "dry run, nothing written" if dry_run else "written"
        encoding = f", {report.encoding}" if report.encoding else ""
        self.stdout.write(
            f"{self.what} {path} ({mode}{encoding}): {report.summary()} "
            f"in {report.seconds:.2f}s ({report.rows / max(report.seconds, 1e-6):.0f} rows/s)"
        )
        self.report_done(report)

    def report_done(self, report) -> None:
        """What a command prints after the summary of a finished import."""

    def _fail(self, path, errors):
        for error in errors:
            self.stderr.write(f"{path}: {error}")
        raise CommandError(f"{len(errors)} error(s); nothing was written")


class ExportCommand(BaseCommand):
    headers = None
    rows = None
    what = ""

    def add_arguments(self, parser):
        parser.add_argument("path", help="where to write: .csv (UTF-8 with BOM) or .xlsx")
        parser.add_argument("--format", choices=FORMATS, help="default: from the file name")

    def handle(self, *args, path, format, **options):
        fmt = format or detect_format(path)
        count = write_table(path, fmt, type(self).headers(), type(self).rows())
        self.stdout.write(f"{self.what}: {count} rows written to {path}")

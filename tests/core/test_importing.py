"""The one preview/confirm flow of a spreadsheet upload (core.importing), with a stand-in
import: the admin's and the portal's import pages are tested through it in their own apps."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from core.importing import (
    UPLOAD_EXPIRED,
    ImportFailed,
    ImportReport,
    import_confirm,
    import_preview,
)
from core.spreadsheets import CellError

CSV = "编码,名称\nA1,甲\nA2,乙\n".encode()


class FakeImport:
    """Counts the rows it is given; fails on a row named 错."""

    def __init__(self):
        self.calls = []

    def __call__(self, *, table, dry_run, source):
        self.calls.append((dry_run, source, [cells for _line, cells in table.rows]))
        report = ImportReport(target="fake", dry_run=dry_run, rows=len(table.rows))
        bad = [line for line, cells in table.rows if "错" in cells]
        if bad:
            report.errors.append(CellError(bad[0], "B", "错"))
            raise ImportFailed(report)
        report.created = len(table.rows)
        return report


def upload(data: bytes = CSV, name: str = "f.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def test_a_clean_preview_keeps_the_upload_and_its_confirm_imports_it_once(upload_dir):
    run = FakeImport()
    step = import_preview(upload(), run=run)
    assert step.ok and step.token and step.filename == "f.csv"
    assert step.report.dry_run and step.report.created == 2
    assert (upload_dir / step.token).stat().st_mode & 0o777 == 0o600
    assert step.context() == {
        "report": step.report,
        "errors": [],
        "token": step.token,
        "filename": "f.csv",
    }

    done = import_confirm(step.token, filename="f.csv", run=run)
    assert done.ok and not done.report.dry_run and done.filename == "f.csv"
    assert "f.csv" in done.imported_message()
    assert [(dry, source) for dry, source, _rows in run.calls] == [
        (True, "f.csv"),
        (False, "f.csv"),
    ]
    assert not (upload_dir / step.token).exists()
    again = import_confirm(step.token, filename="f.csv", run=run)
    assert again.expired and not again.ok and len(run.calls) == 2


def test_a_failing_preview_keeps_nothing_and_offers_no_token(upload_dir):
    step = import_preview(upload("编码,名称\nA1,错\n".encode()), run=FakeImport())
    assert not step.ok and step.token == ""
    assert [(e.line, e.message) for e in step.errors] == [(2, "错")]
    assert step.report is not None  # the counts of the failed dry run, for the page
    assert not any(upload_dir.iterdir())


def test_an_unreadable_or_wrong_type_upload_is_an_error_before_the_import(upload_dir):
    run = FakeImport()
    assert import_preview(upload(b"\x00\x01", "f.xlsx"), run=run).errors
    assert import_preview(upload(CSV, "f.pdf"), run=run).errors
    assert run.calls == [] and not any(upload_dir.iterdir())


def test_shape_an_upload_larger_than_it_said_is_an_error_not_a_crash(upload_dir, settings):
    settings.SPREADSHEET_MAX_UPLOAD_BYTES = 10
    lying = upload(CSV * 3)
    lying.size = 5  # what the client claimed
    step = import_preview(lying, run=FakeImport())
    assert not step.ok and "MB" in step.errors[0].message
    assert not upload_dir.exists() or not any(upload_dir.iterdir())


def test_a_confirm_that_fails_on_changed_data_removes_the_upload_too(upload_dir):
    run = FakeImport()
    step = import_preview(upload(), run=run)
    (upload_dir / step.token).write_bytes("编码,名称\nA1,错\n".encode())
    done = import_confirm(step.token, run=run)
    assert not done.ok and done.errors and not done.expired
    assert done.filename == step.token  # no file name posted: the stored one
    assert not (upload_dir / step.token).exists()


def test_a_crafted_token_is_expired(upload_dir):
    for token in ("", "../../pyproject.toml", "a/b.csv", "missing.csv"):
        assert import_confirm(token, run=FakeImport()).expired
    assert str(UPLOAD_EXPIRED)

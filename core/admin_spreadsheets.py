"""django-import-export (the holiday and department screens) on the portal's spreadsheet rules.

Its own formats read a whole upload with no limit, in any of eight formats, and escape only a
leading ``=`` on export. Here it gets two formats, CSV and XLSX, that read through
``core.spreadsheets.read_table`` (the upload limits, GBK detection, control characters as
cell errors, our formula escape undone) and write through ``write_table`` (every cell escaped
by the one rule, XLSX cells always text), and a temporary storage that keeps the upload
between preview and confirm in ``core.uploads`` (0600, swept).

The screens themselves stay django-import-export's rather than ``core.importing``'s
preview/confirm flow: that flow runs an import that takes a ``Table`` and returns an
``ImportReport``, while these screens run the library's ``Resource.import_data`` (a
``Result`` of row diffs and per-row errors, shown by the library's own templates, confirmed
through its ``process_import`` with the format and resource posted back). Folding one into
the other would mean rewriting ``import_action`` and ``process_import``. What lies under the
flow is shared: the upload store, the read limits and the expired-upload message.
"""

from __future__ import annotations

import io

import tablib
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.shortcuts import redirect
from django.urls import reverse
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats
from import_export.forms import ImportForm
from import_export.tmp_storages import BaseStorage

from core.importing import UPLOAD_EXPIRED
from core.spreadsheets import (
    CONTENT_TYPES,
    ReadLimits,
    SpreadsheetError,
    read_table,
    write_table,
)
from core.uploads import upload_discard, upload_path, upload_store


class UploadExpired(Exception):
    pass


class _SpreadsheetFormat(base_formats.TablibFormat):
    fmt = ""

    def get_title(self):
        return self.fmt

    def get_format(self):
        return type(self)  # tablib is not used: anything with a title would do

    @classmethod
    def is_available(cls):
        return True

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def get_extension(self):
        return self.fmt

    def get_content_type(self):
        return CONTENT_TYPES[self.fmt]

    def can_import(self):
        return True

    def can_export(self):
        return True

    def create_dataset(self, in_stream, **kwargs):
        data = in_stream.encode("utf-8") if isinstance(in_stream, str) else in_stream
        table = read_table(io.BytesIO(data), name=f"upload.{self.fmt}", limits=ReadLimits.web())
        width = len(table.headers)
        rows = [(cells + [""] * width)[:width] for _line, cells in table.rows]
        return tablib.Dataset(*rows, headers=table.headers)

    def export_data(self, dataset, **kwargs):
        out = io.BytesIO()
        write_table(out, self.fmt, dataset.headers or [], dataset)
        return out.getvalue()


class SpreadsheetCSV(_SpreadsheetFormat):
    fmt = "csv"


class SpreadsheetXLSX(_SpreadsheetFormat):
    fmt = "xlsx"


class PrivateUploadStorage(BaseStorage):
    """The upload between preview and confirm, kept by ``core.uploads``."""

    def save(self, data):
        self.name = upload_store(ContentFile(data, name="upload"))

    def read(self):
        path = upload_path(self.name)
        if path is None:
            raise UploadExpired
        return path.read_bytes()

    def remove(self):
        upload_discard(self.name)


class LimitedImportForm(ImportForm):
    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        try:
            ReadLimits.web().check_size(upload.size)
        except SpreadsheetError as exc:
            raise ValidationError([str(e) for e in exc.errors]) from None
        return upload


class SpreadsheetImportExportAdmin(ImportExportModelAdmin):
    """An ``ImportExportModelAdmin`` with the formats, form and storage above."""

    formats = [SpreadsheetCSV, SpreadsheetXLSX]
    import_form_class = LimitedImportForm
    tmp_storage_class = PrivateUploadStorage

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, SpreadsheetError):
            for error in e.errors[:20]:
                form.add_error("import_file", str(error))
            return
        super().add_data_read_fail_error_to_form(form, e)

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None) or {}
        form = context.get("form")
        if request.method == "POST" and "confirm_form" not in context and form is not None:
            # The form's error took the file out of cleaned_data: it is still in FILES.
            stored = getattr(request.FILES.get("import_file"), "tmp_storage_name", None)
            if stored:
                upload_discard(stored)  # nothing to confirm: don't keep the file
        return response

    def process_import(self, request, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        except UploadExpired:
            messages.error(request, UPLOAD_EXPIRED)
            info = self.opts.app_label, self.opts.model_name
            return redirect(reverse("admin:{}_{}_import".format(*info)))

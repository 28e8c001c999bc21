"""The admin: the tree as an indented list, heads and Party bodies, spreadsheet import/export.

Every write goes through ``grids.services`` or ``grids.imports``; the forms here only collect
and pre-check input. Departments are reference data, edited as rows and through spreadsheets.
"""

from __future__ import annotations

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Value, When
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, resources

from core.admin import ReadOnlyAdminMixin, ServiceAdminMixin
from core.admin_spreadsheets import SpreadsheetImportExportAdmin
from core.importing import UPLOAD_EXPIRED, import_confirm, import_preview, upload_errors
from core.spreadsheets import spreadsheet_format, spreadsheet_response
from grids import rules, services
from grids.imports import (
    area_export_headers,
    area_export_rows,
    areas_import,
    head_export_headers,
    head_export_rows,
    heads_import,
)
from grids.imports.logins import LoginDelivery
from grids.models import Area, Department, ImportRun, PartyOrg, Person, Post
from grids.selectors import PATH_SEPARATOR, area_ancestors, area_labels, set_places
from grids.validators import validate_post_start


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Spreadsheet"),
        help_text=gettext_lazy("CSV (UTF-8, UTF-8 with BOM or GBK) or XLSX, first row headers."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        errors = upload_errors(upload)  # checked again by import_preview; shown at the field
        if errors:
            raise ValidationError(str(errors[0].message))
        return upload


class HeadsImportForm(ImportForm):
    logins = forms.ChoiceField(
        label=gettext_lazy("Logins"),
        choices=LoginDelivery.choices,
        required=False,
        initial=LoginDelivery.NONE,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "Logins for the people of the file who have none: the username is their mobile "
            "number, the first password a one-time password they must change when they first "
            "sign in. Someone who already has a login keeps it."
        ),
    )


# The options of each previewed upload (its token -> the form's options), so that the
# confirmation runs the import exactly as it was previewed.
_IMPORT_OPTIONS = "spreadsheet-import-options"


class SpreadsheetAdminMixin:
    """Adds 导入 (with a dry-run preview) and 导出 to a changelist.

    The preview and the confirmation are ``core.importing``'s one flow, the portal's too: the
    upload is kept under ``var/imports/`` between them, so the rows confirmed are exactly the
    rows previewed.
    """

    import_service = None
    import_form_class = ImportForm
    export_headers = None
    export_rows = None
    spreadsheet_name = ""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="{}_{}_import".format(*info),
            ),
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="{}_{}_export".format(*info),
            ),
            *super().get_urls(),
        ]

    def _import_run(self, request, options: dict):
        return partial(type(self).import_service, user=request.user, **options)

    def import_options(self, data: dict) -> dict:
        """What of the import form's ``cleaned_data`` goes to the import service."""
        return {}

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import %(what)s") % {"what": self.opts.verbose_name_plural},
            "form": self.import_form_class(),
        }
        if request.method == "POST" and request.POST.get("token"):
            return self._confirm(request)
        if request.method == "POST":
            form = self.import_form_class(request.POST, request.FILES)
            context["form"] = form
            if form.is_valid():
                options = self.import_options(form.cleaned_data)
                step = import_preview(
                    form.cleaned_data["file"], run=self._import_run(request, options)
                )
                if step.token:
                    request.session.setdefault(_IMPORT_OPTIONS, {})[step.token] = options
                    request.session.modified = True
                context.update(step.context())
        return TemplateResponse(request, "admin/grids/spreadsheet_import.html", context)

    def _confirm(self, request):
        changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        token = request.POST["token"]
        options = request.session.get(_IMPORT_OPTIONS, {}).pop(token, {})
        request.session.modified = True
        step = import_confirm(
            token, filename=request.POST.get("filename"), run=self._import_run(request, options)
        )
        if step.ok and getattr(step.report, "passwords", None):
            return self._passwords_page(request, step, changelist)
        if step.expired:
            messages.error(request, UPLOAD_EXPIRED)
        elif step.errors:
            for error in step.errors[:20]:
                messages.error(request, str(error))
            messages.error(request, _("Nothing was imported."))
        else:
            messages.success(request, step.imported_message())
        return redirect(changelist)

    def _passwords_page(self, request, step, changelist):
        """The one-time passwords of the logins the import made, shown this once: they
        are in no record, and this answer is not cached."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("One-time passwords"),
            "summary": step.imported_message(),
            "passwords": step.report.passwords,
            "changelist": changelist,
        }
        response = TemplateResponse(request, "admin/grids/import_passwords.html", context)
        add_never_cache_headers(response)
        return response

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return spreadsheet_response(
            f"{self.spreadsheet_name}-{stamp}",
            spreadsheet_format(request.GET.get("format")),
            type(self).export_headers(),
            type(self).export_rows(**self.export_options(request)),
        )

    def export_options(self, request) -> dict:
        """What of the request goes to ``export_rows``."""
        return {}


def _follow(row, through: list[str]):
    for name in through:
        row = getattr(row, name, None)
        if row is None:
            return None
    return row


class PlaceColumnMixin:
    """A change list column ``place``: each row's place as its path below the viewer's scope
    (``莲心社区 › 1栋 › 2单元``; ``grids.selectors.set_places``), read for the rows of the
    page in one query however many; and a search that takes such a path (its separators
    read as spaces, so each name in it must match). ``place_of``: the row's area through
    relations (``"household__area"``; ``""`` for an area itself), in
    ``list_select_related``."""

    place_of = "area"

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        if self.place_of:
            *through, attr = self.place_of.split("__")
            holders = [h for h in (_follow(row, through) for row in rows) if h is not None]
            set_places(holders, user=request.user, attr=attr)
        else:
            labels = area_labels(rows, user=request.user)
            for area in rows:
                area.place = labels.get(area.pk, area.name)
        changelist.result_list = rows
        return changelist

    @admin.display(description=gettext_lazy("place"))
    def place(self, row):
        if not self.place_of:
            return getattr(row, "place", row.name)
        *through, attr = self.place_of.split("__")
        holder = _follow(row, through)
        if holder is None or getattr(holder, attr) is None:
            return "-"
        return getattr(holder, "place", None) or getattr(holder, attr).name

    def get_search_results(self, request, queryset, search_term):
        term = search_term.replace(PATH_SEPARATOR.strip(), " ")
        return super().get_search_results(request, queryset, term)


class PostInline(admin.TabularInline):
    """Who holds (and held) posts on this node: read-only, history included."""

    model = Post
    extra = 0
    can_delete = False
    fields = ("title", "person", "is_deputy", "is_public", "started_on", "ended_on")
    readonly_fields = fields
    ordering = ("ended_on", "title", "is_deputy")
    show_change_link = True
    verbose_name_plural = gettext_lazy("Heads (posts, past ones included)")

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person")


class PartyOrgInline(admin.StackedInline):
    model = PartyOrg
    extra = 0
    can_delete = False
    fields = ("name", "kind", "parent", "secretary")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class AreaForm(forms.ModelForm):
    """The parent is given by its code, as in the spreadsheets: a select of 400,000 nodes
    would not load."""

    parent_code = forms.CharField(
        label=gettext_lazy("Parent code"),
        required=False,
        help_text=gettext_lazy("Unified code of the area above (empty for a city)."),
    )

    class Meta:
        model = Area
        fields = ("code", "name", "kind", "grid_type", "households")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            parent_id = self.instance.logical_parent_id
            if parent_id:
                self.initial["parent_code"] = Area.objects.get(pk=parent_id).code
            self.fields["code"].disabled = True
            self.fields["kind"].disabled = True

    def clean(self):
        data = super().clean()
        code = data.get("parent_code", "").strip()
        parent = None
        if code:
            parent = Area.objects.filter(code=code).first()
            if parent is None:
                self.add_error("parent_code", _("unknown parent code “%(code)s”") % {"code": code})
                return data
        kind = data.get("kind") or self.instance.kind
        if kind:
            message = rules.parent_kind_error(kind, parent.kind if parent else None)
            if message:
                self.add_error("parent_code", message)
        if kind == rules.AreaKind.GRID and not data.get("grid_type"):
            data["grid_type"] = rules.GridType.BASIC
        elif kind and (message := rules.grid_type_error(kind, data.get("grid_type"))):
            self.add_error("grid_type", message)
        if (
            parent is not None
            and self.instance.pk
            and (parent.pk == self.instance.pk or parent.is_descendant_of(self.instance))
        ):
            self.add_error(
                "parent_code", _("a node cannot move under itself or one of its descendants")
            )
        data["parent"] = parent
        return data


def tree_indent(depth) -> str:
    """The class indenting a tree list's name by ``depth`` (static/portal/admin.css): a
    class, as the Content Security Policy refuses style attributes."""
    return f"tree-indent-{max(0, min(9, int(depth or 0)))}"


class TreeListMedia:
    css = {"all": ["portal/admin.css"]}


@admin.register(Area)
class AreaAdmin(PlaceColumnMixin, SpreadsheetAdminMixin, admin.ModelAdmin):
    Media = TreeListMedia
    form = AreaForm
    import_service = areas_import
    export_headers = area_export_headers
    export_rows = area_export_rows
    spreadsheet_name = "areas"
    change_list_template = "admin/grids/spreadsheet_change_list.html"
    list_display = ("indented_name", "code", "kind", "grid_type", "households")
    list_display_links = ("indented_name",)
    list_filter = ("kind", "grid_type")
    search_fields = ("code", "name")
    list_per_page = 100
    show_full_result_count = False  # a COUNT(*) over the city on every page is wasted
    fields = ("code", "name", "kind", "parent_code", "grid_type", "households")
    inlines = [PostInline, PartyOrgInline]
    actions = None  # deleting subtrees in bulk is never what a worker meant
    place_of = ""

    def get_list_display(self, request):
        # Found by a search, a node is out of its tree: where it is, by its path.
        shown = super().get_list_display(request)
        return (*shown[:1], "place", *shown[1:]) if request.GET.get("q") else shown

    def get_queryset(self, request):
        # A street is level 0 of its own tree, hung below its district, and a district below
        # its city (``upper``): indent each node by the links above its tree's root too.
        root = Area.objects.filter(tree_id=OuterRef("tree_id"), lft=1)
        hops = [root.filter(upper__isnull=False), root.filter(upper__upper__isnull=False)]
        number = IntegerField()
        return (
            super()
            .get_queryset(request)
            .annotate(
                depth=F("level")
                + Case(When(Exists(hops[0]), then=Value(1)), default=Value(0), output_field=number)
                + Case(When(Exists(hops[1]), then=Value(1)), default=Value(0), output_field=number)
            )
            .order_by("tree_id", "lft")
        )

    @admin.display(description=gettext_lazy("name"), ordering="name")
    def indented_name(self, area):
        return format_html(
            '<span class="{}">{}</span>', tree_indent(getattr(area, "depth", 0)), area.name
        )

    def save_model(self, request, obj, form, change):
        parent = form.cleaned_data.get("parent")
        data = form.cleaned_data
        if not change:
            created = services.area_create(
                code=data["code"],
                name=data["name"],
                kind=data["kind"],
                parent=parent,
                grid_type=data.get("grid_type") or "",
                households=data.get("households") or 0,
            )
            obj.pk = created.pk
            return
        current = Area.objects.get(pk=obj.pk)
        services.area_update(
            area=current,
            name=data["name"],
            grid_type=data.get("grid_type") or "",
            households=data.get("households") or 0,
        )
        if (parent.pk if parent else None) != current.logical_parent_id:
            services.area_move(area=current, parent=parent)

    def has_delete_permission(self, request, obj=None):
        # No service deletes a node: django-mptt's delete would renumber the street
        # outside the tree lock that every write through grids.services takes.
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        area = self.get_object(request, object_id)
        if area is not None:
            extra_context["ancestors"] = area_ancestors(area)
        return super().change_view(request, object_id, form_url, extra_context)


class PostForm(forms.ModelForm):
    class Meta:
        model = Post
        fields = ("area", "title", "person", "is_deputy", "is_public", "started_on", "ended_on")

    def clean(self):
        data = super().clean()
        area, title = data.get("area"), data.get("title")
        if area and title:
            message = rules.title_kind_error(title, area.kind)
            if message:
                self.add_error("title", message)
        started_on = data.get("started_on")
        if started_on:
            try:
                validate_post_start(started_on)  # the rule post_assign checks
            except ValidationError as exc:
                self.add_error("started_on", exc.messages[0])
        return data


@admin.register(Post)
class PostAdmin(PlaceColumnMixin, SpreadsheetAdminMixin, admin.ModelAdmin):
    """Heads. Changing who holds a post is a new post: the old one is ended, never edited."""

    form = PostForm
    import_service = heads_import
    import_form_class = HeadsImportForm
    export_headers = head_export_headers
    export_rows = head_export_rows
    spreadsheet_name = "heads"
    change_list_template = "admin/grids/spreadsheet_change_list.html"

    list_display = (
        "person",
        "title",
        "place",
        "is_deputy",
        "is_public",
        "started_on",
        "ended_on",
    )
    list_filter = ("title", "is_public", "is_deputy", ("ended_on", admin.EmptyFieldListFilter))
    search_fields = ("person__name", "person__phone", "area__code", "area__name")
    autocomplete_fields = ("area", "person")
    list_select_related = ("person", "area")
    list_per_page = 100
    show_full_result_count = False
    actions = None

    def import_options(self, data: dict) -> dict:
        return {"logins": data.get("logins") or LoginDelivery.NONE}

    def export_options(self, request) -> dict:
        return {"user": request.user}  # the places as paths below the reader's scope

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ("area", "title", "person", "started_on")
        return ("ended_on",)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            current = Post.objects.select_related("area", "person").get(pk=obj.pk)
            if current.ended_on is None:
                # Flags (a deputy promoted ends the current principal) go through the service.
                current = services.post_assign(
                    area=current.area,
                    title=current.title,
                    person=current.person,
                    is_deputy=data["is_deputy"],
                    is_public=data["is_public"],
                )
                if data.get("ended_on"):
                    services.post_end(post=current, ended_on=data["ended_on"])
            return
        post = services.post_assign(
            area=data["area"],
            title=data["title"],
            person=data["person"],
            is_deputy=data["is_deputy"],
            is_public=data["is_public"],
            started_on=data.get("started_on"),
        )
        obj.pk = post.pk

    def has_delete_permission(self, request, obj=None):
        return False  # end a post instead: who held it when is kept


class PersonPostInline(PostInline):
    fields = ("area", "title", "is_deputy", "is_public", "started_on", "ended_on")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("area")


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("name", "phone", "user")
    search_fields = ("name", "phone")
    raw_id_fields = ("user",)
    list_select_related = ("user",)
    list_per_page = 100
    show_full_result_count = False
    inlines = [PersonPostInline]


class PartyOrgForm(forms.ModelForm):
    class Meta:
        model = PartyOrg
        fields = ("name", "kind", "area", "parent", "secretary")

    def clean(self):
        data = super().clean()
        kind, area, parent = data.get("kind"), data.get("area"), data.get("parent")
        if kind and area:
            message = rules.party_org_error(kind, parent.kind if parent else None, area.kind)
            if message:
                self.add_error("kind", message)
        return data


@admin.register(PartyOrg)
class PartyOrgAdmin(PlaceColumnMixin, ServiceAdminMixin, admin.ModelAdmin):
    Media = TreeListMedia
    form = PartyOrgForm
    list_display = ("indented_name", "kind", "place")
    list_filter = ("kind",)
    search_fields = ("name", "area__code", "area__name")
    autocomplete_fields = ("area", "parent", "secretary")
    list_select_related = ("area",)
    ordering = ("tree_id", "lft")
    list_per_page = 100

    @admin.display(description=gettext_lazy("name"))
    def indented_name(self, org):
        return format_html('<span class="{}">{}</span>', tree_indent(org.level), org.name)

    def get_readonly_fields(self, request, obj=None):
        return ("kind", "area", "parent") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.party_org_update(
                org=PartyOrg.objects.get(pk=obj.pk), name=data["name"], secretary=data["secretary"]
            )
            return
        org = services.party_org_create(
            name=data["name"],
            kind=data["kind"],
            area=data["area"],
            parent=data["parent"],
            secretary=data["secretary"],
        )
        obj.pk = org.pk


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "at",
        "target",
        "source",
        "user",
        "rows",
        "created",
        "updated",
        "unchanged",
        "seconds",
    )
    list_filter = ("target",)
    list_select_related = ("user",)


class DepartmentResource(resources.ModelResource):
    code = fields.Field(attribute="code", column_name="编码")
    name = fields.Field(attribute="name", column_name="名称")
    email = fields.Field(attribute="email", column_name="邮箱")

    class Meta:
        model = Department
        import_id_fields = ("code",)
        fields = ("code", "name", "email")
        skip_unchanged = True
        report_skipped = True


@admin.register(Department)
class DepartmentAdmin(SpreadsheetImportExportAdmin):
    resource_classes = [DepartmentResource]
    list_display = ("name", "code", "email")
    search_fields = ("name", "code")
    autocomplete_fields = ("handlers",)

"""The audit history in the admin: read by admins, changed or deleted by no one.

Every ``<Model>History`` table (``core.audit.track``) gets a read-only page, listed under
its app, filterable by what happened, by whom and when. No one — a superuser neither — is
given the add, change or delete permission; a POST that tries any of them anyway (a forged
form, a bulk action) is refused with 403 and written to the ``portal.security`` log."""

import logging

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import IntegerField, OuterRef, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.admin import ReadOnlyAdminMixin
from core.audit import (
    DELETE,
    INSERT,
    UPDATE,
    AuditEvent,
    masked_columns,
    tracked_columns,
    values_at_creation,
)
from core.privacy import mask_id_number, mask_phone, scrub_personal_numbers
from core.requests import client_ip

security_log = logging.getLogger("portal.security")

# Personal numbers are shown masked here as on every page; the history keeps them whole.
_MASKED = {"id_number": mask_id_number, "phone": mask_phone, "reporter_phone": mask_phone}
_LABELS = {
    INSERT: pgettext_lazy("history", "created"),
    UPDATE: pgettext_lazy("history", "changed"),
    DELETE: _("deleted"),
}


class ActorFilter(admin.SimpleListFilter):
    title = _("by")
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        staff = get_user_model().objects.filter(is_staff=True).order_by("username")[:100]
        return [("-", _("no signed-in user (a command, a task, a resident)"))] + [
            (str(user.pk), user.get_username()) for user in staff
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "-":
            return queryset.filter(pgh_context__user__isnull=True)
        if value and value.isdigit():
            return queryset.filter(pgh_context__user=int(value))
        return queryset


class HistoryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pgh_created_at", "what", "pgh_obj_id", "actor", "changed")
    list_filter = ("pgh_label", ActorFilter, "pgh_created_at")
    date_hierarchy = "pgh_created_at"
    search_fields = ("=pgh_obj_id",)
    ordering = ("-pgh_id",)
    actions = None
    fields = readonly_fields = (
        "pgh_created_at",
        "what",
        "pgh_obj_id",
        "actor",
        "context",
        "values",
    )
    list_per_page = 50
    show_full_result_count = False  # a count of a city's history is a scan of it

    # -- who reads: a superuser only. The history spans the whole city, every field of every
    # row (birth dates, care tags, what a resident wrote), outside any worker's scope. --------

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    # -- no one writes (ReadOnlyAdminMixin); an attempt is refused and logged ------------------

    def _refuse_writes(self, request, what: str) -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            security_log.warning(
                "refused: %s of %s by user %s (superuser %s) from %s",
                what,
                self.model._meta.label,
                request.user.pk,
                request.user.is_superuser,
                client_ip(request),
            )
            raise PermissionDenied

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        self._refuse_writes(request, "a change" if object_id else "an addition")
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._refuse_writes(request, "a delete")
        return super().delete_view(request, object_id, extra_context)

    def changelist_view(self, request, extra_context=None):
        self._refuse_writes(request, "a bulk action")
        return super().changelist_view(request, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        raise PermissionDenied  # Django's own change log of this admin: there is none

    # -- reading -----------------------------------------------------------------------------

    def get_queryset(self, request):
        users = get_user_model().objects.filter(pk=OuterRef("actor_id"))
        return (
            super()
            .get_queryset(request)
            .annotate(actor_id=Cast(KT("pgh_context__user"), IntegerField()))
            .annotate(actor_name=Subquery(users.values(get_user_model().USERNAME_FIELD)[:1]))
        )

    @admin.display(description=_("what happened"), ordering="pgh_label")
    def what(self, event):
        return _LABELS.get(event.pgh_label, event.pgh_label)

    @admin.display(description=_("by"))
    def actor(self, event):
        context = event.pgh_context or {}
        if getattr(event, "actor_name", None):
            return event.actor_name
        for key in ("command", "task", "import"):
            if context.get(key):
                return f"{key}: {context[key]}"
        return "—"

    @admin.display(description=_("context"))
    def context(self, event):
        context = event.pgh_context or {}
        return format_html_join(
            "", "<div>{}: {}</div>", ((key, context[key]) for key in sorted(context))
        )

    @admin.display(description=_("changed fields"))
    def changed(self, event):
        changes = event.pgh_before if event.pgh_label == UPDATE else None
        return ", ".join(self._label(column) for column in sorted(changes or {})) or "—"

    @admin.display(description=_("before and after"))
    def values(self, event):
        before, after = event.pgh_before or {}, event.pgh_after or {}
        if event.pgh_label == INSERT:
            after = values_at_creation(event) or {}
        columns = sorted(set(before) | set(after))
        rows = (
            (self._label(c), self._show(c, before.get(c, "")), self._show(c, after.get(c, "")))
            for c in columns
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("field"),
            _("before"),
            _("after"),
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    def _label(self, column: str) -> str:
        field = tracked_columns(self.model.pgh_tracked_model).get(column)
        return str(field.verbose_name) if field is not None else column

    def _show(self, column: str, value) -> str:
        if column in masked_columns(self.model.pgh_tracked_model):
            return str(_("(not kept)"))  # a secret: the history holds only that it changed
        field = tracked_columns(self.model.pgh_tracked_model).get(column)
        name = field.name if field is not None else column
        if value is None or value == "":
            return "—"
        mask = _MASKED.get(name, scrub_personal_numbers)  # free text as on every page
        return mask(str(value))


def history_admins_register(site) -> None:
    """Give every history table a read-only page on ``site``."""
    for model in apps.get_models():
        if issubclass(model, AuditEvent) and not site.is_registered(model):
            site.register(model, HistoryAdmin)

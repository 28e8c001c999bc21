"""Admin pieces every app shares."""

import re

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy

from core.privacy import mask_phone, scrub_personal_numbers
from core.text import NoControlCharacters


class ReadOnlyAdminMixin:
    """For history and logs: shown, never added, changed or deleted through the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceAdminMixin:
    """For objects that have services: ``save_model`` calls the service, and a
    ValidationError the service raises shows on the form as the form's own errors would
    (under the field it names, or above the form), with nothing written.

    The first attempt runs in a transaction that the error rolls back; the POST is then
    validated again with the service's errors added, so the page is the ordinary admin
    form with its errors, the user's input kept."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            with transaction.atomic():
                return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as refusal:
            if request.method != "POST" or hasattr(request, "_service_refusal"):
                raise
            request._service_refusal = refusal
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        refusal = getattr(request, "_service_refusal", None)
        if refusal is None:
            return form

        class RefusedForm(form):
            def clean(self):
                data = super().clean()
                if hasattr(refusal, "error_dict"):
                    for name, errors in refusal.error_dict.items():
                        field = name if name in self.fields else None
                        self.add_error(field, ValidationError(errors))
                else:
                    self.add_error(None, refusal)
                return data

        return RefusedForm

    def save_related(self, request, form, formsets, change):
        # The service has written the many-to-many fields too; the form writes none.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


def scrubbed(field: str, label):
    """A read-only admin column showing a free-text field as every page does: phone and ID
    numbers masked (``core.privacy.scrub_personal_numbers``). Assign it on the admin class."""

    @admin.display(description=label)
    def show(self, obj):
        return scrub_personal_numbers(getattr(obj, field))

    show.__name__ = f"scrubbed_{field}"
    return show


class _OnlyValidKeys:
    """An autocomplete widget that shows again only the posted values that can be keys of
    the related model: Django's looks every posted value up as a key, and a form sent back
    with "abc" in such a field failed with a server error instead of its field error."""

    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        opts = remote.model._meta
        target = opts.get_field(getattr(remote, "field_name", None) or opts.pk.name)
        kept = []
        for item in value:
            try:
                target.run_validators(target.to_python(item))  # a key's range included
            except (ValidationError, TypeError, ValueError):
                continue
            kept.append(item)
        return super().optgroups(name, kept, attr)


class _AutocompleteSelect(_OnlyValidKeys, AutocompleteSelect):
    pass


class _AutocompleteSelectMultiple(_OnlyValidKeys, AutocompleteSelectMultiple):
    pass


_AUTOCOMPLETE = {
    AutocompleteSelect: _AutocompleteSelect,
    AutocompleteSelectMultiple: _AutocompleteSelectMultiple,
}


class TextIntakeMixin:
    """Admin forms refuse control characters in text, as every portal form does
    (``core.text``): a field error naming the character, nothing written. Their
    autocomplete fields sent back with a value that is no key show the field's error."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        wrapper = getattr(formfield, "widget", None)
        inner = getattr(wrapper, "widget", None)
        if type(inner) in _AUTOCOMPLETE:
            inner.__class__ = _AUTOCOMPLETE[type(inner)]
        if isinstance(db_field, models.CharField | models.TextField) and isinstance(
            formfield, forms.CharField
        ):
            multiline = isinstance(db_field, models.TextField)
            formfield.validators.append(NoControlCharacters(multiline=multiline))
        return formfield


def _with_text_intake(admin_class):
    if issubclass(admin_class, TextIntakeMixin):
        return admin_class
    return type(
        admin_class.__name__,
        (TextIntakeMixin, admin_class),
        {
            "__module__": admin_class.__module__,
            "__qualname__": admin_class.__qualname__,
        },
    )


class PortalAdminSite(admin.AdminSite):
    """The admin, titled as the portal. Every model admin registered on it, and each of its
    inlines, gets ``TextIntakeMixin``: one place, so no admin of any app can forget it."""

    site_header = gettext_lazy("Grid Governance Portal administration")
    site_title = gettext_lazy("Grid Governance Portal administration")
    index_title = gettext_lazy("Portal administration")

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = _with_text_intake(admin_class or admin.ModelAdmin)
        admin_class.inlines = [_with_text_intake(inline) for inline in admin_class.inlines]
        return super().register(model_or_iterable, admin_class, **options)


# A tracking link (``/t/<token>/``) opens a reporter's problem and its rating form without
# signing in: its token is a bearer secret, so the admin shows the link without it.
_TRACKING_TOKEN = re.compile(r"/t/[^/\s]+(/|(?=\s)|$)")


def tracking_tokens_hidden(text: str) -> str:
    """``text`` with the token of every ``/t/<token>/`` link replaced by ``…``."""
    return _TRACKING_TOKEN.sub("/t/…/", text)


# The SMS outbox, for the operator: what went out, what is waiting, what failed and why.
# Numbers are masked, sign-in codes never shown and tracking links shown without their
# token: the admin is no way to sign in as a resident or to act as a reporter. Registered
# by ``core.apps.CoreConfig.ready``: this module defines the admin site itself, so it cannot
# register on that site while it is being imported.
class TextMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("masked_number", "purpose", "created_at", "sent_at", "attempts", "short_error")
    list_filter = ("purpose", ("sent_at", admin.EmptyFieldListFilter))
    fields = (
        "masked_number",
        "purpose",
        "shown_text",
        "created_at",
        "sent_at",
        "attempts",
        "last_error",
    )
    readonly_fields = fields
    date_hierarchy = "created_at"

    @admin.display(description=gettext_lazy("mobile"))
    def masked_number(self, row):
        return mask_phone(row.number.removeprefix("+86"))

    @admin.display(description=gettext_lazy("text"))
    def shown_text(self, row):
        from core.models import TextMessage

        if row.purpose == TextMessage.Purpose.SIGN_IN:
            return gettext_lazy("(a sign-in code: not shown)")
        return tracking_tokens_hidden(scrub_personal_numbers(row.text))

    @admin.display(description=gettext_lazy("last error"))
    def short_error(self, row):
        return row.last_error[:80]

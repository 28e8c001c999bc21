"""Admin pieces every app shares."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction

from core.privacy import scrub_personal_numbers


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

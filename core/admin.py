"""Admin pieces every app shares."""

from django.contrib import admin

from core.privacy import scrub_personal_numbers


class ReadOnlyAdminMixin:
    """For history and logs: shown, never added, changed or deleted through the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def scrubbed(field: str, label):
    """A read-only admin column showing a free-text field as every page does: phone and ID
    numbers masked (``core.privacy.scrub_personal_numbers``). Assign it on the admin class."""

    @admin.display(description=label)
    def show(self, obj):
        return scrub_personal_numbers(getattr(obj, field))

    show.__name__ = f"scrubbed_{field}"
    return show

"""Admin pieces every app shares."""


class ReadOnlyAdminMixin:
    """For history and logs: shown, never added, changed or deleted through the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

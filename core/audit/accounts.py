"""Who may do what: django.contrib.auth's users and groups, and who was given which group or
permission, in the audit history (imported by ``core.models``).

Who was made staff or a superuser, switched off, put in a group or given a permission is
kept with the actor of the change. The password's hash never is: a change of it leaves a
row saying the password changed (``masked``). ``last_login`` changes at every sign-in and is
left out. The history tables are core's and core's migration installs their triggers on
auth's tables: no migration is written into Django's own package."""

from django.contrib.auth.models import Group, User
from django.utils.translation import gettext_lazy as _

from core import audit

audit.track(exclude=["last_login"], masked=["password"], app_label="core")(User)
audit.track(app_label="core")(Group)
audit.track(model_name="UserGroupHistory", app_label="core", verbose_name=_("a user's groups"))(
    User.groups.through
)
audit.track(
    model_name="UserPermissionHistory",
    app_label="core",
    verbose_name=_("a user's permissions"),
)(User.user_permissions.through)
audit.track(
    model_name="GroupPermissionHistory",
    app_label="core",
    verbose_name=_("a group's permissions"),
)(Group.permissions.through)

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    default = True
    name = "core"

    def ready(self) -> None:
        from django.contrib import admin

        from core import audit
        from core.admin import TextMessageAdmin
        from core.audit.admin import history_admins_register
        from core.models import TextMessage

        admin.site.register(TextMessage, TextMessageAdmin)
        history_admins_register(admin.site)
        audit.tasks_connect()
        # After every migrate (the last app's signal is enough; it runs once per app).
        from django.db.models.signals import post_migrate

        post_migrate.connect(
            audit.ignore_check_install, sender=self, dispatch_uid="core.audit.ignore_check"
        )


class PortalAdminConfig(admin_apps.AdminConfig):
    """Django's admin on the portal's own site (``core.admin.PortalAdminSite``)."""

    default = False
    default_site = "core.admin.PortalAdminSite"

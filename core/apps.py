from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    default = True
    name = "core"

    def ready(self) -> None:
        from django.contrib import admin

        from core.admin import TextMessageAdmin
        from core.models import TextMessage

        admin.site.register(TextMessage, TextMessageAdmin)


class PortalAdminConfig(admin_apps.AdminConfig):
    """Django's admin on the portal's own site (``core.admin.PortalAdminSite``)."""

    default = False
    default_site = "core.admin.PortalAdminSite"

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CitizensConfig(AppConfig):
    """The resident pages (居民端) under ``/r/`` and the tracking links under ``/t/``."""

    name = "citizens"
    verbose_name = _("resident pages")

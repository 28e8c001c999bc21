from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IssuesConfig(AppConfig):
    name = "issues"
    verbose_name = _("Resident problems")

    def ready(self) -> None:
        # Problems follow the nodes that move (grids.signals.areas_moved).
        from issues.services import workflow  # noqa: F401

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CouncilsConfig(AppConfig):
    """Regular meetings (三级例会): building weekly, compound fortnightly, self-management committee
    monthly, with attendance, agenda and minutes."""

    name = "councils"
    verbose_name = _("regular meetings (三级例会)")

    def ready(self) -> None:
        # Meetings and their rhythm follow the nodes that move (grids.signals.areas_moved).
        from councils import services  # noqa: F401

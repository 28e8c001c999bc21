from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliberationConfig(AppConfig):
    """Proposals on an area (议事会 / 协商议事) put to a secret vote of the households concerned."""

    name = "deliberation"
    verbose_name = _("deliberation (议事会)")

    def ready(self) -> None:
        # Proposals follow the nodes that move (grids.signals.areas_moved).
        from deliberation import signals  # noqa: F401

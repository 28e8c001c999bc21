from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResidentsConfig(AppConfig):
    name = "residents"
    verbose_name = _("Residents and visits")

    def ready(self) -> None:
        # Households follow the nodes that move (grids.signals.areas_moved).
        from residents import services  # noqa: F401

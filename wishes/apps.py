from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WishesConfig(AppConfig):
    """Micro-wishes (微心愿): residents post small wishes, Party members and volunteers claim and
    fulfil them, the wish list (心愿清单) sorts them."""

    name = "wishes"
    verbose_name = _("micro-wishes (微心愿)")

    def ready(self) -> None:
        # Wishes follow the nodes that move (grids.signals.areas_moved).
        from wishes import signals  # noqa: F401

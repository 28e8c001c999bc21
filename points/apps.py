from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    """One append-only points ledger (积分), its rules, the moral bank (道德银行: savings and
    redemptions) and the monthly 最美三长 list."""

    name = "points"
    verbose_name = _("points (积分) and the moral bank (道德银行)")

    def ready(self) -> None:
        # The ledger follows the nodes that move (grids.signals.areas_moved).
        from points import services  # noqa: F401

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridsConfig(AppConfig):
    name = "grids"
    verbose_name = _("Areas and heads")

    def ready(self) -> None:
        from django.db.models import CharField, ForeignKey

        from core.lookups import AnyOf

        # code__any=[...], area__any=[...]: the imports look up a whole file's codes (and
        # the posts of its areas) in one query.
        CharField.register_lookup(AnyOf)
        ForeignKey.register_lookup(AnyOf)

from django.apps import AppConfig


class LibraryCommandsConfig(AppConfig):
    """Commands that take the place of a library's own (listed before the library in
    INSTALLED_APPS, so that Django finds these first): django-import-export's ``export`` and
    ``import`` would write any model, residents included, unmasked and unlogged, escaping
    only a leading ``=``, and read past every upload limit."""

    name = "core.library_commands"
    label = "library_commands"
    verbose_name = "library commands"

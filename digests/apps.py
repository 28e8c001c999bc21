from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DigestsConfig(AppConfig):
    name = "digests"
    verbose_name = _("Digests")

    def ready(self):
        # The periodic tasks (the digests' and the problems' alike) are seeded once by
        # migrate and edited in the admin afterwards: see portal.beat.
        from portal.beat import seed_after_migrate

        post_migrate.connect(
            seed_after_migrate,
            sender=apps.get_app_config("django_celery_beat"),
            dispatch_uid="portal.beat.seed",
        )

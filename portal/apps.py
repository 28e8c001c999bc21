from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    """The project package as an app: the demo loader, and the beat schedule's seeding."""

    name = "portal"

    def ready(self):
        # The periodic tasks (the digests' and the problems' alike) are seeded once by
        # migrate and edited in the admin afterwards: see core.beat.
        from core.beat import seed_after_migrate

        post_migrate.connect(
            seed_after_migrate,
            sender=apps.get_app_config("django_celery_beat"),
            dispatch_uid="core.beat.seed",
        )

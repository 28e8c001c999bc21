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
        # A signed-in session's lifetime starts at signing in (portal.auth).
        from django.contrib.auth.signals import user_logged_in

        from portal.auth import session_signed_in

        user_logged_in.connect(session_signed_in, dispatch_uid="portal.auth.session_signed_in")
        # A wrong password counts towards its address's brake (portal.auth).
        from django.contrib.auth.signals import user_login_failed

        from portal.auth import sign_in_failed

        user_login_failed.connect(sign_in_failed, dispatch_uid="portal.auth.sign_in_failed")

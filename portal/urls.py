from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard import views
from portal import auth
from portal.auth import LoginView
from portal.health import healthz, livez
from portal.language import set_language

urlpatterns = [
    path("healthz", healthz, name="healthz"),  # readiness: database, cache, broker
    path("livez", livez, name="livez"),  # liveness: the process answers
    path("i18n/setlang/", set_language, name="set_language"),
    path("open311/v2/", include("issues.open311_urls")),
]
urlpatterns += i18n_patterns(
    path("", views.home, name="home"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        auth.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path("accounts/password/reset/", auth.password_reset, name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="registration/password_reset_sent.html"
        ),
        name="password_reset_done",
    ),
    path("accounts/password/reset/code/", auth.password_reset_code, name="password_reset_code"),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("residents/", include("residents.urls")),
    path("areas/", include("grids.urls")),
    path("areas/", include("dashboard.urls")),
    path("tickets/", include("issues.urls")),
    path("notifications/", include("issues.notification_urls")),
    path("", include("citizens.urls")),
    path("digests/", include("digests.urls")),
    path("points/", include("points.urls")),
    path("proposals/", include("deliberation.urls")),
    path("wishes/", include("wishes.urls")),
    path("councils/", include("councils.urls")),
    path("admin/", admin.site.urls),
    prefix_default_language=False,
)
# MEDIA_URL is deliberately not served, not even with DEBUG: uploaded photos are reachable only
# through views that check who asks (issues:ticket_photo, open311:photo).
# A database outage met in a middleware is a 503 too, not a 500 (portal/db_errors.py).
handler500 = "portal.db_errors.server_error"

"""The public site: sign-in, home, the SDPO's pages, admin, health."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from escort_portal.ratelimits import rate_limit
from notifications import views as notification_views
from stations import views as station_views
from stations.access import second_factor_required

urlpatterns = [
    path("", station_views.home, name="home"),
    # The sign-in page with a rate limit, in front of Django's own account pages.
    path("accounts/login/", station_views.login, name="login"),
    path("accounts/two-factor/", station_views.two_factor, name="two_factor"),
    # A stolen password alone must not change the password of a police account.
    path(
        "accounts/password_change/",
        second_factor_required(auth_views.PasswordChangeView.as_view()),
        name="password_change",
    ),
    # Per client and per mailbox, so nobody can flood a person's inbox or the mail server.
    path(
        "accounts/password_reset/",
        rate_limit("password_reset", key="post:email")(
            rate_limit("password_reset")(auth_views.PasswordResetView.as_view())
        ),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/setlang/", station_views.set_language, name="set_language"),
    path("lenders/", include("lenders.urls.public")),
    path("sdpo/", station_views.sdpo_dashboard, name="sdpo_dashboard"),
    path("sdpo/inbox/", notification_views.subdivision_inbox, name="subdivision_inbox"),
    # WhatsApp and SMS conversations: the providers' webhooks and each person's phone page.
    path("chat/", include("chat.urls")),
    path("healthz", station_views.healthz, name="healthz"),
    # The phone pages as an installable app: its manifest and its service worker.
    path("manifest.webmanifest", station_views.manifest, name="manifest"),
    path("sw.js", station_views.service_worker, name="service_worker"),
    path("admin/", admin.site.urls),
]

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from common.views import healthz, metrics_view
from config.api import api
from triggers.views import hook

urlpatterns = [
    path("", include("incidents.urls")),
    path("", include("postmortem.urls")),
    path("", include("comms.urls")),
    path("runbooks/", include("runbooks.urls")),
    path("status/", include("statuspage.urls")),
    path("accounts/", include("common.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("triggers/", include("triggers.urls")),
    path("hooks/<str:hook_id>/", hook, name="hook"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
]

# Refusals of htmx requests answer their reason as text (issue 12: shown beside the control).
handler403 = "common.views.permission_denied"

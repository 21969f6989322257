"""A URLconf for this app's tests: common's pages, auth, admin and a small API.

config.urls also mounts incidents and runbooks, which live on other branches;
base.html links to their list pages, so two stand-ins answer under those names.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from ninja import NinjaAPI

from common.api_auth import api_auth
from common.views import healthz, metrics_view


def _stand_in(request: HttpRequest) -> HttpResponse:
    return HttpResponse("stand-in")


api = NinjaAPI(urls_namespace="common-tests-api", auth=api_auth)


@api.get("/whoami")
def whoami(request: HttpRequest) -> dict[str, str]:
    return {"username": request.user.get_username()}


@api.post("/echo")
def echo(request: HttpRequest) -> dict[str, str]:
    return {"username": request.user.get_username()}


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("accounts/", include("common.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/test/", api.urls),
    path("admin/", admin.site.urls),
    path(
        "",
        include(
            (
                [
                    path("", _stand_in, name="list"),
                    path("follow-ups/", _stand_in, name="follow_ups"),
                ],
                "incidents",
            )
        ),
    ),
    path("runbooks/", include(([path("", _stand_in, name="list")], "runbooks"))),
]

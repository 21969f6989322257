"""URLconf for the runbook page tests: the runbooks app plus the names base.html links to.

The project URLconf also loads every other app's views; these tests exercise
the runbook pages on their own.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def elsewhere(request: HttpRequest) -> HttpResponse:
    return HttpResponse("elsewhere")


urlpatterns = [
    path("runbooks/", include("runbooks.urls")),
    path(
        "",
        include(
            (
                [
                    path("", elsewhere, name="list"),
                    path("follow-ups/", elsewhere, name="follow_ups"),
                    path("incidents/<int:incident_id>/", elsewhere, name="detail"),
                    path("drills/scheduled/", elsewhere, name="scheduled_drills"),
                ],
                "incidents",
            )
        ),
    ),
    path("accounts/", include(([path("tokens/", elsewhere, name="tokens")], "common"))),
    path("accounts/login/", elsewhere, name="login"),
    path("accounts/logout/", elsewhere, name="logout"),
]

from __future__ import annotations

from django.urls import path

from postmortem import views

app_name = "postmortem"

urlpatterns = [
    path("incidents/<int:incident_id>/postmortem/", views.postmortem_page, name="page"),
    path("incidents/<int:incident_id>/postmortem.md", views.postmortem_markdown, name="markdown"),
    path(
        "incidents/<int:incident_id>/postmortem/chart.svg",
        views.postmortem_chart,
        name="chart",
    ),
]

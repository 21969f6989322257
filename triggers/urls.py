from __future__ import annotations

from django.urls import path

from triggers import views

app_name = "triggers"

urlpatterns = [
    path("receivers/", views.receivers_page, name="receivers"),
    path("proposals/banner/", views.banner, name="banner"),
    path("proposals/<int:proposal_id>/open/", views.proposal_open, name="proposal_open"),
    path("proposals/<int:proposal_id>/decline/", views.proposal_decline, name="proposal_decline"),
    path("runbooks/<slug:slug>/evaluations/", views.runbook_evaluations, name="evaluations"),
]

from __future__ import annotations

from django.urls import path

from runbooks import views

app_name = "runbooks"
urlpatterns = [
    path("", views.runbook_list, name="list"),
    path("<slug:slug>/", views.runbook_detail, name="detail"),
]

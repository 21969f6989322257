from __future__ import annotations

from django.urls import path

from runbooks import import_views, views

app_name = "runbooks"
urlpatterns = [
    path("", views.runbook_list, name="list"),
    # Before the runbook pages: "import" is never a runbook's id (importers.limits.RESERVED_IDS).
    path("import/", import_views.import_page, name="import"),
    path("import/download/", import_views.import_download, name="import_download"),
    path("import/save/", import_views.import_save, name="import_save"),
    path("<slug:slug>/", views.runbook_detail, name="detail"),
]

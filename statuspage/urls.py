from __future__ import annotations

from django.urls import path

from statuspage import views

app_name = "statuspage"

urlpatterns = [
    path("<slug:slug>/", views.status_page, name="page"),
    path("<slug:slug>/feed.atom", views.feed, name="feed"),
    path("<slug:slug>/summary.json", views.summary_json, name="summary"),
    path("<slug:slug>/subscribe", views.subscribe, name="subscribe"),
    path("<slug:slug>/confirm/<str:token>/", views.confirm, name="confirm"),
    path("<slug:slug>/unsubscribe/<str:signature>/", views.unsubscribe, name="unsubscribe"),
]

from __future__ import annotations

from django.urls import path

from comms import views

app_name = "comms"

urlpatterns = [
    path("incidents/<int:incident_id>/comms/send/", views.send, name="send"),
    path("incidents/<int:incident_id>/comms/me/", views.my_style, name="me"),
    path(
        "incidents/<int:incident_id>/talking-points/", views.talking_points, name="talking_points"
    ),
]

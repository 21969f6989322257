from __future__ import annotations

from django.urls import path

from common.consumers import NotifyConsumer

websocket_urlpatterns = [
    path("ws/notify/", NotifyConsumer.as_asgi()),
]

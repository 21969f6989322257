from __future__ import annotations

app_name = "common"
urlpatterns: list[object] = []

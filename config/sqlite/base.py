"""``ENGINE: "config.sqlite"``: Django's SQLite backend, making the database file's folder on connect.

Embedded mode keeps its database under RIPCORD_VAR_DIR. Making that folder here, when a
connection is first opened, rather than when the settings are imported, leaves it to the
user who really uses the database: commands that never touch it (collectstatic in the
image's build, as root) create nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        name = str(conn_params["database"])
        # ":memory:" and "file:…" URIs (test databases) name no folder to make.
        if name != ":memory:" and not name.startswith("file:"):
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        return super().get_new_connection(conn_params)

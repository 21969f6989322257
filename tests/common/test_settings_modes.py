"""config.settings picks its run mode from the environment alone.

Each case imports the settings fresh in a child interpreter with a controlled
environment, so nothing from this test process (or the developer's shell) leaks in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

REPORT = """
import json
from config import settings as s
print(json.dumps({
    "engine": s.DATABASES["default"]["ENGINE"],
    "db_name": str(s.DATABASES["default"]["NAME"]),
    "conn_max_age": s.DATABASES["default"].get("CONN_MAX_AGE"),
    "layer": s.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": s.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "broker": s.CELERY_BROKER_URL,
    "embedded": s.EMBEDDED,
    "demo": s.RIPCORD_DEMO,
    "debug": s.DEBUG,
    "worker_queues": s.RIPCORD_WORKER_QUEUES,
}))
"""


def load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "RIPCORD_VAR_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-c", REPORT],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def chosen(tmp_path: Path, **env: str) -> dict[str, object]:
    result = load_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_settings_choose_sqlite_and_in_memory_layers_without_urls(tmp_path):
    got = chosen(tmp_path)
    assert got["engine"] == "config.sqlite"  # Django's SQLite, see config/sqlite
    assert got["db_name"] == str(tmp_path / "ripcord.sqlite3")
    assert got["layer"] == "channels.layers.InMemoryChannelLayer"
    assert got["broker"] == "memory://"
    assert got["embedded"] is True
    assert got["demo"] is True


def test_settings_choose_postgresql_and_redis_when_urls_set(tmp_path):
    got = chosen(
        tmp_path,
        DATABASE_URL="postgres://ripcord:pw@db.internal:5432/ripcord",
        REDIS_URL="redis://cache.internal:6379/2",
        SECRET_KEY="a-real-secret",
    )
    assert got["engine"] == "django.db.backends.postgresql"
    assert got["db_name"] == "ripcord"
    # Kept for long-lived threads; config.asgi closes each HTTP request's connections
    # (tests/integration checks that requests leave none open).
    assert got["conn_max_age"] == 60

    assert got["layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert got["layer_hosts"] == ["redis://cache.internal:6379/2"]
    assert got["broker"] == "redis://cache.internal:6379/2"
    assert got["embedded"] is False
    assert got["demo"] is False


def test_settings_treat_empty_broker_url_as_unset(tmp_path):
    # compose.yaml passes CELERY_BROKER_URL through even when the operator left it empty.
    got = chosen(tmp_path, REDIS_URL="redis://cache.internal:6379/2", CELERY_BROKER_URL="")
    assert got["broker"] == "redis://cache.internal:6379/2"


def test_settings_worker_queues_add_database_unless_set(tmp_path):
    assert chosen(tmp_path)["worker_queues"] == ["database"]
    assert chosen(tmp_path, RIPCORD_WORKER_QUEUES="")["worker_queues"] == []
    assert chosen(tmp_path, RIPCORD_WORKER_QUEUES="database, reports")["worker_queues"] == [
        "database",
        "reports",
    ]


def test_settings_keep_in_memory_layer_with_database_but_no_redis(tmp_path):
    got = chosen(tmp_path, DATABASE_URL="postgres://u@h/db", SECRET_KEY="k")
    assert got["engine"] == "django.db.backends.postgresql"
    assert got["layer"] == "channels.layers.InMemoryChannelLayer"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be a boolean"),
        ({"DATABASE_URL": "postgres://u@h/db"}, "SECRET_KEY must be set"),
        (
            {"DATABASE_URL": "postgres://u@h/db", "SECRET_KEY": "embedded-mode-only-not-a-secret"},
            "SECRET_KEY must not be the embedded default",
        ),
        ({"RIPCORD_LOG_LEVEL": "LOUD"}, "RIPCORD_LOG_LEVEL must be one of"),
        ({"CELERY_TASK_SOFT_TIME_LIMIT": "600", "CELERY_TASK_TIME_LIMIT": "600"}, "must exceed"),
        ({"RIPCORD_TIMELINE_PAGE_SIZE": "lots"}, "RIPCORD_TIMELINE_PAGE_SIZE must be an integer"),
        ({"RIPCORD_WORKER_QUEUES": "database,control"}, "must not name 'control'"),
    ],
)
def test_settings_refuse_to_load_with_bad_environment(tmp_path, env, message):
    result = load_settings(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr

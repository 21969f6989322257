"""A ``celery worker`` that could never receive a task, or that a Redis restart would kill,
refuses to start, saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery import Celery

from config.celery import refuse_a_broker_nobody_else_can_reach, refuse_more_than_one_slot

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(90)
def test_celery_worker_without_a_broker_exits_naming_the_missing_setting(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
        and not key.startswith(("DJANGO_", "PYTEST_"))
    }
    env["RIPCORD_VAR_DIR"] = str(tmp_path)
    celery = Path(sys.executable).with_name("celery")

    done = subprocess.run(
        [str(celery), "-A", "config", "worker", "-Q", "default", "--pool", "solo"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert "no broker is configured (set REDIS_URL or CELERY_BROKER_URL)" in done.stderr


def test_embedded_worker_may_use_the_in_memory_broker():
    memory = Celery("guard-test", broker="memory://", set_as_current=False)
    refuse_a_broker_nobody_else_can_reach(sender=SimpleNamespace(app=memory, in_process=True))
    with pytest.raises(SystemExit, match="no broker is configured"):
        refuse_a_broker_nobody_else_can_reach(sender=SimpleNamespace(app=memory))


def test_worker_with_a_real_broker_starts():
    redis = Celery("guard-test", broker="redis://127.0.0.1:6379/9", set_as_current=False)
    refuse_a_broker_nobody_else_can_reach(sender=SimpleNamespace(app=redis))


def test_worker_with_more_than_one_slot_on_redis_refuses_to_start():
    """Celery 5.7 / kombu 5.7: a free slot waiting on Redis while a task is unacknowledged
    dies of the restart (config/celery.py); tests/integration/test_faults_outages.py
    restarts Redis under a worker started as compose.yaml starts it."""
    redis = Celery("guard-test", broker="redis://127.0.0.1:6379/9", set_as_current=False)
    memory = Celery("guard-test", broker="memory://", set_as_current=False)
    refuse_more_than_one_slot(sender=SimpleNamespace(app=redis, concurrency=1, pool_cls="prefork"))
    refuse_more_than_one_slot(sender=SimpleNamespace(app=redis, concurrency=4, pool_cls="solo"))
    refuse_more_than_one_slot(
        sender=SimpleNamespace(app=memory, concurrency=4, pool_cls="threads", in_process=True)
    )
    for concurrency in (2, "auto"):
        with pytest.raises(SystemExit, match="one task per process"):
            refuse_more_than_one_slot(
                sender=SimpleNamespace(app=redis, concurrency=concurrency, pool_cls="prefork")
            )

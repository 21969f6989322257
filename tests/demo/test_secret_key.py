"""bin/demo keeps its secret key and its sessions across restarts (config/secret_key.py).

The restart test runs ``manage.py demo --no-serve`` twice in child processes on a
SQLite database of its own, signs in between them as the demo IC, and checks that
the session cookie still opens the incident list after the second start.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from config import secret_key

ROOT = Path(__file__).resolve().parents[2]

SIGN_IN = """
import django, json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.conf import settings
from django.test import Client
client = Client()
assert client.login(username="ic", password="ic-demo")
print(json.dumps({"cookie": client.cookies["sessionid"].value, "key": settings.SECRET_KEY}))
"""

VISIT = """
import django, json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.test import Client
client = Client()
client.cookies["sessionid"] = sys.argv[1]
response = client.get("/", HTTP_HOST="127.0.0.1")
print(json.dumps({"status": response.status_code}))
"""


def embedded_env(var_dir: Path) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    return {**env, "RIPCORD_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "config.settings"}


def python(var_dir: Path, *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        env=embedded_env(var_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_ensure_makes_one_private_key_and_then_reads_it(tmp_path):
    var_dir = tmp_path / "var"
    assert secret_key.read(var_dir) == ""

    key = secret_key.ensure(var_dir)

    path = var_dir / secret_key.FILE_NAME
    assert len(key) >= secret_key.MIN_LENGTH
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key.ensure(var_dir) == key
    assert secret_key.read(var_dir) == key
    assert [p.name for p in var_dir.iterdir()] == [secret_key.FILE_NAME]  # no temporary left


def test_a_short_or_unreadable_key_file_is_replaced_by_a_good_one(tmp_path):
    (tmp_path / secret_key.FILE_NAME).write_text("short\n")
    assert secret_key.read(tmp_path) == ""


def test_the_key_file_is_ignored_by_git():
    done = subprocess.run(
        ["git", "check-ignore", "-q", f"var/{secret_key.FILE_NAME}"], cwd=ROOT, check=False
    )
    assert done.returncode == 0


@pytest.mark.timeout(240)
def test_a_restarted_demo_keeps_the_key_and_the_signed_in_session(tmp_path):
    python(tmp_path, "manage.py", "demo", "--no-serve", "--verbosity", "0")
    key = secret_key.read(tmp_path)
    assert key
    signed_in = json.loads(python(tmp_path, "-c", SIGN_IN))
    assert signed_in["key"] == key  # settings read the stored key back

    python(tmp_path, "manage.py", "demo", "--no-serve", "--verbosity", "0")  # the restart

    assert secret_key.read(tmp_path) == key
    visit = json.loads(python(tmp_path, "-c", VISIT, signed_in["cookie"]))
    assert visit["status"] == 200  # still signed in: not sent to the login page (302)

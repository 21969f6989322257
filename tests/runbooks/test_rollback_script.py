"""MIG-002's rollback_database.sh retries a restore PostgreSQL failed as a deadlock's victim.

The restore is one transaction (``--single-transaction``), so a deadlock leaves nothing
of it and trying again is safe; the application's read-only sessions make a deadlock
possible (seen in CI: ``DROP CONSTRAINT`` against a reader). Any other failure stops
the script at once. ``pg_restore`` and ``psql`` are stand-ins on PATH that record each
call; the real script runs against a real database in tests/integration.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = (
    Path(__file__).resolve().parents[2] / "runbooks/library/mig-002/scripts/rollback_database.sh"
)
DEADLOCK = "pg_restore: error: could not execute query: ERROR:  deadlock detected"

pytestmark = pytest.mark.timeout(60)


def _run(tmp_path: Path, failures: list[str]) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run the script; the n-th restore prints failures[n] and exits 1 (succeeds past them)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "restores"
    (tmp_path / "failures").write_text("\n".join(failures) + ("\n" if failures else ""))
    (bin_dir / "pg_restore").write_text(
        f"""#!/usr/bin/env bash
if [[ "$1" == --list ]]; then exit 0; fi
echo restore >> {calls}
n=$(wc -l < {calls})
message=$(sed -n "${{n}}p" {tmp_path / "failures"})
echo "pg_restore: creating TABLE public.users" >&2
if [[ -n "$message" ]]; then echo "$message" >&2; exit 3; fi
echo "restored"
"""
    )
    (bin_dir / "psql").write_text("#!/usr/bin/env bash\ncat > /dev/null\nexit 0\n")
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    backup = tmp_path / "backup.dump"
    backup.write_bytes(b"PGDMP")
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PGHOST": "127.0.0.1",
        "PGDATABASE": "todo_demo",
        "PGUSER": "todo",
        "BACKUP_FILE": str(backup),
        "COMPOSE_PROJECT": "",
        "API_SERVICE": "api",
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    return done, len(calls.read_text().splitlines()) if calls.exists() else 0


def test_a_restore_that_lost_a_deadlock_is_tried_again_and_completes(tmp_path):
    done, restores = _run(tmp_path, [DEADLOCK])
    assert done.returncode == 0, done.stderr
    assert restores == 2
    assert "trying again (attempt 2 of 3)" in done.stdout
    assert "Database rollback completed." in done.stdout
    assert DEADLOCK in done.stderr  # the failed attempt's messages are in the step's log


def test_three_deadlocks_fail_the_step(tmp_path):
    done, restores = _run(tmp_path, [DEADLOCK] * 3)
    assert done.returncode == 3  # pg_restore's own status
    assert restores == 3
    assert "Database rollback completed." not in done.stdout


def test_any_other_restore_error_fails_at_once(tmp_path):
    error = 'pg_restore: error: could not execute query: ERROR:  relation "users" does not exist'
    done, restores = _run(tmp_path, [error])
    assert done.returncode == 3
    assert restores == 1
    assert "trying again" not in done.stdout
    assert error in done.stderr

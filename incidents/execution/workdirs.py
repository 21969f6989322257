"""Runs' working folders under RIPCORD_RUN_DIR, and removing those of runs that ended.

A run's executor writes the runbook's files into a folder of its own, which the runner
removes when the run ends. A worker killed mid-step cannot: its folder stays, and so
could every secret file a script wrote there. Whoever looks removes the folders of runs
that are no longer active (finished, cancelled, interrupted, or gone):

- the sweeper, on every sweep (on the host of the control worker);
- a step worker when it starts and after each run (on its own host: in compose, the
  control worker and the step workers do not share a filesystem).

Folders are named ``run-<instance tag>-<run id>-<random>``; the tag is a hash of
``reaping.instance_id()``, so two installations (or test runs) sharing a folder, whose
run ids overlap, never remove each other's. A folder is created only after its run was
claimed (RUNNING), so an active run's folder is never taken for a dead one's.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from pathlib import Path

from django.conf import settings

from incidents.execution import rundir
from incidents.execution.reaping import instance_id
from incidents.models import StepRun

logger = logging.getLogger(__name__)


def _prefix() -> str:
    tag = hashlib.sha256(instance_id().encode()).hexdigest()[:12]
    return f"run-{tag}-"


def make_workdir(run_id: int) -> Path:
    """A new, private folder for run ``run_id`` (the run directory is made if missing)."""
    run_dir = rundir.ensure(Path(settings.RIPCORD_RUN_DIR))
    return Path(tempfile.mkdtemp(prefix=f"{_prefix()}{run_id}-", dir=run_dir))


def _folders() -> dict[Path, int]:
    """This installation's run folders here, with their run ids."""
    prefix = _prefix()
    found = {}
    try:
        entries = list(Path(settings.RIPCORD_RUN_DIR).iterdir())
    except FileNotFoundError:
        return {}
    for entry in entries:
        run_id, _, _ = entry.name.removeprefix(prefix).partition("-")
        if entry.name.startswith(prefix) and run_id.isdigit() and entry.is_dir():
            found[entry] = int(run_id)
    return found


def remove_dead_workdirs() -> list[Path]:
    """Remove the folders of this installation's runs that are not active; returns them."""
    folders = _folders()
    if not folders:
        return []
    active = set(
        StepRun.objects.filter(pk__in=set(folders.values()), status__in=StepRun.ACTIVE).values_list(
            "pk", flat=True
        )
    )
    removed = []
    for folder, run_id in sorted(folders.items()):
        if run_id in active:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
        logger.info("removed the working folder of ended run %s: %s", run_id, folder)
    return removed

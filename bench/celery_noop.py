"""The floor of dispatch: an empty Celery task that only notes when it began.

The worker imports this module through ``--include bench.celery_noop``; the
benchmark sends ``bench.noop`` to the same queue, broker and worker as a step
run, so the difference between the two is Ripcord's own work.
"""

from __future__ import annotations

import time
from pathlib import Path

from config.celery import app


@app.task(name="bench.noop", ignore_result=True)
def noop(path: str) -> None:
    entered = time.time()  # first thing: the moment the task body runs
    Path(path).write_text(f"{entered!r}\n")

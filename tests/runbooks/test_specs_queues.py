"""A step may name any worker queue but housekeeping's own."""

from __future__ import annotations

import pytest
from django.conf import settings

from runbooks.importers.problems import RunbookError
from runbooks.importers.yaml import parse_runbook
from runbooks.specs import CONTROL_QUEUE
from tests.runbooks.samples import VALID_RUNBOOK

ROUTED = "        approval: incident_commander\n"


def with_queue(queue: str) -> str:
    return VALID_RUNBOOK.replace(ROUTED, f"{ROUTED}        queue: {queue}\n", 1)


def test_step_queue_routes_a_step_to_a_named_queue():
    parsed = parse_runbook(with_queue("database"), path="rb.yaml")
    assert parsed.spec.phases[0].steps[1].queue == "database"


def test_step_queue_refuses_the_housekeeping_queue(line_of):
    text = with_queue("control")
    with pytest.raises(RunbookError) as caught:
        parse_runbook(text, path="rb.yaml")
    [problem] = caught.value.problems
    assert (problem.field, problem.line) == ("phases[0].steps[1].queue", line_of(text, "queue:"))
    assert "'control' is reserved for Ripcord's housekeeping" in problem.message


def test_step_queue_reserved_name_is_the_one_housekeeping_uses():
    assert CONTROL_QUEUE == settings.RIPCORD_CONTROL_QUEUE

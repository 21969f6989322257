"""http checks: one smoke request and what its answer must hold.

Params (those of the http executor, ``method`` defaulting to GET)::

    url: ${APP_URL}/healthz     # required; ${NAME} is filled from the environment's variables
    method: GET
    headers: {Accept: application/json}
    body: "..." | json: {...}
    expect_status: 200 | [200, 204]   # default: any 2xx
    expect_text: "ok"                 # must appear in the body
    expect_json: {status.db: "up"}    # dotted paths into a JSON body

Built on ``runbooks.executors.http``: the same opener (no redirects followed, no
proxy taken from the worker's environment, http and https only), the same
placeholder rules (an unknown name is an error, not a half-filled URL) and the
same expectations, so a smoke step and a smoke check cannot disagree. This module
turns that outcome into a check result: a connection that fails is an ``error``
(nothing was judged), an answer that misses an expectation is a ``fail``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runbooks.executors.base import Execution, ExecutorError, StepCancelled, StepTimedOut
from runbooks.executors.http import HttpExecutor
from validation.checks.base import CheckContext, CheckError, CheckOutcome, evidence, register

_EXECUTOR = HttpExecutor()
BODY_EVIDENCE_CHARS = 500


@register("http")
class HttpCheck:
    kind = "http"

    def validate(self, params: Mapping[str, Any]) -> list[str]:
        return _EXECUTOR.validate({"method": "GET", **params})

    def run(
        self, params: Mapping[str, Any], env: Mapping[str, str], context: CheckContext
    ) -> CheckOutcome:
        command = {"method": "GET", **params}
        ran = (
            f"{command['method'].upper()} {command['url']}"  # the template: filled may hold secrets
        )
        execution = Execution(
            run_id=0,
            command=command,
            env=env,
            workdir=Path(tempfile.gettempdir()),  # unused by http; the field is required
            timeout_seconds=context.timeout_seconds,
        )
        try:
            outcome = _EXECUTOR.run(execution, emit=lambda data: None, should_stop=lambda: False)
        except ExecutorError as exc:  # also the transient ones: nothing was judged
            raise CheckError(str(exc), ran=ran) from exc
        except (StepTimedOut, StepCancelled) as exc:
            raise CheckError(f"http: {exc}", ran=ran) from exc
        found = outcome.evidence
        checks: list[dict[str, Any]] = list(found["checks"])
        expected = {check["check"]: check["expected"] for check in checks}
        seen = {
            "status": found["status"],
            "content_type": found["content_type"],
            "body_excerpt": found["body_excerpt"][:BODY_EVIDENCE_CHARS],
        }
        differences = [_difference(check) for check in checks if not check["ok"]]
        proof = evidence(ran, expected, seen, differences, checks=checks)
        return CheckOutcome("pass" if outcome.succeeded else "fail", outcome.summary, proof)


def _difference(check: Mapping[str, Any]) -> str:
    if check["check"] == "text":
        return f"the body lacks {check['expected']!r}"
    return f"{check['check']}: {check['expected']!r} expected, {check['seen']!r} seen"

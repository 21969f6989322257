"""A parameter's hostile value reaches a real script, run by a real worker, as data only.

The IC opens the incident over the API with ``NOTE`` set to shell syntax that would
create a file and delete a folder if it were ever pasted into a shell string. The
script prints it; the test asserts the value came out verbatim and nothing else
happened.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from common.capabilities import COMMANDERS, RESPONDERS
from common.tokens import create_token
from incidents.models import Incident
from tests.factories import make_user
from tests.integration.conftest import ARTIFACTS
from tests.integration.http import ApiClient
from tests.integration.processes import (
    BROKER_PREFIX,
    BROKER_URL,
    RUN_ID,
    sending_to,
    start_worker,
)
from tests.integration.runs import assign, log_of, step_id, wait_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUEUE = f"parameters-{RUN_ID}"
SCRIPT = (
    '#!/usr/bin/env bash\nset -euo pipefail\nprintf \'note: %s\\n\' "$NOTE"\necho "tag: $TAG"\n'
)


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        process = start_worker(ARTIFACTS, queues=QUEUE)
    yield process
    process.stop()


@pytest.fixture(scope="module", autouse=True)
def broker():
    with sending_to(BROKER_URL, BROKER_PREFIX):
        yield


@pytest.fixture
def api(asgi_server, transactional_db):
    people = {"ic": make_user("ic", COMMANDERS), "sysadmin": make_user("sysadmin", RESPONDERS)}

    def client(name: str) -> ApiClient:
        return ApiClient(asgi_server.url, create_token(people[name], "it")[1])

    return client


def write_runbook(folder: Path) -> None:
    (folder / "scripts").mkdir(parents=True)
    (folder / "scripts" / "echo.sh").write_text(SCRIPT)
    spec = {
        "id": f"it-params-{RUN_ID}",
        "title": "Parameters reach the script",
        "roles": [{"id": "system_administrator", "title": "System administrator"}],
        "environments": [{"id": "lab", "title": "Lab", "variables": {"TAG": "from-env"}}],
        "parameters": [
            {"name": "NOTE", "description": "Anything at all", "required": True},
            {"name": "TAG", "default": "v1.0.0", "pattern": r"^v[0-9]+\.[0-9]+\.[0-9]+$"},
        ],
        "phases": [
            {
                "id": "only",
                "title": "Only",
                "starts_at_minutes": 0,
                "ends_at_minutes": 30,
                "steps": [
                    {
                        "id": "act",
                        "title": "Print the parameters",
                        "owner": "system_administrator",
                        "kind": "shell",
                        "command": {"script": "scripts/echo.sh", "env": ["NOTE", "TAG"]},
                        "queue": QUEUE,
                        "timeout_seconds": 60,
                    }
                ],
            }
        ],
    }
    (folder / "runbook.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


@pytest.mark.timeout(90)
def test_a_hostile_parameter_reaches_the_script_as_data_and_nothing_else_happens(
    tmp_path, worker, api
):
    pwned = Path(f"/tmp/pwned-param-{RUN_ID}")
    pwned.unlink(missing_ok=True)
    victim = tmp_path / "victim"
    victim.mkdir()
    hostile = f'$(touch {pwned}); rm -rf {victim} `touch {pwned}` && echo "hi" | cat'
    write_runbook(tmp_path / "rb")
    call_command("load_runbooks", str(tmp_path / "rb"), verbosity=0)
    base = {
        "runbook": f"it-params-{RUN_ID}",
        "environment": "lab",
        "title": "Parameters",
        "severity": "sev2",
        "is_drill": True,
    }

    refused = api("ic").post("/incidents", base | {"parameters": {"NOTE": "x", "TAG": "1.4; ls"}})
    assert refused.status_code == 400, refused.body
    assert refused.json()["detail"] == (
        r"Parameter TAG: does not match the pattern ^v[0-9]+\.[0-9]+\.[0-9]+$."
    )

    opened = api("ic").post("/incidents", base | {"parameters": {"NOTE": hostile, "TAG": "v1.4.2"}})
    assert opened.status_code == 201, opened.body
    incident = opened.json()
    assert Incident.objects.get(pk=incident["id"]).parameters == {"NOTE": hostile, "TAG": "v1.4.2"}
    assign(api, incident, "system_administrator", "sysadmin")
    act = step_id(incident, "act")
    run_id = api("sysadmin").post(f"/incidents/{incident['id']}/steps/{act}/run").json()["id"]
    run = wait_run(run_id, "succeeded", "failed", timeout=60)
    log = log_of(run_id)
    assert run.status == "succeeded", log
    assert f"note: {hostile}\n" in log  # printed verbatim, never executed
    assert "tag: v1.4.2\n" in log  # the IC's value, not the environment's
    assert not pwned.exists()
    assert victim.is_dir()

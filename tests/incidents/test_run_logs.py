"""A run's log, end to end on real PostgreSQL: a real shell step, stored, pushed, downloaded.

The script writes what a line-based reader used to mangle: CRLF, invalid UTF-8, NUL, a
200 kB line with a secret across the first 64 KiB boundary, a multi-line secret read from
a file secret reference, and no final newline. The download must be those bytes exactly,
with only the secrets replaced, and no secret may reach a chunk, the run row or a push.
"""

from __future__ import annotations

import copy
import json

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.urls import reverse

from common.tokens import create_token
from incidents.execution import runner
from incidents.execution.logsink import TAIL_BYTES, LogSink, tail_of, tail_text
from incidents.models import StepRun, StepRunLogChunk
from incidents.redaction import Redactor
from incidents.services import runs
from tests.factories import SMALL_RUNBOOK, make_version

pytestmark = pytest.mark.django_db

TOKEN = "tok-7Hq2-zN9x-Lw4p"
KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDu\n"
    "-----END PRIVATE KEY-----"
)
BEFORE_TOKEN = 64 * 1024 - 5  # the token straddles byte 65536, where a 64 KiB read ends
AFTER_TOKEN = 200_000 - BEFORE_TOKEN - len(TOKEN)

# printf with escapes, values only through "$VAR" arguments: nothing interpolated. The
# token goes out in two writes, with a pause longer than the half second between
# should_stop polls, each of which flushes: whatever the pipe does, the worker then
# flushes holding half a token. (The assertions hold either way; the pause only makes
# sure the split is exercised.)
SCRIPT = f"""#!/usr/bin/env bash
head -c {BEFORE_TOKEN} /dev/zero | tr '\\0' x
printf '%s' "${{API_TOKEN:0:9}}"
sleep 0.7
printf '%s' "${{API_TOKEN:9}}"
head -c {AFTER_TOKEN} /dev/zero | tr '\\0' y
printf '\\n'
printf 'crlf one\\r\\ncrlf two\\r\\n'
printf 'bad utf-8: \\377\\376 caf\\303\\251\\n'
printf 'nul:\\000:after\\n'
printf 'key follows\\n%s\\n' "$TLS_KEY"
printf 'no final newline'
"""


def written(token: bytes, key: bytes) -> bytes:
    """What the script writes, with ``token`` and ``key`` where the secrets go."""
    return (
        b"x" * BEFORE_TOKEN + token + b"y" * AFTER_TOKEN + b"\n"
        b"crlf one\r\ncrlf two\r\n"
        b"bad utf-8: \xff\xfe caf\xc3\xa9\n"
        b"nul:\x00:after\n"
        b"key follows\n" + key + b"\n"
        b"no final newline"
    )


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "tls.key"
    path.write_text(KEY + "\n")  # as keys are kept: with a final newline, which is not the value
    return path


@pytest.fixture
def version(db, key_file):
    spec = copy.deepcopy(SMALL_RUNBOOK)
    spec["id"] = "noisy"
    spec["environments"][0]["secrets"] = {
        "API_TOKEN": {"env": "RIPCORD_TEST_LOG_TOKEN"},
        "TLS_KEY": {"file": str(key_file)},
    }
    spec["phases"] = [
        {
            "id": "only",
            "title": "Only phase",
            "starts_at_minutes": 0,
            "ends_at_minutes": 30,
            "steps": [
                {
                    "id": "noisy",
                    "title": "Print awkward output",
                    "owner": "system_administrator",
                    "kind": "shell",
                    "command": {"script": "scripts/noisy.sh"},
                }
            ],
        }
    ]
    version = make_version(spec)
    version.files = {"scripts/noisy.sh": SCRIPT}
    version.save(update_fields=["files"])
    return version


@pytest.fixture
def finished_run(incident, sysadmin, sent, monkeypatch, settings, tmp_path):
    """The step, run by the real runner and shell executor (no broker: the task is called)."""
    monkeypatch.setenv("RIPCORD_TEST_LOG_TOKEN", TOKEN)
    settings.RIPCORD_RUN_DIR = tmp_path
    run = runs.request_run(step_id=incident.steps.get(key="noisy").pk, by=sysadmin)
    assert run.status == StepRun.Status.QUEUED
    runner.execute_run(run.pk)
    run.refresh_from_db()
    return run


def secret_pieces() -> list[bytes]:
    """The secrets, and each line of the key: none may be stored or pushed."""
    return [TOKEN.encode(), KEY.encode(), *(line.encode() for line in KEY.splitlines()[1:-1])]


def test_run_log_downloads_byte_exact_with_only_secrets_replaced(
    finished_run, incident, client, sysadmin
):
    assert finished_run.status == StepRun.Status.SUCCEEDED, finished_run.summary
    assert BEFORE_TOKEN < 64 * 1024 < BEFORE_TOKEN + len(TOKEN)
    expected = written(b"[secret:API_TOKEN]", b"[secret:TLS_KEY]")

    client.force_login(sysadmin)
    page = client.get(reverse("incidents:run_log", args=[incident.pk, finished_run.pk]))
    assert page.status_code == 200
    assert page["Content-Type"] == "text/plain; charset=utf-8"
    assert b"".join(page.streaming_content) == expected

    headers = {"Authorization": f"Bearer {create_token(sysadmin, 'test')[1]}"}
    api_path = f"/api/v1/incidents/{incident.pk}/runs/{finished_run.pk}/log"

    async def download() -> bytes:
        response = await AsyncClient().get(api_path, headers=headers)
        assert response.status_code == 200
        return b"".join([part async for part in response.streaming_content])  # type: ignore[attr-defined]

    assert async_to_sync(download)() == expected  # the async (ASGI) body too

    assert finished_run.log_bytes == len(expected)
    assert finished_run.log_lines == expected.count(b"\n") + 1  # the last line has no newline


def test_run_log_leaves_no_secret_in_chunks_row_or_pushes(finished_run, sent):
    chunks = [bytes(c) for c in finished_run.log_chunks.values_list("data", flat=True)]
    assert chunks, "nothing was stored"
    row = json.dumps(
        StepRun.objects.filter(pk=finished_run.pk).values(
            "summary", "evidence", "log_tail", "worker"
        )[0]
    ).encode()
    pushed = [json.dumps(message).encode() for _group, message in sent]
    tails = [message for group, message in sent if group.endswith(".act")]
    assert tails, "no tail was pushed"
    assert all(
        not group.endswith(".view") for group, message in sent if "run-tail" in message["html"]
    )
    for piece in secret_pieces():
        for place in [*chunks, b"".join(chunks), row, *pushed]:  # whole, and split between chunks
            assert piece not in place


def test_run_log_tail_shows_the_last_lines_harmlessly(finished_run, sent):
    last_push = [m["html"] for g, m in sent if f'id="run-tail-{finished_run.pk}"' in m["html"]][-1]
    assert f'data-rev="{finished_run.log_lines}"' in last_push
    shown = [
        "crlf one",
        "crlf two",
        "bad utf-8: \ufffd\ufffd café",
        "nul:\u2400:after",  # NUL as its control picture: never a NUL in HTML or text columns
        "key follows",
        "[secret:TLS_KEY]",
        "no final newline",
    ]
    lines = finished_run.log_tail.split("\n")
    assert lines[-len(shown) :] == shown
    assert set(lines[0]) == {"y"} and len(lines[0]) < TAIL_BYTES  # the 200 kB line, cut
    assert "\x00" not in last_push and "\r" not in last_push
    assert "\n".join(shown) in last_push  # nothing here needs escaping, so it reads as is


# --- the sink on its own ------------------------------------------------------------


@pytest.fixture
def run(incident, sysadmin):
    return runs.request_run(step_id=incident.steps.get(key="noisy").pk, by=sysadmin)


def stored(run: StepRun) -> list[bytes]:
    return [
        bytes(d) for d in StepRunLogChunk.objects.filter(run=run).values_list("data", flat=True)
    ]


def test_log_sink_holds_a_split_secret_across_a_flush(run, sent):
    sink = LogSink(run, Redactor({"API_TOKEN": TOKEN}))
    sink.emit(b"using " + TOKEN[:6].encode())
    sink.flush()  # a should_stop poll's flush, with half the token in hand
    sink.emit(TOKEN[6:].encode() + b" now\n")
    sink.close()
    assert stored(run) == [b"using ", b"[secret:API_TOKEN] now\n"]


def test_log_sink_counts_an_unterminated_last_line(run, sent):
    sink = LogSink(run, Redactor({}))
    sink.emit(b"one\ntw")
    sink.flush()
    run.refresh_from_db()
    assert (run.log_lines, run.log_bytes, run.log_tail) == (2, 6, "one\ntw")
    sink.emit(b"o\n")
    sink.close()
    run.refresh_from_db()
    assert (run.log_lines, run.log_bytes, run.log_tail) == (2, 8, "one\ntwo")
    assert b"".join(stored(run)) == b"one\ntwo\n"


def test_log_sink_cuts_a_big_burst_into_bounded_chunks(run, sent, monkeypatch):
    from incidents.execution import logsink

    monkeypatch.setattr(logsink, "FLUSH_SECONDS", 3600)  # only the size limit flushes
    monkeypatch.setattr(logsink, "MAX_CHUNK_BYTES", 1000)
    sink = LogSink(run, Redactor({}))
    for _ in range(25):
        sink.emit(b"z" * 99 + b"\n")
    sink.close()
    sizes = [len(chunk) for chunk in stored(run)]
    assert sum(sizes) == 2500 and max(sizes) == 1000


def test_tail_keeps_the_last_lines_within_its_byte_limit():
    data = b"".join(b"line %d\n" % i for i in range(100))
    assert tail_text(tail_of(data)) == "\n".join(f"line {i}" for i in range(80, 100))
    long = "é".encode() * TAIL_BYTES  # two bytes each: any cut may fall inside one
    assert tail_text(tail_of(b"start\n" + long)) == "é" * (TAIL_BYTES // 2)


def test_tail_text_makes_control_characters_visible():
    assert (
        tail_text(b"a\r\nb\x00c\x1b[1m\rd\x7f\n\tend\r")
        == "a\nb\u2400c\u241b[1m\u240dd\u2421\n\tend"
    )

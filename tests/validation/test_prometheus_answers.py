"""What validation/prometheus.py makes of answers a real Prometheus never gives (a proxy might)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from validation import prometheus

pytestmark = pytest.mark.timeout(30)


class Answers:
    def __init__(self) -> None:
        self.bodies: list[bytes] = [b""]
        self.url = ""

    def append(self, body: bytes) -> None:
        self.bodies.append(body)


@pytest.fixture
def answering() -> Iterator[Answers]:
    """A local server whose /api/v1/query answers the last body appended."""
    answers = Answers()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = answers.bodies[-1]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    answers.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield answers
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("data", [[], "vector", 7, [{"resultType": "vector"}]])
def test_a_success_whose_data_is_not_an_object_is_a_query_error(answering, data):
    answering.append(json.dumps({"status": "success", "data": data}).encode())
    with pytest.raises(prometheus.QueryFailed) as failed:
        prometheus.instant_query(answering.url, "up", timeout=5)
    assert failed.value.kind == "error"


def test_a_well_formed_vector_still_reads(answering):
    document = {"resultType": "vector", "result": [{"metric": {}, "value": [1, "0.25"]}]}
    answering.append(json.dumps({"status": "success", "data": document}).encode())
    assert prometheus.instant_query(answering.url, "up", timeout=5) == [0.25]


def test_a_range_written_longer_than_the_evidence_keeps_is_cut():
    query = "rate(http_requests_total[" + "1h" * 40 + "])"
    window = prometheus.window_of(query)
    assert window == ("1h" * 40)[: prometheus.WINDOW_CHARS]
    assert prometheus.window_of("rate(x[5m]) / rate(x[1h])") == "1h"

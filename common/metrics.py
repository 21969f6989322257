"""Ripcord's own Prometheus metrics: where values live, how they are exposed, HTTP timing.

Values are kept by the process that observes them. The processes of one service add up
through prometheus-client's multiprocess mode: with ``PROMETHEUS_MULTIPROC_DIR`` set (an
empty folder of that service's own, read before prometheus-client is imported), every
process (uvicorn's workers, a Celery worker's prefork children) writes its values to files
there and an exposition reads them all. Without it (embedded mode, tests) the process's own
registry is exposed.

Values read from the database at scrape time are the same whichever process is asked:
apps register them as *scrape collectors*, which the web's ``/metrics`` exposes and a
worker's endpoint does not, so adding up the targets never counts them twice.

Nothing here imports an app: the domain's metrics live in their apps (incidents/metrics.py).
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

# The classic text format (0.0.4): what every Prometheus server and the client's parser read.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROCESS_DIR:
    if not Path(MULTIPROCESS_DIR).is_dir():
        raise ImproperlyConfigured(
            f"PROMETHEUS_MULTIPROC_DIR={MULTIPROCESS_DIR!r} is not a directory: create it "
            "(an empty one per service, emptied when the service starts)"
        )
    # A process reusing the pid of one that died must not inherit its live gauges.
    mark_process_dead(os.getpid(), MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]

_scrape_collectors: list[Collector] = []


def register_scrape_collector(collector: Collector) -> None:
    """Expose ``collector`` on the web's /metrics (once, however often an app is made ready)."""
    if all(type(c) is not type(collector) for c in _scrape_collectors):
        _scrape_collectors.append(collector)


class _Sources:
    """Collectors exposed together: ``generate_latest`` only calls ``collect``."""

    def __init__(self, sources: Iterable[Collector]) -> None:
        self.sources = list(sources)

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def forget_dead_processes(path: str = MULTIPROCESS_DIR) -> None:
    """Drop the live gauges (open websockets) of processes of this service that died.

    A uvicorn worker that crashed is replaced by one with a new pid; without this, the
    sockets it held would be counted until the service restarts. Counters and histograms
    of dead processes stay: they are totals, and a total never goes down.
    """
    for file in Path(path).glob("gauge_live*_*.db"):
        pid = file.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            mark_process_dead(int(pid), path)  # type: ignore[no-untyped-call]


def process_metrics() -> Collector:
    """This service's own values: every process's in multiprocess mode, else this one's."""
    if not MULTIPROCESS_DIR:
        return REGISTRY
    forget_dead_processes()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
    return registry


def exposition(*, scrape_collectors: bool = True) -> bytes:
    """The Prometheus text for a scrape; the web includes the scrape collectors, a worker not."""
    sources = [process_metrics(), *(_scrape_collectors if scrape_collectors else [])]
    return generate_latest(_Sources(sources))


def authorized(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries the metrics token (anything goes without one)."""
    if not token:
        return True
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


# --- HTTP requests ------------------------------------------------------------------

HTTP_SECONDS = Histogram(
    "ripcord_http_request_duration_seconds",
    "Seconds from a request reaching Django to its response starting, by route (the URL "
    "pattern's name, never the path), method and status class (2xx, 4xx, 5xx...).",
    ["route", "method", "status"],
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(request: HttpRequest) -> str:
    """A bounded label: the URL pattern's name, "static", or "unmatched" (a 404, a probe)."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return str(match.view_name or match.route)
    static = "/" + str(settings.STATIC_URL).lstrip("/")
    return "static" if request.path.startswith(static) else "unmatched"


def observe_request(request: HttpRequest, response: HttpResponseBase, started: float) -> None:
    method = request.method if request.method in _METHODS else "other"
    status = f"{response.status_code // 100}xx"
    HTTP_SECONDS.labels(route_of(request), method, status).observe(time.perf_counter() - started)


class RequestMetricsMiddleware:
    """Times every request (first in MIDDLEWARE, so the others' time counts too).

    Sync and async capable, so it never adds a thread switch to either chain.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        started = time.perf_counter()
        response = self.get_response(request)
        observe_request(request, response, started)
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        started = time.perf_counter()
        response = await self.get_response(request)
        observe_request(request, response, started)
        return response


# --- a worker's own endpoint ----------------------------------------------------------


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds are not worth a log line each."""


def _worker_app(token: str) -> Callable[..., list[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: the metrics are at /metrics\n"]
        if not authorized(environ.get("HTTP_AUTHORIZATION"), token):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")],
            )
            return [b"a bearer token is required (RIPCORD_METRICS_TOKEN)\n"]
        body = exposition(scrape_collectors=False)
        start_response(
            "200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app


def serve(host: str, port: int, token: str) -> WSGIServer:
    """Serve this process's service's values at http://host:port/metrics from a daemon thread."""
    server = make_server(host, port, _worker_app(token), _Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    logger.info("metrics at http://%s:%s/metrics", host, server.server_port)
    return server

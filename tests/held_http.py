"""Small HTTP servers on a thread, for tests that need a service to talk to.

``serving(Handler)`` answers with any handler class; ``held_server()`` holds every GET until
the test releases it: a service slower than the lease, for the tests that prove a step
blocked in one request is not declared lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOLD_SECONDS = 60  # a request is answered at the latest then, released or not


class HeldServer(ThreadingHTTPServer):
    """``arrived`` is set when a GET comes in; it is answered ("finally") once ``release`` is."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), HeldHandler)
        self.arrived = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class HeldHandler(BaseHTTPRequestHandler):
    server: HeldServer

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.server.arrived.set()
        self.server.release.wait(HOLD_SECONDS)
        body = b"finally\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def _on_a_thread(server: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` answering on 127.0.0.1 on a free port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    with _on_a_thread(server):
        yield f"http://127.0.0.1:{server.server_address[1]}"


@contextmanager
def held_server() -> Iterator[HeldServer]:
    """A HeldServer serving on a thread; released and closed on the way out."""
    server = HeldServer()
    try:
        with _on_a_thread(server):
            yield server
    finally:
        server.release.set()

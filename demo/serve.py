"""Serve the ASGI application with uvicorn in the current process."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import uvicorn

APPLICATION = "config.asgi:application"


def parse_addr(addr: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``"8000"``, ``"0.0.0.0:8000"`` or ``"[::1]:8000"`` → (host, port)."""
    host, sep, port_text = addr.rpartition(":")
    if not sep:
        host, port_text = default_host, addr
    host = host.removeprefix("[").removesuffix("]") or default_host
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"not a host:port address: {addr!r}")
    return host, int(port_text)


def public_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def serve(host: str, port: int) -> None:
    """Block until uvicorn has shut down after Ctrl-C or SIGTERM.

    uvicorn drains connections, then re-raises the signal it caught. Ctrl-C ends
    here; SIGTERM becomes SystemExit so that the caller's ``finally`` (stopping
    the in-process worker) runs instead of the process dying on the spot.
    """
    # Django has no ASGI lifespan support; "off" spares a misleading log line.
    # Pushes uncompressed, as in production (.env.example, UVICORN_WS_PER_MESSAGE_DEFLATE).
    config = uvicorn.Config(
        APPLICATION,
        host=host,
        port=port,
        lifespan="off",
        log_level="info",
        ws_per_message_deflate=False,
    )
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.Server(config).run()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    sys.exit(128 + signum)

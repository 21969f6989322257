"""Container health probes for compose.yaml, without loading Django.

``python -m common.healthcheck web``    GET /healthz on this container's web server (the port
                                        uvicorn reads from UVICORN_PORT, else 8000)
``python -m common.healthcheck broker`` the Celery broker (REDIS_URL) answers

Exit status 0 is healthy, 1 is not.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT = 5.0


def web_url() -> str:
    """/healthz on the loopback port uvicorn listens on (it reads UVICORN_PORT itself)."""
    return f"http://127.0.0.1:{os.environ.get('UVICORN_PORT') or 8000}/healthz"


def probe_host(allowed_hosts: str) -> str:
    """A Host header Django will accept: the first ALLOWED_HOSTS entry made concrete."""
    first = next((h.strip() for h in allowed_hosts.split(",") if h.strip()), "localhost")
    if first == "*":
        return "localhost"
    return first.removeprefix(".")  # ".example.com" admits example.com itself


def check_web(url: str | None = None) -> bool:
    url = url or web_url()
    host = probe_host(os.environ.get("ALLOWED_HOSTS", "localhost"))
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def check_broker() -> bool:
    from kombu import Connection

    url = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL", "")
    if not url:
        return False
    try:
        with Connection(url, connect_timeout=TIMEOUT) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception:
        return False
    return True


def main(argv: list[str]) -> int:
    checks = {"web": check_web, "broker": check_broker}
    if len(argv) != 1 or argv[0] not in checks:
        print(f"usage: python -m common.healthcheck {{{'|'.join(checks)}}}", file=sys.stderr)
        return 2
    return 0 if checks[argv[0]]() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

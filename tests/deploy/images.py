"""The images the deployment test runs: a Debian 12 base made here, and the app from our Dockerfile.

Nothing can be pulled on these machines, so the base is ``debootstrap --variant=minbase
bookworm`` imported into the engine, with Python, its venv module and the PostgreSQL client
installed in a container on the host network, then committed. It is tagged by its recipe and
kept, so only the first run pays for it. pip inside a container cannot verify TLS here, so
the Python wheels are built on the host (cached by requirements.txt) and served to the build
from 127.0.0.1 through pip's own settings, which the Dockerfile takes as build arguments.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
APP_IMAGE = "ripcord-deploy-app:test"
BASE_REPOSITORY = "ripcord-deploy-base"
BASE_PACKAGES = ("python3", "python3-venv", "postgresql-client")
BASE_SCRIPT = (
    "set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -q; "
    f"apt-get install -y -q --no-install-recommends {' '.join(BASE_PACKAGES)}; "
    "apt-get clean; rm -rf /var/lib/apt/lists/*"
)
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ripcord-deploy"


def _digest(*parts: bytes | str) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode() if isinstance(part, str) else part)
    return sha.hexdigest()[:12]


def _run(argv: list[str]) -> None:
    """Run a build tool quietly; its output is shown only when it fails."""
    done = subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{(done.stdout + done.stderr)[-4000:]}")


def base_image(client: Any, log: Any = print) -> str:
    """A Debian 12 image with Python 3.11 (venv) and pg_restore; built once, then reused."""
    import docker

    tag = f"{BASE_REPOSITORY}:bookworm-{_digest(BASE_SCRIPT)}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    with tempfile.TemporaryDirectory(prefix="ripcord-debootstrap-") as scratch:
        rootfs = Path(scratch) / "rootfs"
        log("debootstrap --variant=minbase bookworm")
        _run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs)])
        # Package lists and downloaded .debs would only weigh the image down.
        for leftover in (rootfs / "var/lib/apt/lists", rootfs / "var/cache/apt/archives"):
            for path in leftover.glob("*"):
                if path.is_file():
                    path.unlink()
        archive = Path(scratch) / "rootfs.tar"
        _run(["tar", "-C", str(rootfs), "-cf", str(archive), "."])
        shutil.rmtree(rootfs)
        bare = f"{BASE_REPOSITORY}:debootstrap"
        client.api.import_image(src=str(archive), repository=bare.split(":")[0], tag="debootstrap")
    log(f"installing {' '.join(BASE_PACKAGES)} in the base")
    container = client.containers.run(
        bare, ["sh", "-c", BASE_SCRIPT], network_mode="host", detach=True
    )
    try:
        status = container.wait(timeout=900)["StatusCode"]
        if status != 0:
            raise RuntimeError(f"installing the base's packages failed:\n{container.logs()!r}")
        container.commit(repository=BASE_REPOSITORY, tag=tag.split(":")[1])
    finally:
        container.remove(force=True)
    client.images.remove(bare)
    return tag


def host_wheels(log: Any = print) -> Path:
    """Wheels for requirements.txt, built on the host once per version of that file.

    A requirement with an environment marker is built whatever the host's Python says
    (async-timeout is needed on Debian's Python 3.11.2, not on the host's newer one): the
    image's pip applies the markers for its own interpreter.
    """
    requirements = ROOT / "requirements.txt"
    wheels = CACHE / f"wheels-{_digest(requirements.read_bytes(), sys.version)}"
    if wheels.is_dir():
        return wheels
    log("building wheels for requirements.txt on the host")
    CACHE.mkdir(parents=True, exist_ok=True)
    partial_dir = Path(tempfile.mkdtemp(prefix="wheels-", dir=CACHE))
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(partial_dir)]
    _run([*pip, "-r", str(requirements)])
    conditional = [
        line.split(";")[0].strip()
        for line in requirements.read_text().splitlines()
        if ";" in line and not line.lstrip().startswith("#")
    ]
    if conditional:
        _run([*pip, "--no-deps", *conditional])
    partial_dir.rename(wheels)
    return wheels


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def served(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on 127.0.0.1 (a build on the host network reaches it there).

    On a port derived from the folder's name when that one is free: the URL is a build
    argument, so the same URL as last time keeps the image's dependency layer cached.
    """
    handler = partial(_QuietHandler, directory=str(folder))
    try:
        preferred = 20000 + int(_digest(folder.name), 16) % 10000
        server = ThreadingHTTPServer(("127.0.0.1", preferred), handler)
    except OSError:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def app_image(client: Any, base: str, wheels: Path, log: Any = print) -> str:
    """Build the repository's Dockerfile on ``base`` with the host's wheels, never the bridge."""
    import docker

    log(f"building {APP_IMAGE} from the Dockerfile on {base}")
    with served(wheels) as url:
        try:
            client.images.build(
                path=str(ROOT),
                tag=APP_IMAGE,
                network_mode="host",
                buildargs={
                    "BASE_IMAGE": base,
                    "PIP_NO_INDEX": "1",
                    "PIP_FIND_LINKS": url,
                    "PIP_TRUSTED_HOST": "127.0.0.1",
                },
                rm=True,
                forcerm=True,
                timeout=900,
            )
        except docker.errors.BuildError as exc:
            output = "".join(str(chunk.get("stream", chunk)) for chunk in exc.build_log)
            raise RuntimeError(f"docker build failed: {exc}\n{output[-4000:]}") from None
    return APP_IMAGE

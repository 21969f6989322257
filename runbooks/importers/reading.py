"""Reading a runbook's files: regular files only, and never more than a limit.

``Path.read_bytes`` would hang on a named pipe and read a file of any size into
memory; this opens without blocking, refuses anything but a regular file, and
reads at most one byte past the limit to tell that it was exceeded.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class NotRegularFile(Exception):
    pass


class TooLarge(Exception):
    pass


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of ``path``; raise ``OSError``, ``NotRegularFile`` or ``TooLarge``.

    ``path`` is opened with O_NOFOLLOW: callers resolve links first and judge where
    they lead, so a link appearing in the meantime is refused, not followed.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile
        data = file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge
    return data

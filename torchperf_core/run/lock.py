"""One `torchperf run` per checkout at a time.

Two runs writing `results/` at once would interleave asv's results files and rebuild environments
under each other. The lock is an advisory `flock` on `.torchperf-lock` in the project root: the
kernel releases it when the holder dies (even by SIGKILL), so a crashed run never leaves a stale
lock behind. The file records who holds it, for the refusal message.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import os
import time
from pathlib import Path
from typing import Iterator

from torchperf_core.errors import TorchperfError

LOCK_NAME = ".torchperf-lock"


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return "another process"
    return text or "another process"


@contextlib.contextmanager
def project_lock(root: str | os.PathLike[str], *, wait: float = 0.0, what: str = "torchperf run") -> Iterator[Path]:
    """Hold the project lock for the block. `wait` seconds to wait for it (0: refuse at once)."""
    path = Path(root) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    held = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TorchperfError(
                        f"{_holder(path)} holds the lock on {Path(root).resolve().name}/{LOCK_NAME}; "
                        f"wait for it to finish, or pass --wait SECONDS to queue behind it",
                        exit_code=3,
                    ) from None
                time.sleep(0.2)
        now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what} (pid {os.getpid()}, since {now})\n".encode(), 0)
        yield path
    finally:
        if held:  # a refused process must not erase the holder's name
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
        os.close(fd)  # closing releases the flock

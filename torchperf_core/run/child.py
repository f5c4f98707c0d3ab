"""asv as a child that stops when `torchperf run` stops.

`subprocess.run` leaves two holes that a stopped run (Ctrl-C, `kill PID`, a CI job's time limit) falls
through, both seen: a SIGTERM that lands while the child is being started (after the fork, before
`Popen` returns) raises out of `Popen` with no handle on the child, so nothing stops it: asv ran its
round to the end, orphaned, writing results after torchperf had said it stopped; and a stop that lands
while it waits kills asv alone, and asv's benchmark process finishes its case. Here the stop signals
are held while the child starts and delivered once it is in hand, and a stop takes asv and everything
it started (Linux: its descendants, read from /proc before asv goes) before the stop goes on, so
nothing writes after torchperf's last line.

asv stays in torchperf's process group: a SIGKILL to the group (a job runner's last resort) still takes
it, and a Ctrl-C in the terminal reaches it directly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Iterator, Mapping, Sequence

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACE_S = 10.0  # asv's time to go after SIGTERM before it is killed


@contextlib.contextmanager
def _stops_held() -> Iterator[list[int]]:
    """Within: SIGINT/SIGTERM are noted, not acted on; the caller delivers them (`_deliver`) once it
    holds what it must clean up (if the block raises, they are delivered on the way out). Outside the main thread (a test calling `main`) signals cannot be handled: no-op."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: held.append(signum)) for sig in STOP_SIGNALS}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    try:
        yield held
    except BaseException:  # the child did not start: a held stop still goes on (and wins)
        restore()
        _deliver(held)
        raise
    restore()


def _deliver(held: list[int]) -> None:
    """Act on a held stop now, through the handlers in place (the CLI's raise Terminated or
    KeyboardInterrupt; a default handler ends the process, as it would have)."""
    for sig in dict.fromkeys(held):
        signal.raise_signal(sig)


def _stat(pid: int | str) -> tuple[int, str] | None:
    """(parent pid, start time in clock ticks) of a live process, from /proc/PID/stat (fields 4 and 22;
    the name in parentheses may hold spaces); None once it has ended. With the pid, the start time
    names one process, so a pid reused after its process ended is never signalled."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[1]), fields[19]


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, start time) of every live descendant of `pid`, from one pass over /proc; [] where /proc
    is not Linux's."""
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in entries:
        stat = _stat(entry)
        if stat is not None:
            children.setdefault(stat[0], []).append((int(entry), stat[1]))
    found: list[tuple[int, str]] = []
    todo = [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found.extend(kids)
        todo.extend(child for child, _ in kids)
    return found


def _signal_tree(tree: Sequence[tuple[int, str]], sig: int) -> None:
    for pid, started in tree:
        stat = _stat(pid)
        if stat is not None and stat[1] == started:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)


def stop_tree(proc: subprocess.Popen[bytes], grace_s: float = GRACE_S) -> None:
    """SIGTERM to the child and its descendants, up to `grace_s` for the child to go, then SIGKILL to
    whatever of them is left; returns once the child is reaped."""
    if proc.poll() is not None:
        return
    tree = descendants(proc.pid)
    with contextlib.suppress(OSError):
        proc.terminate()
    _signal_tree(tree, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    _signal_tree(tree, signal.SIGKILL)


def run_to_end(cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> int:
    """Run `cmd` (its output goes where torchperf's goes) and return its exit code; if torchperf is
    stopped meanwhile, stop the child's whole tree first, then let the stop go on."""
    proc: subprocess.Popen[bytes] | None = None
    try:  # entered before the start: a stop landing as the handlers come back finds the child in hand
        with _stops_held() as held:
            proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL)
        _deliver(held)
        return proc.wait()
    except BaseException:
        if proc is not None:
            stop_tree(proc)
        raise

"""One case on both sides of a round: whole (one side's measurement, then the other's) or sample by
sample (the two workers take their samples alternately).

Why by sample: on a shared host the speed moves in spells about as long as one measurement (fp32 mm
1024² read 14.9-21.6 ms within seconds, each measurement's own samples tight), so a side timed whole
can fall inside one spell and its partner outside it; that is the spread between rounds that kept a
+5% undecided for an hour (docs/GATE.md). Alternating the samples puts both sides in the same spells.

Between the two sides' samples the parent waits until the side that sampled last has no thread on a
CPU (`settle`): OpenMP's threads spin for some milliseconds after a parallel region, and on a 2-core
host they would slow the other side's next sample (fp32 mm 1024², a two-process prototype: 12.3 ms
a call taken whole, 19.8 ms alternating with no gap, 14.0 ms at best with a fixed 5 ms gap, 12.3 ms
with this wait, ~8 ms a turn). Each worker's own warm-up and calibration
still run whole, one side after the other (the first `pace` comes after them).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence

# How a case's two sides are interleaved within a round (`--interleave`): "sample" (the sides take
# turns, one sample each) or "case" (one side's whole measurement, then the other's).
INTERLEAVES = ("sample", "case")
SETTLE_LIMIT = 0.05  # seconds: the longest wait for the other side's threads to leave the CPUs
SETTLE_STEP = 0.0005
SETTLE_BLIND = 0.02  # where threads' states cannot be read (no /proc): a fixed wait instead


class PacedWorker(Protocol):
    pid: int

    def ask(self, request: Mapping[str, Any]) -> dict[str, Any]: ...


def running_threads(pid: int, proc: Path = Path("/proc")) -> int | None:
    """How many of `pid`'s threads are running or runnable (state R), None where unreadable."""
    try:
        tasks = list((proc / str(pid) / "task").iterdir())
    except OSError:
        return None
    running = 0
    for task in tasks:
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a thread that ended meanwhile
        running += bool(fields) and fields[0] == "R"
    return running


def settle(pid: int, *, limit: float = SETTLE_LIMIT, step: float = SETTLE_STEP,
           running: Callable[[int], int | None] = running_threads,
           sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> float:
    """Wait until no thread of `pid` is on a CPU, at most `limit` seconds; the seconds waited."""
    start = clock()
    while True:
        now = running(pid)
        if now is None:
            sleep(SETTLE_BLIND)
            break
        if now == 0 or clock() - start >= limit:
            break
        sleep(step)
    return clock() - start


def time_pair(workers: Sequence[PacedWorker], order: Sequence[int], request: Mapping[str, Any], *, paced: bool,
              settle: Callable[[int], float] = settle) -> list[dict[str, Any]]:
    """Both sides' answers to `request` (a worker's "run"), index 0 before, 1 after; `order[0]` starts.

    Paced: each worker answers {"pace"} before each sample and waits for a go; the sides go in turn,
    `order[0]` first every time, after `settle` on the side that sampled last. A side that answers
    its result (done, or its case never paces: a skip, a failure, a measurement outside the paced
    loop) drops out and the other goes on alone."""
    out: list[dict[str, Any]] = [{}, {}]
    if not paced:
        for s in order:
            out[s] = workers[s].ask(request)
        return out
    last: list[int] = []

    def step(s: int, message: Mapping[str, Any]) -> bool:
        if last and last[0] != s:
            settle(workers[last[0]].pid)
        reply = workers[s].ask(message)
        last[:] = [s]
        if "pace" in reply:
            return True
        out[s] = reply
        return False

    live = [s for s in order if step(s, {**request, "paced": True})]
    while live:
        live = [s for s in live if step(s, {"op": "go"})]
    return out

"""Per-host progress of a fleet run: host, stage, cases done / total, elapsed.

On a terminal the table is redrawn in place (one line per host); otherwise (a CI log, a pipe) a
plain line is written when a host changes stage, so a log reads top to bottom. The display only
formats what it is told: the fleet decides stages and counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence, TextIO


@dataclass
class HostState:
    label: str
    stage: str = "waiting"
    done: int | None = None
    total: int | None = None
    started: float = 0.0
    finished: float | None = None

    def line(self, now: float, width: int) -> str:
        cases = f"{self.done}/{self.total} cases" if self.total else ""
        elapsed = (self.finished or now) - self.started if self.started else 0.0
        return f"{self.label:<{width}}  {self.stage:<28.60}  {cases:>13}  {_elapsed(elapsed):>7}"


def _elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """One display for all hosts; `live` redraws in place (use it only on a terminal)."""

    def __init__(self, labels: Sequence[str], stream: TextIO, *, live: bool,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._live = live
        self._clock = clock
        self._hosts = {label: HostState(label) for label in labels}
        self._width = max((len(label) for label in labels), default=4)
        self._drawn = 0

    def stage(self, label: str, stage: str) -> None:
        host = self._hosts[label]
        if not host.started:
            host.started = self._clock()
        host.stage = stage
        if not self._live:
            cases = f"{host.done}/{host.total} cases, " if host.total else ""
            self._stream.write(f"fleet: {label}: {stage} ({cases}{_elapsed(self._clock() - host.started)})\n")
            self._stream.flush()
        self._draw()

    def cases(self, label: str, done: int | None, total: int | None) -> None:
        host = self._hosts[label]
        if (done, total) != (host.done, host.total):
            host.done, host.total = done, total
            self._draw()

    def finish(self, label: str, stage: str) -> None:
        self.stage(label, stage)
        self._hosts[label].finished = self._clock()
        self._draw()

    def _draw(self) -> None:
        if not self._live:
            return
        now = self._clock()
        lines = [h.line(now, self._width) for h in self._hosts.values()]
        # Move up over the previous table and rewrite it, clearing each line's rest.
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self._stream.write(up + "".join(f"{line}\x1b[K\n" for line in lines))
        self._stream.flush()
        self._drawn = len(lines)

    def tick(self) -> None:
        """Refresh elapsed times (called periodically while hosts run)."""
        self._draw()

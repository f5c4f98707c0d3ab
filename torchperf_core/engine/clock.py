"""The one clock: synchronize the device, then read `time.perf_counter()`.

GPU work is asynchronous, so a plain wall clock would time the launch, not the kernel. Reading this
clock waits for the device first. It is an object, not a function: assigned as an asv benchmark's
`timer` attribute it stays a plain callable (a function would become a bound method and receive the
benchmark instance as an argument).

asv's `timeit` reads the timer exactly twice per sample, around the whole `number` loop, and the
engine does the same, so one sample costs one synchronization however many calls it batches.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol


class Synchronizer(Protocol):
    def synchronize(self) -> None: ...


class SyncClock:
    """Callable clock: `clock()` synchronizes `device` and returns seconds from `time_fn`."""

    def __init__(self, device: Synchronizer, time_fn: Callable[[], float] = time.perf_counter) -> None:
        self.device = device
        self.time_fn = time_fn
        self.syncs = 0

    def __call__(self) -> float:
        self.device.synchronize()
        self.syncs += 1
        return self.time_fn()

    def __repr__(self) -> str:
        return f"SyncClock(device={self.device!s})"

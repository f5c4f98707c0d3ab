"""A fake device and a fake time source: the engine's behaviour, checked without a real clock."""

from __future__ import annotations


class FakeTime:
    """Virtual seconds. Each read costs `read_cost`; ops advance time explicitly."""

    def __init__(self, read_cost: float = 0.0) -> None:
        self.now = 0.0
        self.read_cost = read_cost
        self.reads = 0

    def __call__(self) -> float:
        self.now += self.read_cost
        self.reads += 1
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeDevice:
    """Counts synchronizations; a sync costs `sync_cost` virtual seconds."""

    type = "fake"

    def __init__(self, time: FakeTime, sync_cost: float = 0.0) -> None:
        self.time = time
        self.sync_cost = sync_cost
        self.syncs = 0

    def synchronize(self) -> None:
        self.syncs += 1
        self.time.advance(self.sync_cost)

    def __str__(self) -> str:
        return "fake"


class FakeOp:
    """An op whose first `cold_calls` calls cost `cold` seconds and later ones `warm` seconds."""

    def __init__(self, time: FakeTime, warm: float, cold: float = 0.0, cold_calls: int = 1) -> None:
        self.time = time
        self.warm = warm
        self.cold = cold
        self.cold_calls = cold_calls
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        self.time.advance(self.cold if self.calls <= self.cold_calls else self.warm)


class FakeEvent:
    """A CUDA-event stand-in reading the fake time at record()."""

    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self.t: float | None = None

    def record(self) -> None:
        self.t = self.time.now

    def elapsed_time(self, end: "FakeEvent") -> float:
        assert self.t is not None and end.t is not None
        return (end.t - self.t) * 1e3

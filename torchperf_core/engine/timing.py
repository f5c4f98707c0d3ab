"""The timing loop: warmup, batching calibration, samples; CUDA events and cold-L2 variants.

How one measurement goes (sync mode, the default)::

    warmup:     call fn in growing batches until >= min_warmup_calls AND >= warmup_time seconds
                (thread pools, cuBLAS handles, oneDNN primitive caches, lazy loading all happen
                here, so no sample ever contains a first call)
    overhead:   median cost of one clock read (= one device sync + perf_counter)
    number:     calls per sample so that overhead <= max_overhead of a sample, and a sample lasts
                at least min_sample_time
    samples:    t_prev = clock()
                repeat: fn() x number; t = clock(); sample = (t - t_prev) / number; t_prev = t

Consecutive samples share their boundary reading, so a sample costs exactly one device
synchronization however many calls it batches (torch.utils.benchmark and asv's timeit read the clock
twice per sample). Samples are kept raw, per call; statistics are derived elsewhere.

Events mode records a CUDA event pair around each batch and synchronizes once at the end: no host
clock overhead at all. Cold-L2 mode flushes the cache before every call, outside the timed region,
so each sample is one call (number = 1) and the clock's overhead is reported alongside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from torchperf_core.engine import stats
from torchperf_core.engine.clock import SyncClock, Synchronizer

TIMING_MODES = ("sync", "events")


@dataclass(frozen=True)
class TimingOptions:
    """Knobs of one measurement. Defaults suit a 2-core CPU as well as a GPU."""

    warmup_time: float = 0.1
    min_warmup_calls: int = 3
    max_overhead: float = 0.01
    min_sample_time: float = 2e-4
    samples: int = 15
    min_samples: int = 5
    max_time: float = 2.0
    mode: str = "sync"
    cold_l2: bool = False

    def __post_init__(self) -> None:
        if self.mode not in TIMING_MODES:
            raise ValueError(f"timing mode {self.mode!r} not in {TIMING_MODES}")
        if self.samples < 1 or self.min_samples < 1:
            raise ValueError("samples must be >= 1")
        if not 0 < self.max_overhead < 1:
            raise ValueError("max_overhead must be in (0, 1)")


@dataclass(frozen=True)
class RawTiming:
    """What the loop produced: per-call seconds per sample, and how they were taken."""

    samples: tuple[float, ...]
    number: int
    warmup_calls: int
    overhead: float
    syncs_in_samples: int
    mode: str
    cold_l2: bool


def measure_clock_overhead(clock: Callable[[], float], reads: int = 21) -> float:
    """Median cost of one clock read. A sample's extra cost is one read (its closing one)."""
    deltas = []
    prev = clock()
    for _ in range(reads):
        now = clock()
        deltas.append(now - prev)
        prev = now
    return max(stats.median(deltas), 0.0)


def _warmup(fn: Callable[[], Any], clock: Callable[[], float], options: TimingOptions) -> tuple[int, float]:
    """Run fn until warm; return (calls made, estimated seconds per warm call).

    Batches double in size so a µs-scale op does not pay a sync per call, while a second-scale op
    stops after min_warmup_calls. The first call is cold and never used for the estimate.
    """
    calls = 0
    start = clock()
    fn()
    calls += 1
    prev = clock()
    per_call = prev - start
    batch = 1
    while calls < options.min_warmup_calls or (prev - start) < options.warmup_time:
        for _ in range(batch):
            fn()
        now = clock()
        calls += batch
        per_call = (now - prev) / batch
        prev = now
        if (now - start) >= options.warmup_time:
            batch = max(1, options.min_warmup_calls - calls)
        else:
            batch *= 2
    return calls, max(per_call, 1e-9)


def _ceil(x: float) -> int:
    """ceil that ignores floating-point dust (1000.0000000001 -> 1000)."""
    return math.ceil(x - 1e-9 * max(1.0, abs(x)))


def choose_number(per_call: float, overhead: float, options: TimingOptions) -> int:
    """Calls per sample: overhead <= max_overhead of a sample, a sample >= min_sample_time, and the
    planned samples fit in max_time where possible."""
    by_overhead = _ceil(overhead / (options.max_overhead * per_call)) if overhead > 0 else 1
    by_duration = _ceil(options.min_sample_time / per_call)
    budget_cap = max(1, int(options.max_time / max(options.samples, 1) / per_call))
    # The overhead rule is never traded away: a biased sample is worse than fewer samples.
    return max(1, by_overhead, min(by_duration, budget_cap))


def time_callable(
    fn: Callable[[], Any] | Sequence[Callable[[], Any]],
    *,
    device: Synchronizer,
    clock: Callable[[], float] | None = None,
    options: TimingOptions = TimingOptions(),
    flush: Callable[[], Any] | None = None,
    event_factory: Callable[[], Any] | None = None,
) -> RawTiming:
    """Time `fn` (or rotate through several callables, one per input set) on `device`.

    `clock` defaults to a SyncClock on `device`; tests inject a fake one. `flush` (cold-L2 mode)
    is called before every timed call and never timed. `event_factory` makes CUDA-event-like objects
    with record() and elapsed_time(other) in ms (events mode).
    """
    fns = list(fn) if isinstance(fn, (list, tuple)) else [fn]
    rotate = len(fns)
    clock = clock or SyncClock(device)

    def call_rotating(state: list[int] = [0]) -> None:  # noqa: B006 - per-call rotation cursor
        fns[state[0] % rotate]()
        state[0] += 1

    one = fns[0] if rotate == 1 else call_rotating
    if options.cold_l2 and flush is None:
        raise ValueError("cold_l2 needs a flush callable")
    if options.mode == "events" and event_factory is None:
        raise ValueError("events mode needs an event_factory (CUDA only)")

    warmup_calls, per_call = _warmup(one, clock, options)
    overhead = measure_clock_overhead(clock)

    if options.mode == "events":
        return _time_events(one, device, options, flush, event_factory, warmup_calls, per_call, overhead)

    samples: list[float] = []
    syncs_before = getattr(clock, "syncs", None)
    if options.cold_l2:
        number = 1
        deadline = None
        for i in range(options.samples):
            flush()  # type: ignore[misc]
            t0 = clock()  # waits for the flush to finish: it is not in the sample
            one()
            t1 = clock()
            samples.append(t1 - t0)
            if deadline is None:
                deadline = t0 + options.max_time
            elif t1 > deadline and len(samples) >= options.min_samples:
                break
    else:
        number = choose_number(per_call, overhead, options)
        t_prev = clock()
        deadline = t_prev + options.max_time
        for i in range(options.samples):
            for _ in range(number):
                one()
            t = clock()
            samples.append((t - t_prev) / number)
            t_prev = t
            if t > deadline and len(samples) >= options.min_samples:
                break
    syncs = (clock.syncs - syncs_before) if syncs_before is not None else -1  # type: ignore[attr-defined]
    return RawTiming(tuple(samples), number, warmup_calls, overhead, syncs, "sync", options.cold_l2)


def _time_events(
    one: Callable[[], Any],
    device: Synchronizer,
    options: TimingOptions,
    flush: Callable[[], Any] | None,
    event_factory: Callable[[], Any],
    warmup_calls: int,
    per_call: float,
    overhead: float,
) -> RawTiming:
    # Events cost no host sync; batching still amortises the launch gaps between samples.
    number = 1 if options.cold_l2 else choose_number(per_call, 0.0, options)
    pairs = []
    for _ in range(options.samples):
        if options.cold_l2:
            flush()  # type: ignore[misc]
        start, end = event_factory(), event_factory()
        start.record()
        for _ in range(number):
            one()
        end.record()
        pairs.append((start, end))
    device.synchronize()
    samples = tuple(start.elapsed_time(end) / 1e3 / number for start, end in pairs)
    return RawTiming(samples, number, warmup_calls, overhead, 1, "events", options.cold_l2)


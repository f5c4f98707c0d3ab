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

Contention (sync mode, with a `probe`): the scheduler's counters are read at every sample boundary,
right after the clock, so each sample knows whether its threads waited for a CPU
(`contention.is_disturbed`). Disturbed samples are set aside and retaken until `samples` clean ones
exist, within 3x the planned samples and 3x `max_time`; a measurement left with fewer than
`min_samples` clean samples is *contended* and keeps every sample it took (its numbers are reported,
and flagged, never silently cleaned). The probe's cost is part of the measured overhead, so the 1%
bound on it still holds.

Pacing (sync mode, `pacing(fn)` around the measurement): `fn` is called before every sample, outside
the timed region, and may block; the sample's opening reading (clock, probe) is taken after it returns,
and the time it blocked does not count against `max_time`. A paced measurement's contention rests on
its samples' own waits: the machine's tick-sampled counters are left out
(`contention.without_machine`). The gate's worker sets it so that two processes, one per side, take
their samples alternately (`gate/pairs.py`): a slow spell of the host then falls on both sides
instead of on one side's whole measurement.

Events mode records a CUDA event pair around each batch and synchronizes once at the end: no host
clock overhead at all. Cold-L2 mode flushes the cache before every call, outside the timed region,
so each sample is one call (number = 1) and the clock's overhead is reported alongside.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from torchperf_core.engine import stats
from torchperf_core.engine.clock import SyncClock, Synchronizer
from torchperf_core.engine.contention import Contention, Reading, SchedProbe, is_disturbed, sample_wait, summarize, without_machine

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
    contention: Contention | None = None  # None: not watched (no probe, events mode)
    stopped_by: str = "samples"  # STOP_*: which of the loop's bounds ended it


# What ended the sampling loop (`RawTiming.stopped_by`), each set where the loop breaks:
STOP_SAMPLES = "samples"  # the clean samples asked were taken
STOP_ATTEMPTS = "attempts"  # watched: 3x the samples asked taken, the disturbed ones included
STOP_TIME = "time cap"  # `max_time` passed with at least `min_samples` clean
STOP_HARD_TIME = "hard time cap"  # watched: 3x `max_time` passed with `min_samples` taken, clean or not


_PACE: list[Callable[[], None]] = []  # set only by `pacing`: the innermost one is used


@contextlib.contextmanager
def pacing(pace: Callable[[], None]) -> Iterator[None]:
    """Call `pace` before every sample of the sync-mode measurements made inside (see the module doc).
    A context, not a parameter, because the measurement is reached through a benchmark's own method
    (the gate's worker cannot pass arguments through it)."""
    _PACE.append(pace)
    try:
        yield
    finally:
        _PACE.pop()


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
    probe: SchedProbe | None = None,
) -> RawTiming:
    """Time `fn` (or rotate through several callables, one per input set) on `device`.

    `clock` defaults to a SyncClock on `device`; tests inject a fake one. `flush` (cold-L2 mode)
    is called before every timed call and never timed. `event_factory` makes CUDA-event-like objects
    with record() and elapsed_time(other) in ms (events mode). `probe` reads the scheduler's
    counters (sync mode): disturbed samples are retaken and the result says how contended it was.
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
    if options.mode == "events":
        overhead = measure_clock_overhead(clock)
        return _time_events(one, device, options, flush, event_factory, warmup_calls, per_call, overhead)
    if probe is not None:
        probe.refresh()  # the thread pools exist now

        def read_both() -> float:
            t = clock()
            probe.read()
            return t

        overhead = measure_clock_overhead(read_both)
    else:
        overhead = measure_clock_overhead(clock)

    syncs_before = getattr(clock, "syncs", None)
    number = 1 if options.cold_l2 else choose_number(per_call, overhead, options)
    watched = probe is not None
    max_attempts = 3 * options.samples if watched else options.samples
    clean: list[float] = []
    taken: list[float] = []
    waits: list[float] = []
    first: Reading | None = None
    r_prev: Reading | None = None
    deadline = hard_deadline = math.inf
    pace = _PACE[-1] if _PACE else None
    last_end: float | None = None  # where the previous sample ended (or the loop began): a pause starts there
    if not options.cold_l2:  # cold-L2 samples each start after their own flush
        t_prev = last_end = clock()
        deadline, hard_deadline = t_prev + options.max_time, t_prev + 3 * options.max_time
        if watched:
            first = r_prev = probe.read()  # type: ignore[union-attr]
    while True:
        if pace is not None:
            pace()  # may block while another process samples: neither timed nor counted against max_time
            resumed = clock()
            if last_end is not None:
                deadline, hard_deadline = deadline + resumed - last_end, hard_deadline + resumed - last_end
            if not options.cold_l2:
                t_prev = resumed
                if watched:  # the pause (another process measuring) is not this sample's disturbance
                    r_prev = probe.read()  # type: ignore[union-attr]
        if options.cold_l2:
            flush()  # type: ignore[misc]
            t_prev = clock()  # waits for the flush to finish: it is not in the sample
            if watched:
                r_prev = probe.read()  # type: ignore[union-attr]
                first = first or r_prev
            if math.isinf(deadline):
                deadline, hard_deadline = t_prev + options.max_time, t_prev + 3 * options.max_time
        for _ in range(number):
            one()
        t = clock()
        sample = (t - t_prev) / number
        taken.append(sample)
        if watched:
            r = probe.read()  # type: ignore[union-attr]
            if is_disturbed(r_prev, r):  # type: ignore[arg-type]
                waits.append(sample_wait(r_prev, r))  # type: ignore[arg-type]
            else:
                clean.append(sample)
            r_prev = r
        else:
            clean.append(sample)
        t_prev = last_end = t
        if len(clean) >= options.samples:
            stopped_by = STOP_SAMPLES
            break
        if len(taken) >= max_attempts:
            stopped_by = STOP_ATTEMPTS
            break
        if t > deadline and len(clean) >= options.min_samples:
            stopped_by = STOP_TIME
            break
        if watched and t > hard_deadline and len(taken) >= options.min_samples:
            stopped_by = STOP_HARD_TIME
            break
    syncs = (clock.syncs - syncs_before) if syncs_before is not None else -1  # type: ignore[attr-defined]
    contention = None
    enough = len(clean) >= options.min_samples
    if watched:
        if pace is not None:
            first = without_machine(first)  # type: ignore[arg-type]
        contention = summarize(first, r_prev, waits, len(taken) - len(clean), len(taken),  # type: ignore[arg-type]
                               enough_clean=enough, threads=probe.threads)  # type: ignore[union-attr]
    kept = clean if enough else taken  # contended: every sample stays, flagged
    return RawTiming(tuple(kept), number, warmup_calls, overhead, syncs, "sync", options.cold_l2, contention,
                     stopped_by)


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


"""Measurement-quality benchmark: does torchperf agree with the tools people trust?

Not a test (it takes timing figures on a possibly noisy machine): a report of ratios measured in one
run, interleaved so machine drift hits both sides alike.

1. fp32 mm at several sizes, torchperf's median vs `torch.utils.benchmark.Timer(num_threads=same)
   .blocked_autorange()` median. Target: within 3%.
2. A ~10 µs op, torchperf's median vs a raw `perf_counter` loop over many calls (the least overhead
   any Python timing can have). Target: torchperf's overhead <= 5%.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from torchperf_core.engine import stats


@dataclass(frozen=True)
class Comparison:
    label: str
    torchperf: float
    reference: float
    reference_name: str
    target: float  # allowed |ratio - 1|

    @property
    def ratio(self) -> float:
        return self.torchperf / self.reference

    @property
    def ok(self) -> bool:
        return abs(self.ratio - 1.0) <= self.target


def _tub_median(case, threads: int, min_run_time: float) -> float:  # noqa: ANN001
    import torch.utils.benchmark as tub

    call = case.op.call
    inputs = case.input_sets[0]
    timer = tub.Timer(stmt="call(inputs)", globals={"call": call, "inputs": inputs}, num_threads=threads)
    return timer.blocked_autorange(min_run_time=min_run_time).median


def _raw_loop(fn: Callable[[], object], seconds: float) -> float:
    """Per-call time of a bare loop: calibrate a count to ~`seconds`, then time it once."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= seconds / 4:
            break
        n *= 2
    n = max(1, int(n * seconds / max(dt, 1e-9)))
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def run_validation(
    sizes: tuple[int, ...] = (256, 512, 1024, 2048),
    threads: int | None = None,
    rounds: int = 3,
    small_op: tuple[str, int] = ("add", 320),
    progress: Callable[[str], None] = lambda _m: None,
) -> list[Comparison]:
    from torchperf_core.engine import TimingOptions
    from torchperf_core.engine import prepare
    from torchperf_core.engine import default_threads, pinned_threads

    threads = threads or default_threads()
    out: list[Comparison] = []
    options = TimingOptions(samples=15, max_time=1.5)
    for n in sizes:
        case = prepare("mm", n, "float32", "cpu", threads=threads)
        ours, theirs = [], []
        for _ in range(rounds):  # interleaved: drift hits both sides
            ours.append(case.measure(options).median)
            theirs.append(_tub_median(case, threads, min_run_time=1.0))
        out.append(Comparison(f"mm {n}² fp32", stats.median(ours), stats.median(theirs),
                              "torch.utils.benchmark", 0.03))
        progress(f"mm {n}: torchperf {stats.median(ours) * 1e3:.4g} ms, "
                 f"torch.utils.benchmark {stats.median(theirs) * 1e3:.4g} ms")
    op, n = small_op
    case = prepare(op, n, "float32", "cpu", threads=threads)
    call, inputs = case.op.call, case.input_sets[0]
    ours, raw = [], []
    with pinned_threads(threads):
        for _ in range(rounds):
            ours.append(case.measure(options).median)
            raw.append(_raw_loop(lambda: call(inputs), 0.5))
    out.append(Comparison(f"{op} {n}² fp32 (~{stats.median(raw) * 1e6:.0f} µs)", stats.median(ours),
                          stats.median(raw), "raw perf_counter loop", 0.05))
    return out

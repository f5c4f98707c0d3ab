#!/usr/bin/env python3
"""Measured detection power of `torchperf compare` on this machine (a benchmark, not a test).

Reports (1) false flags over N A/A comparisons (the same op timed twice) and (2) the detection rate
for injected slowdowns (default 5%, 10%, 25%) over N trials each, for several `--factor` values,
judged exactly as `torchperf compare` judges a pair (`torchperf_core.compare.judge`: asv's
Mann–Whitney U / 99% CI rule and the factor), on samples taken by the torchperf engine.

How the slowdown is injected (`--inject`):
- `repeat` (default): the "after" side does proportionally more of the op's own work. Each timed
  call is a block of the op: `--block` calls (default 20) on the before side, `block + round(block
  × fraction)` on the after side (20 -> 21, 22, 25 for 5%, 10%, 25%): exactly `1 + fraction` times
  the work, through the same kernels, threads and caches. (The timed unit is the block on both
  sides, so the engine's own batching cannot dilute it.)
- `spin`: the op followed by a busy-wait of `fraction × (calibrated median per-call time)`. Simpler,
  but a busy-waiting main thread competes with the op's OpenMP workers still spinning after the
  parallel region, which on a small CPU inflates the slowdown: prefer `repeat`.
The two sides of a trial are timed back to back; which goes first follows `--order`: `abba`
(default: trials run before-first, after-first, after-first, before-first, ...) or `random` (seeded
by `--seed`). An "after" side that always ran second would carry any position effect (caches,
frequency, the allocator warmed by the first side) into every ratio: the A/A row once read a median
ratio of x1.037 between two identical sides that way. The table shows the median ratio overall and
split by which side ran first, so an A/A row shows whether it centres on 1 and how large the
position effect is.

Runtime is bounded by --max-minutes (default 15): trials stop when the budget runs out and the table
says how many were run. Take the figures on a quiet machine: other processes on the cores show up
as false flags.

    python scripts/detection_power.py                      # mm 512 float32, 10 trials
    python scripts/detection_power.py --op mm --size 256 --trials 10 --factors 1.05 1.1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

# `--json` output history:
#   1 — first version: op, size, dtype, device, threads, samples, reference_seconds, trials.
#   2 — issue 11: "order" (abba | random) and "seed"; each trial's "after_first".
DETECTION_POWER_FORMAT_VERSION = 2
ORDERS = ("abba", "random")


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@dataclass(frozen=True)
class Trial:
    injected: float  # 0.0 for A/A
    ratio: float  # measured median ratio after/before
    verdicts: tuple[tuple[float, str], ...]  # (factor, verdict)
    after_first: bool = False  # which side was timed first in this trial


def after_first(trial: int, order: str, rng: random.Random) -> bool:
    """Whether the "after" side runs first in trial `trial`: ABBA (B A A B per four trials, so
    each side leads half the time and every pair of trials is balanced) or a seeded coin flip."""
    if order == "abba":
        return trial % 4 in (1, 2)
    return rng.random() < 0.5


def median_ratios(trials: list[Trial]) -> tuple[float, float, float]:
    """(all, after ran second, after ran first) median ratios; NaN where no trial ran that way."""
    def med(xs: list[float]) -> float:
        return statistics.median(xs) if xs else float("nan")

    return (med([t.ratio for t in trials]), med([t.ratio for t in trials if not t.after_first]),
            med([t.ratio for t in trials if t.after_first]))


def _block(fns: list[Callable[[], Any]], calls: int) -> list[Callable[[], Any]]:
    """One callable that runs the op `calls` times (rotating over the input sets)."""

    def call() -> Any:
        out = None
        for i in range(calls):
            out = fns[i % len(fns)]()
        return out

    return [call]


def _slowed(fns: list[Callable[[], Any]], extra: float) -> list[Callable[[], Any]]:
    if extra <= 0:
        return fns

    def wrap(f: Callable[[], Any]) -> Callable[[], Any]:
        def call() -> Any:
            out = f()
            _spin(extra)
            return out

        return call

    return [wrap(f) for f in fns]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--op", default="mm")
    parser.add_argument("--size", default="512")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--trials", type=int, default=10, help="comparisons per row (default 10)")
    parser.add_argument("--slowdowns", type=float, nargs="+", default=[0.05, 0.10, 0.25])
    parser.add_argument("--factors", type=float, nargs="+", default=[1.02, 1.05, 1.07, 1.1])
    parser.add_argument("--samples", type=int, default=15, help="engine samples per side (default 15)")
    parser.add_argument("--min-sample-time", type=float, default=0.005, help="seconds per sample (default 0.005)")
    parser.add_argument("--inject", choices=("repeat", "spin"), default="repeat", help="how to slow the after side (default repeat)")
    parser.add_argument("--block", type=int, default=20, help="op calls per timed call with --inject repeat (default 20)")
    parser.add_argument("--order", choices=ORDERS, default="abba", help="which side of a trial goes first (default abba)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --order random (default 0)")
    parser.add_argument("--max-minutes", type=float, default=15.0)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    from asv_runner.statistics import compute_stats

    from torchperf_core.engine import precision
    from torchperf_core.store.asv_results import Sample
    from torchperf_core.verdict import judge, parse_factor  # the one significance rule
    from torchperf_core.engine.timing import TimingOptions, time_callable
    from torchperf_core.engine.measurement import prepare

    factors = [parse_factor(f) for f in args.factors]
    options = TimingOptions(samples=args.samples, min_samples=args.samples, min_sample_time=args.min_sample_time, max_time=30.0)
    case = prepare(args.op, args.size, args.dtype, args.device, threads=args.threads)
    deadline = time.monotonic() + args.max_minutes * 60

    def timed(fraction: float, opts: TimingOptions = options) -> Sample:
        fns = case.callables()
        if args.inject == "repeat":
            fns = _block(fns, args.block + round(args.block * fraction))
        elif fraction > 0:
            fns = _slowed(fns, fraction * reference)
        with precision.pinned_threads(case.threads), precision.pinned_precision(case.settings):
            raw = time_callable(fns, device=case.device, options=opts)
        value, stats = compute_stats(list(raw.samples), raw.number)
        return Sample(value=value, stats=stats, samples=tuple(raw.samples), version=None)

    reference = 0.0
    reference = timed(0.0).value
    assert reference is not None
    if args.inject == "repeat":
        effective = {f: round(args.block * f) / args.block for f in args.slowdowns}
        if any(abs(effective[f] - f) > 1e-9 for f in args.slowdowns):
            print(f"note: with --block {args.block} the injected slowdowns are {effective}", flush=True)
    print(
        f"detection power: {args.op} {args.size} {args.dtype} on {args.device}, {case.threads} threads; "
        f"median {reference * 1e6:.1f} us per timed call{f' ({args.block} ops)' if args.inject == 'repeat' else ''}; "
        f"{args.samples} samples/side; "
        f"{args.trials} trials/row; injection: {args.inject}; order: {args.order}",
        flush=True,
    )

    rng = random.Random(args.seed)
    rows: list[tuple[float, list[Trial]]] = []
    for injected in [0.0] + list(args.slowdowns):
        trials: list[Trial] = []
        for i in range(args.trials):
            if time.monotonic() > deadline:
                break
            first = after_first(i, args.order, rng)
            if not first:
                before, after = timed(0.0, options), timed(injected, options)
            else:
                after, before = timed(injected, options), timed(0.0, options)
            verdicts = tuple((f, judge(before, after, f)[0]) for f in factors)
            trials.append(Trial(injected, after.value / before.value, verdicts, first))
        rows.append((injected, trials))

    header = ["injected", "trials", "median ratio", "after 2nd | 1st"] + [f"flagged @ factor {f:g}" for f in factors]
    table = []
    for injected, trials in rows:
        med, second, first = median_ratios(trials)
        cells = [("A/A (none)" if injected == 0 else f"+{injected:.0%}"), str(len(trials)), f"{med:.3f}",
                 f"{second:.3f} | {first:.3f}"]
        for f in factors:
            slower = sum(1 for t in trials for ff, v in t.verdicts if ff == f and v == "slower")
            faster = sum(1 for t in trials for ff, v in t.verdicts if ff == f and v == "faster")
            if injected == 0:  # any flag, either direction, is a false flag
                cells.append(f"{slower + faster}/{len(trials)}" + (f" ({faster} as faster)" if faster else ""))
            else:
                cells.append(f"{slower}/{len(trials)}" + (f" (+{faster} wrongly faster)" if faster else ""))
        table.append(cells)
    widths = [max(len(x) for x in col) for col in zip(header, *table)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for cells in table:
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)))
    print()
    print("A/A row: false flags (slower or faster). Other rows: detected as significantly slower.")
    print("after 2nd | 1st: the median ratio of the trials where the after side ran second / first; "
          "their gap is the position effect the order cancels (an A/A median ratio should centre on 1).")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "format_version": DETECTION_POWER_FORMAT_VERSION,
                    "op": args.op, "size": args.size, "dtype": args.dtype, "device": args.device,
                    "threads": case.threads, "samples": args.samples, "reference_seconds": reference,
                    "order": args.order, "seed": args.seed,
                    "trials": [dataclasses.asdict(t) for _, ts in rows for t in ts],
                },
                fh, indent=2,
            )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

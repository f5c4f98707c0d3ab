#!/usr/bin/env python3
"""Where a large elementwise case's time goes: the page faults of its output (a benchmark script, not a test).

An op that returns a new tensor allocates its output on every call. glibc's malloc serves a block at or above
its mmap threshold with a fresh mmap, and hands it back to the kernel when it is freed, so every call
faults in every page of its output (the kernel zeroes each one). The threshold moves: it starts at 128 KiB
and rises to the size of a freed mmapped block up to 32 MiB (64-bit), so a 32 MiB output (bf16 4096²) is
served from the heap in one process and mmapped in another, depending on what the process freed before;
a 64 MiB output (fp32 4096²) is always mmapped. On a 2-core AMD EPYC VM (torch 2.13.0+cpu) the gate's
per-round figures of bf16 add, mul, softmax and layer_norm 4096² were 2-4 ms or 12-14 ms, five times apart,
by worker process: the spread those cases carry, and the order effect of the tier's spread.

For each case, in fresh processes, this prints the time of a call (the engine's clock) and the minor page
faults of a call, twice: with malloc as it is, and with freed memory kept in the heap
(MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ raised, glibc's own environment variables), which takes
the faults out. The difference is the kernel's share of what the suite reports for that case.

    python scripts/page_faults.py                          # the four default cases, 3 processes each
    python scripts/page_faults.py --case add 4096 float32 --processes 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CASES = (("add", "4096", "bfloat16"), ("add", "4096", "float32"), ("layer_norm", "4096", "bfloat16"),
                 ("add", "1024", "float32"))
# glibc reads these at start: blocks up to 256 MiB come from the heap, and up to 1 GiB freed at its top stays
# mapped, so an output freed by one call is reused by the next without faulting its pages in again.
KEPT = {"MALLOC_MMAP_THRESHOLD_": str(256 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
SETTINGS = (("as is", {}), ("freed memory kept", KEPT))
FAULT_CALLS = 10

_CHILD = r"""
import json, resource, statistics, sys
from torchperf_core.engine import precision
from torchperf_core.engine.measurement import prepare
from torchperf_core.engine.timing import TimingOptions, time_callable
op, size, dtype = sys.argv[1:4]
case = prepare(op, size, dtype, "cpu")
fns = case.callables()
with precision.pinned_threads(case.threads), precision.pinned_precision(case.settings):
    raw = time_callable(fns, device=case.device, options=TimingOptions())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(int(sys.argv[4])):
        fns[0]()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"seconds": statistics.median(raw.samples), "faults": faults / int(sys.argv[4]),
                  "threads": case.threads}))
"""


def _machine() -> str:
    from torchperf_core.env import describe_cpu, describe_load

    libc = " ".join(platform.libc_ver()) or "libc unknown"
    return f"{describe_cpu()}, {libc}, page {os.sysconf('SC_PAGE_SIZE')} B; {describe_load()}"


def run_case(case: tuple[str, str, str], extra_env: dict[str, str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(extra_env, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", _CHILD, *case, str(FAULT_CALLS)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{' '.join(case)}: the measuring process exited {proc.returncode}: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs=3, action="append", metavar=("OP", "SIZE", "DTYPE"),
                        help="a catalog case on the CPU (repeatable; default: " +
                             "; ".join(" ".join(c) for c in DEFAULT_CASES) + ")")
    parser.add_argument("--processes", type=int, default=3, help="fresh processes per case and setting (default 3)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error(f"--processes {args.processes} must be >= 1")
    cases = [tuple(c) for c in args.case] if args.case else list(DEFAULT_CASES)

    from torchperf_core.catalog import check_case
    from torchperf_core.errors import TorchperfError

    for op, size, dtype in cases:  # the catalog's own checks, before anything runs
        try:
            check_case(op, size, dtype, "cpu", "contiguous")
        except TorchperfError as exc:
            parser.error(f"--case {op} {size} {dtype}: {exc}")

    import torch

    from torchperf_core.render import format_seconds

    print(f"page faults of a call's output: {_machine()}; torch {torch.__version__}; "
          f"{args.processes} process(es) per row, {FAULT_CALLS} calls counted each", flush=True)
    rows = []
    for case in cases:
        for label, extra in SETTINGS:
            try:
                got = [run_case(case, extra) for _ in range(args.processes)]
            except RuntimeError as exc:
                print(f"page_faults.py: {exc}", file=sys.stderr)
                return 1
            row = {"case": " ".join(case), "setting": label, "threads": got[0]["threads"],
                   "seconds": [g["seconds"] for g in got], "faults": [g["faults"] for g in got]}
            rows.append(row)
            times = ", ".join(format_seconds(s) for s in row["seconds"])
            faults = ", ".join(f"{f:.0f}" for f in row["faults"])
            print(f"  {row['case']:<26} {label:<18} a call: {times}; page faults a call: {faults}", flush=True)
        as_is, kept = rows[-2], rows[-1]
        share = 1 - statistics.median(kept["seconds"]) / statistics.median(as_is["seconds"])
        print(f"  {'':<26} {'':<18} the faults' share of the median call as is: {share:.0%}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": _machine(), "torch": torch.__version__, "rows": rows},
                                              indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

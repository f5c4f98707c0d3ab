#!/usr/bin/env python
"""The README's bisect example over real PyTorch releases, with its wall time and conditions.

    python scripts/bisect_torch_example.py                  # print the plan and the command only
    python scripts/bisect_torch_example.py --yes            # run it (multi-GB downloads)
    python scripts/bisect_torch_example.py --yes --case "bench_matmul.MM.track_mm(1024, 'float16', 'contiguous')"

A benchmark, not a test: every torch release other than the local 2.13.0 CPU wheel is a CUDA build
from the package index (~3-5 GB installed each; 2.12.0 took ~2 min to build here), so nothing in
the test suite runs it. It prints what a figure needs beside it: the machine (CPU model, cores),
the load average before and after, the releases, the case, the wall time, and the report's path.
Run it from the checkout root (the suite case form needs ./benchmarks and ./asv.conf.json).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from torchperf_core.env import describe_cpu, describe_load

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", default="mm --size 1024 --dtype float16")
    parser.add_argument("--good", default="2.12.0")
    parser.add_argument("--bad", default="2.14.1")
    parser.add_argument("--cache", default=".asv/bisect")
    parser.add_argument("--yes", action="store_true", help="really run it (downloads GBs)")
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "torchperf_core", "bisect", args.case, "--good", args.good, "--bad", args.bad,
           "--cache", args.cache]
    print(f"machine: {describe_cpu()}; {describe_load()} before")
    print("command:", " ".join(shlex.quote(c) for c in cmd[1:]))
    if not args.yes:
        print("not run: pass --yes to download and install every release between (multi-GB each)")
        return 0
    start = time.monotonic()
    rc = subprocess.call(cmd, cwd=ROOT)
    wall = time.monotonic() - start
    print(f"exit {rc}; wall time {wall / 60:.1f} min; {describe_load()} after")
    return rc


if __name__ == "__main__":
    sys.exit(main())

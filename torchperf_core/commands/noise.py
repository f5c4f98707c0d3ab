"""`torchperf noise`: measure this machine's noise and the smallest slowdown it can detect."""

from __future__ import annotations

import argparse
import json
import math
import sys

from torchperf_core.engine import apply_affinity, parse_cpu_list
from torchperf_core.errors import TorchperfError
from torchperf_core.machine import DEFAULT_FACTOR, measure_noise
from torchperf_core.render import render_noise
from torchperf_core.store import meta_path, write_json

NAME = "noise"
HELP = "measure timing noise on this machine and the minimum detectable slowdown"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=5, help="independent runs of each probe (>= 2; default 5)")
    parser.add_argument("--samples", type=int, default=15, help="samples per run (default 15)")
    parser.add_argument("--threads", type=int, default=None,
                        help="intra-op threads (default: every CPU this process may use)")
    parser.add_argument("--cpus", default=None, metavar="LIST",
                        help="pin to these CPUs first, e.g. '0-3,6' (default: no pinning)")
    parser.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                        help=f"the compare factor the MDS is computed for (default {DEFAULT_FACTOR})")
    parser.add_argument("--save", action="store_true", help="also write meta/<machine>/noise.json")
    parser.add_argument("--machine", default=None,
                        help="machine name for --save (default: asv's, the host's network name)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    if args.runs < 2:
        raise TorchperfError(f"--runs {args.runs}: need at least 2 runs to see run-to-run variation")
    if args.samples < 2:
        raise TorchperfError(f"--samples {args.samples}: need at least 2 samples per run")
    if args.threads is not None and args.threads < 1:
        raise TorchperfError(f"--threads {args.threads}: must be >= 1")
    if not math.isfinite(args.factor) or args.factor < 1.0:
        raise TorchperfError(f"--factor {args.factor}: must be >= 1 (asv compare's ratio threshold)")
    path = meta_path("noise.json", args.machine) if args.save else None  # a bad name fails early
    if args.cpus is not None:
        apply_affinity(parse_cpu_list(args.cpus))
    report = measure_noise(args.runs, args.samples, args.threads, args.factor,
                           progress=None if args.json else (lambda m: print(m, file=sys.stderr, flush=True)))
    if path is not None:
        write_json(path, report.to_json())
    print(json.dumps(report.to_json(), indent=2) if args.json else render_noise(report))
    if path is not None and not args.json:
        print(f"saved {path}")
    return 0

"""`torchperf env`: the environment fingerprint (and optionally kernel provenance).

`--json` prints only the JSON document (`EnvReport`) on stdout, so other code can run
`python -m torchperf_core env --json --kernels` inside a benchmark environment and parse the output.
"""

from __future__ import annotations

import argparse
import json
import sys

from torchperf_core.engine import parse_device
from torchperf_core.env import EnvReport
from torchperf_core.env import collect_fingerprint
from torchperf_core.env import kernels_for
from torchperf_core.render import render_fingerprint, render_kernels

NAME = "env"
HELP = "show the environment fingerprint (torch build, BLAS, threads, CPU/GPU, precision flags)"

KERNEL_OPS = ("mm", "linear", "conv2d")
KERNEL_DTYPES = ("float32", "bfloat16")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the JSON document only")
    parser.add_argument(
        "--kernels",
        action="store_true",
        help=f"also record which backend kernels run {'/'.join(KERNEL_OPS)} × "
        f"{'/'.join(KERNEL_DTYPES)} (a subprocess with MKL_VERBOSE/ONEDNN_VERBOSE; a few seconds)",
    )
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:N, mps, xpu (default: cuda if present)"
    )


def run(args: argparse.Namespace) -> int:
    device = str(parse_device(args.device)) if args.device is not None else None
    fingerprint = collect_fingerprint(device)
    kernels = ()
    if args.kernels:
        pairs = [(op, dtype) for op in KERNEL_OPS for dtype in KERNEL_DTYPES]
        kernels = tuple(kernels_for(pairs, device=fingerprint.device or "cpu").values())
    report = EnvReport(fingerprint, kernels)
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
        return 0
    sys.stdout.write(render_fingerprint(fingerprint))
    if kernels:
        sys.stdout.write("\n" + render_kernels(kernels))
    return 0

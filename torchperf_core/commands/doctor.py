"""`torchperf doctor`: read-only machine checks, exit 1 when any check warns."""

from __future__ import annotations

import argparse
import json

from torchperf_core.machine import run_checks
from torchperf_core.render import render_doctor
from torchperf_core.store import meta_path, write_json

NAME = "doctor"
HELP = "check the machine for sources of timing noise (read-only; exit 1 on any WARN)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--save", action="store_true",
                        help="also write meta/<machine>/doctor.json (stored with the results)")
    parser.add_argument("--machine", default=None,
                        help="machine name for --save (default: asv's, the host's network name)")
    parser.add_argument("--root", default="/", help=argparse.SUPPRESS)  # tests: a fake /proc, /sys
    parser.add_argument("--nvidia-smi", default="nvidia-smi", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    report = run_checks(root=args.root, nvidia_smi=args.nvidia_smi)
    if args.save:
        path = write_json(meta_path("doctor.json", args.machine), report.to_json())
    print(json.dumps(report.to_json(), indent=2) if args.json else render_doctor(report))
    if args.save and not args.json:
        print(f"saved {path}")
    return 1 if report.warnings else 0

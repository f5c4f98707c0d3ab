"""`torchperf calibrate`: measure this machine's ceilings and store them for efficiency figures.

The doctor runs first: ceilings taken while the machine was not quiet are stored as provisional."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys

NAME = "calibrate"
HELP = "measure this machine's peak GFLOP/s per dtype and memory bandwidth; store them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (default cpu)")
    parser.add_argument("--threads", default=None, help="intra-op threads (default: all cores)")
    parser.add_argument("--machine", default=None, help="machine name (default: asv's, this host's name)")
    parser.add_argument("--sizes", default="1024,2048", help="matmul sizes tried per dtype (default 1024,2048)")
    parser.add_argument("--dtypes", default="float32,bfloat16,float16,float64", help="comma-separated dtypes")
    parser.add_argument("--output", default=None, help="file to write (default meta/<machine>/calibration.json)")
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from torchperf_core import machine as calibrate
    from torchperf_core import catalog
    from torchperf_core.commands._common import parse_sizes, positive_int
    from torchperf_core.store import default_machine_name
    from torchperf_core.render import format_calibration, render_ceilings

    machine = args.machine or default_machine_name()
    dtypes = [catalog.check_dtype(d.strip()) for d in args.dtypes.split(",")]
    from torchperf_core.errors import TorchperfError
    default = calibrate.calibration_path(machine)  # refuses a machine name that is not a plain name
    path = args.output or default
    if Path(path).is_dir():
        raise TorchperfError(f"--output {str(path)!r} is a folder; give a .json file name")
    log = (lambda msg: print(msg, file=sys.stderr, flush=True)) if not args.json else (lambda msg: None)
    ceilings = calibrate.measure_ceilings(machine, args.device, threads=positive_int(args.threads, "--threads"),
                                          dtypes=dtypes, sizes=parse_sizes(args.sizes), progress=log)
    written = calibrate.save_calibration(ceilings, path)
    if args.json:
        print(json.dumps(ceilings.to_json(), indent=2, sort_keys=True))
        return 0
    print(render_ceilings(ceilings, machine))
    print(format_calibration(ceilings))
    print(f"written to {written}")
    return 0

"""`torchperf validate`: torchperf's medians against torch.utils.benchmark and a raw loop."""

from __future__ import annotations

import argparse
import sys

NAME = "validate"
HELP = "measurement-quality benchmark: torchperf vs torch.utils.benchmark and a raw loop (ratios)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="256,512,1024,2048", help="mm sizes (default 256,512,1024,2048)")
    parser.add_argument("--threads", default=None, help="threads for both sides (default: all cores)")
    parser.add_argument("--rounds", default="3", help="interleaved rounds per case (default 3)")


def run(args: argparse.Namespace) -> int:
    import torch

    from torchperf_core.commands._common import parse_sizes, positive_int
    from torchperf_core.engine import default_threads
    from torchperf_core.machine import run_validation
    from torchperf_core.render import render_validation

    threads = positive_int(args.threads, "--threads") or default_threads()
    results = run_validation(tuple(parse_sizes(args.sizes)), threads, positive_int(args.rounds, "--rounds"),
                             progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(render_validation(results, torch.__version__, threads))
    return 0

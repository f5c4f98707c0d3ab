"""`torchperf blas`: torch's matmul against numpy's BLAS on the same data, with the kernel each ran.

"MKL against OpenBLAS" and "dispatch or kernel regression?" are questions about which library ran;
the measuring is `compare.compare_blas`, the text `render.render_blas`. The report is saved per
machine and torch build (`meta/<machine>/blas-<torch version>.json`) for the site's machines page.
"""

from __future__ import annotations

import argparse
import json
import re

from torchperf_core.errors import TorchperfError

NAME = "blas"
HELP = "time torch.mm against numpy.matmul (MKL/oneDNN vs OpenBLAS) per size and dtype, naming each kernel"

DEFAULT_SIZES = ("256", "512", "1024", "2048")
_INT_RE = re.compile(r"[0-9]+")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), metavar="N",
                        help=f"n of the n×n matmuls (default {' '.join(DEFAULT_SIZES)}; '256,512' works too)")
    parser.add_argument("--dtype", action="append", default=None, metavar="DTYPE",
                        help="float32 or float64; repeat it or give a list, e.g. float32,float64 (default float32)")
    parser.add_argument("--threads", default=None,
                        help="threads for torch and numpy's BLAS alike (default: every CPU this process may use)")
    parser.add_argument("--rounds", default="5", help="interleaved rounds, every backend once each (default 5)")
    parser.add_argument("--machine", default=None, help="machine name for the saved file (default: asv's, the host's name)")
    parser.add_argument("--no-save", action="store_true", help="do not write meta/<machine>/blas-<torch version>.json")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def parse_sizes(tokens: list[str]) -> list[int]:
    """`["256", "512,1024"]` -> [256, 512, 1024]; the first item that is not a positive integer is refused."""
    sizes = []
    for token in tokens:
        for item in str(token).split(","):
            item = item.strip()
            if not _INT_RE.fullmatch(item) or int(item) < 1:
                raise TorchperfError(f"--sizes {item!r} is not a positive integer; expected sizes such as 256 512 1024")
            sizes.append(int(item))
    return list(dict.fromkeys(sizes))


def parse_dtypes(values: list[str] | None) -> list[str]:
    """Repeated or comma-separated `--dtype` values, checked against the dtypes numpy has a BLAS GEMM for."""
    from torchperf_core.compare import BLAS_DTYPES

    dtypes = []
    for value in values or ["float32"]:
        for item in str(value).split(","):
            item = item.strip()
            if item not in BLAS_DTYPES:
                raise TorchperfError(f"--dtype {item!r} has no numpy BLAS GEMM to compare; "
                                     f"accepted: {', '.join(BLAS_DTYPES)}")
            dtypes.append(item)
    return list(dict.fromkeys(dtypes))


def run(args: argparse.Namespace) -> int:
    from torchperf_core.commands._common import positive_int

    sizes = parse_sizes(args.sizes)
    dtypes = parse_dtypes(args.dtype)
    rounds = positive_int(args.rounds, "--rounds", 5)
    threads = positive_int(args.threads, "--threads")

    import torch

    from torchperf_core.compare import compare_blas
    from torchperf_core.engine import default_threads
    from torchperf_core.render import render_blas
    from torchperf_core.store import blas_report_path, write_json

    # The path first: a bad machine name fails before minutes of measuring.
    path = None if args.no_save else blas_report_path(args.machine, str(torch.__version__))
    report = compare_blas(sizes, dtypes, threads=threads or default_threads(), rounds=rounds)
    data = report.to_json()
    if path is not None:
        write_json(path, data)
    print(json.dumps(data, indent=2) if args.json else render_blas(report))
    if path is not None and not args.json:
        print(f"saved {path}")
    return 0

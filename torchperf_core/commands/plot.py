"""`torchperf plot`: scaling curves, the version comparison and rooflines as PNG and SVG files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from torchperf_core.commands._common import existing_dir
from torchperf_core.errors import TorchperfError, one_of

NAME = "plot"
HELP = "write figures (PNG and SVG): scaling curves, versions comparison, roofline"
FORMATS = ("png", "svg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", default="results", help="asv results folder (default: %(default)s)")
    parser.add_argument("--meta", help="torchperf sidecar folder (default: meta/ beside the results)")
    parser.add_argument("--out", default="plots", help="output folder (default: %(default)s)")
    parser.add_argument("--machine", action="append", help="only this machine (repeatable)")
    parser.add_argument("--commit", metavar="REV", help="commit hash prefix (default: each machine's latest)")
    parser.add_argument("--format", nargs="+", choices=FORMATS, default=list(FORMATS), help="file formats")


def run(args: argparse.Namespace) -> int:
    # site draws with matplotlib: imported here so that the other commands never load it.
    from torchperf_core.site import load_site
    from torchperf_core.site import write_plots as write_all

    existing_dir(args.meta, "--meta")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise TorchperfError(f"--out {args.out!r} is a file; give a folder for the figures")
    data = load_site(args.results, args.meta)
    for problem in data.problems:
        print(f"warning: {problem}", file=sys.stderr)
    for machine in args.machine or []:
        if machine not in data.machines:
            raise one_of(machine, data.machines, "machine")
    commit = data.resolve_commit(args.commit) if args.commit else None
    written = write_all(data, Path(args.out), commit=commit, machines=args.machine, formats=args.format)
    print(f"wrote {len(written)} files under {args.out}")
    return 0

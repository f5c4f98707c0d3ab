"""`torchperf merge DIR...`: merge results folders produced elsewhere into this project's.

A fleet host, a CI matrix job's artifact, a colleague's laptop: each DIR holds `results/` (and
`meta/`) or is an asv results folder itself. Never replaces a newer result with an older one,
refuses two different machines under one name (writing nothing), and is safe to re-run. Exit 0
after a merge (also when nothing was new), 2 on a refusal or a bad folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "merge"
HELP = "merge results folders (other machines, CI artifacts) into this project's results/ and meta/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folders", nargs="+", metavar="DIR", help="folders holding results/ (and meta/), or asv results folders")
    parser.add_argument("--config", default="asv.conf.json", help="asv config of this project (default asv.conf.json)")


def run(args: argparse.Namespace) -> int:
    from torchperf_core.fleet import merge_results
    from torchperf_core.run import project_lock
    from torchperf_core.store import read_config

    conf = read_config(args.config)
    with project_lock(conf.project_root, what="torchperf merge"):
        report = merge_results([Path(f) for f in args.folders], conf.results_dir, conf.meta_dir)
    print("\n".join(report.lines()))
    return 0

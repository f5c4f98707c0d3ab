"""`torchperf regressions`: the regressions the published site currently lists.

Exit status: 1 when there is any, 0 when none, 2 when there is no published data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torchperf_core.store import CONFIG_NAME, read_config

NAME = "regressions"
HELP = "list the regressions asv's step detection found in the published history; exit 1 if any"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format (default text)")
    parser.add_argument("--config", default=CONFIG_NAME, help="asv config, for the html directory (default %(default)s)")
    parser.add_argument("--html-dir", help="published site directory (default: from the asv config)")
    parser.add_argument("--output", "-o", help="also write the output to this file")


def _html_dir(args: argparse.Namespace) -> Path:
    if args.html_dir:
        return Path(args.html_dir)
    return read_config(args.config).html_dir


def run(args: argparse.Namespace) -> int:
    from torchperf_core.compare import load_regressions
    from torchperf_core.render import render_regressions as render

    report = load_regressions(_html_dir(args))
    text = render(report, args.format)
    from torchperf_core.commands._common import emit

    emit(text, args.output)
    return report.exit_code

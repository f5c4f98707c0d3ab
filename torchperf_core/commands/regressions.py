"""`torchperf regressions`: the regressions the published site currently lists.

Exit status: 1 when there is any, 0 when none, 2 when there is no published data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torchperf_core.errors import TorchperfError

NAME = "regressions"
HELP = "list the regressions asv's step detection found in the published history; exit 1 if any"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format (default text)")
    parser.add_argument("--config", default="asv.conf.json", help="asv config, for the html directory (default asv.conf.json)")
    parser.add_argument("--html-dir", help="published site directory (default: from the asv config)")
    parser.add_argument("--output", "-o", help="also write the output to this file")


def _html_dir(args: argparse.Namespace) -> Path:
    if args.html_dir:
        return Path(args.html_dir)
    config = Path(args.config)
    if not config.is_file():
        raise TorchperfError(f"no asv config {str(config)!r}; pass --config or --html-dir")
    from asv import util as asv_util

    try:
        conf = asv_util.load_json(str(config), js_comments=True)
    except asv_util.UserError as exc:
        raise TorchperfError(f"cannot read {str(config)!r}: {str(exc).splitlines()[0]}") from None
    return config.parent / conf.get("html_dir", "html")


def run(args: argparse.Namespace) -> int:
    from torchperf_core.compare import load_regressions
    from torchperf_core.render import render_regressions as render

    report = load_regressions(_html_dir(args))
    text = render(report, args.format)
    from torchperf_core.commands._common import emit

    emit(text, args.output)
    return report.exit_code

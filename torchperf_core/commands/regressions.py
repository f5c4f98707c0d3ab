"""`torchperf regressions`: the steps the published site lists, each judged as `compare` judges a
change (asv's rule, the between-run replicates and the contention in the sidecars).

Exit status, as `compare`: 1 when a step is a decided regression (slower beyond --factor), 0
otherwise, also when steps stay "unknown" (re-measure) or "contended" (re-run on a quiet machine):
they are not evidence of a regression, and the first lines say so; 2 on bad input or when there is
no published data or no results to judge the steps with.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torchperf_core.errors import TorchperfError
from torchperf_core.store import CONFIG_NAME, read_config

NAME = "regressions"
HELP = "list the regressions asv's step detection found in the published history, judged as compare does; exit 1 if any"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from torchperf_core.verdict import DEFAULT_FACTOR

    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format (default text)")
    parser.add_argument("--config", default=None,
                        help=f"asv config, for the html and results directories and meta/ (default {CONFIG_NAME})")
    parser.add_argument("--html-dir", help="published site directory (default: from the asv config)")
    parser.add_argument("--results-dir", help="asv results directory the steps are judged from (default: from the asv config)")
    parser.add_argument("--meta-dir", help="sidecars directory (default: the project's meta/; "
                        "with --results-dir, meta/ next to the results directory)")
    parser.add_argument("--factor", default=str(DEFAULT_FACTOR),
                        help=f"a change must exceed this ratio to count (default {DEFAULT_FACTOR}, as compare)")
    parser.add_argument("--output", "-o", help="also write the output to this file")


def _html_dir(args: argparse.Namespace) -> Path:
    if args.html_dir:
        return Path(args.html_dir)
    return read_config(args.config or CONFIG_NAME).html_dir


def run(args: argparse.Namespace) -> int:
    from torchperf_core.commands._common import emit
    from torchperf_core.commands.compare import source_from_args
    from torchperf_core.compare import judge_regressions, load_regressions
    from torchperf_core.render import render_regressions as render
    from torchperf_core.verdict import parse_factor

    factor = parse_factor(args.factor)
    if args.output and not Path(args.output).parent.is_dir():  # refused before the results are read
        raise TorchperfError(f"--output {args.output!r}: its folder does not exist; create it or give another path")
    report = load_regressions(_html_dir(args))
    report = judge_regressions(report, source_from_args(args), factor)
    emit(render(report, args.format), args.output)
    return report.exit_code

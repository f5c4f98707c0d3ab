"""`torchperf compare`: commit against commit, or torch version against version at one commit.

Exit status: 1 when any benchmark got significantly slower beyond --factor (or started failing),
0 otherwise, 2 on bad input. Unlike `asv compare`, which always exits 0, so this can gate a PR.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torchperf_core.compare import Source

import argparse
from pathlib import Path
from typing import Any

from torchperf_core.errors import TorchperfError
from torchperf_core.machine import DEFAULT_FACTOR

NAME = "compare"
HELP = "compare results: BASE HEAD (commits), or --torch A B [C...] at one commit; exit 1 on a regression"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("revisions", nargs="*", metavar="REV", help="BASE HEAD: two commits, branches or tags")
    parser.add_argument(
        "--torch", nargs="+", metavar="VERSION",
        help="compare these torch versions at one commit (three or more: a matrix against the first)",
    )  # fmt: skip
    parser.add_argument("--commit", metavar="REV", help="with --torch: the commit (default: the latest with results for all)")
    parser.add_argument("--factor", default=str(DEFAULT_FACTOR),
                        help=f"a change must exceed this ratio to count (float > 1; default {DEFAULT_FACTOR}, measured: see README)")
    parser.add_argument("--only-changed", action="store_true", help="show only the benchmarks whose verdict changed")
    parser.add_argument("--split", action="store_true", help="group the table into worse / better / not comparable / same")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format (default text)")
    parser.add_argument("--machine", help="machine name in the results (default: the only one)")
    parser.add_argument("--machine-after", help="compare HEAD's results from this other machine (needs --allow-different-machines)")
    parser.add_argument("--allow-different-machines", action="store_true", help="compare results from different machines or CPUs")
    parser.add_argument("--env", action="append", dest="envs", metavar="ENV_NAME", help="only these asv environments (commit mode; repeatable)")
    parser.add_argument("--config", default="asv.conf.json", help="asv config, for the results directory and repository (default asv.conf.json)")
    parser.add_argument("--results-dir", help="asv results directory (default: from the asv config)")
    parser.add_argument("--meta-dir", help="fingerprint sidecars directory (default: meta/ next to the results directory)")
    parser.add_argument("--output", "-o", help="also write the output to this file")


def source_from_args(args: Any) -> "Source":
    """Results directory and project repository, from --results-dir or the asv config."""
    from torchperf_core.compare import Source

    config = Path(args.config)
    conf: dict[str, Any] = {}
    if config.is_file():
        from asv import util as asv_util

        try:
            conf = asv_util.load_json(str(config), js_comments=True)
        except asv_util.UserError as exc:
            raise TorchperfError(f"cannot read {str(config)!r}: {str(exc).splitlines()[0]}") from None
    elif args.results_dir is None:
        raise TorchperfError(f"no asv config {str(config)!r}; pass --config or --results-dir")
    base = config.parent
    results_dir = Path(args.results_dir) if args.results_dir else base / conf.get("results_dir", "results")
    repo = base / conf.get("repo", ".") if conf else Path(".")
    from torchperf_core.commands._common import existing_dir

    meta = existing_dir(getattr(args, "meta_dir", None), "--meta-dir")
    return Source(results_dir=results_dir, repo=repo, meta_dir=meta)


def run(args: argparse.Namespace) -> int:
    from torchperf_core import compare as cmp
    from torchperf_core import render as rc

    factor = cmp.parse_factor(args.factor)
    source = source_from_args(args)
    if args.torch:
        if args.revisions:
            raise TorchperfError(
                f"give either BASE HEAD or --torch VERSIONS, not both (got revisions {' '.join(args.revisions)})"
            )
        if args.envs:
            raise TorchperfError("--env applies to commit comparisons; --torch pairs environments itself")
        from torchperf_core.store import parse_torch_version

        versions = [parse_torch_version(v) for v in args.torch]  # the same rule as `run --torch`
        if len(versions) >= 3:
            matrix = cmp.compare_version_matrix(
                source, versions, commit=args.commit, factor=factor, machine=args.machine,
                allow_different_machines=args.allow_different_machines,
            )  # fmt: skip
            return _emit(rc.render_matrix(matrix, args.format), args, matrix.exit_code)
        comparison = cmp.compare_versions(
            source, versions, commit=args.commit, factor=factor, machine=args.machine,
            allow_different_machines=args.allow_different_machines,
        )  # fmt: skip
    else:
        if args.commit:
            raise TorchperfError("--commit goes with --torch; for commits give BASE HEAD")
        if len(args.revisions) != 2:
            raise TorchperfError(
                f"give two revisions (BASE HEAD) or --torch A B; got {len(args.revisions)} revision(s)"
            )
        comparison = cmp.compare_commits(
            source, args.revisions[0], args.revisions[1], factor=factor, machine=args.machine,
            machine_after=args.machine_after, allow_different_machines=args.allow_different_machines,
            envs=args.envs,
        )  # fmt: skip
    text = rc.render_comparison(comparison, args.format, split=args.split, only_changed=args.only_changed)
    return _emit(text, args, comparison.exit_code)


def _emit(text: str, args: argparse.Namespace, code: int) -> int:
    from torchperf_core.commands._common import emit

    emit(text, args.output)
    return code

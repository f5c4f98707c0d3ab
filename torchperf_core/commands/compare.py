"""`torchperf compare`: commit against commit, or torch version against version at one commit.

Exit status: 1 when any benchmark got significantly slower beyond --factor (or started failing),
0 otherwise, 2 on bad input. Unlike `asv compare`, which always exits 0, so this can gate a PR.
Cases left "unknown" (one run per side, or not decided between runs) or "contended" (measured on a
busy machine) never count: a comparison whose only changes are those exits 0, and its first lines
say so (docs/GATE.md).
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
    parser.add_argument("--machines", nargs=2, metavar=("A", "B"),
                        help="compare machine A with B at one commit and torch version (ratios, peak fractions, "
                             "hardware differences; always exits 0)")
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
    parser.add_argument("--config", help="asv config, for the results directory, repository and meta/ "
                        "(default asv.conf.json; optional with --results-dir)")
    parser.add_argument("--results-dir", help="asv results directory (default: from the asv config)")
    parser.add_argument("--meta-dir", help="fingerprint sidecars directory (default: the project's meta/; "
                        "with --results-dir, meta/ next to the results directory)")
    parser.add_argument("--output", "-o", help="also write the output to this file")


def source_from_args(args: Any) -> "Source":
    """Results, repository and sidecars: from the asv config (`store.read_config`, which also
    refuses a misspelt one), with --results-dir / --meta-dir overriding its folders.

    Without --config, asv.conf.json is read when it is here; with --results-dir it may be absent
    (a copied results folder): the repository is then the current folder and meta/ sits next to
    the results folder.
    """
    from torchperf_core.commands._common import existing_dir
    from torchperf_core.compare import Source
    from torchperf_core.store import CONFIG_NAME, read_config

    meta = existing_dir(getattr(args, "meta_dir", None), "--meta-dir")
    config = args.config
    if config is None and (args.results_dir is None or Path(CONFIG_NAME).is_file()):
        config = CONFIG_NAME
    if config is None:
        return Source(results_dir=Path(args.results_dir), repo=Path("."), meta_dir=meta)
    conf = read_config(config)
    if args.results_dir:
        return Source(results_dir=Path(args.results_dir), repo=conf.repo_dir, meta_dir=meta)
    return Source(results_dir=conf.results_dir, repo=conf.repo_dir, meta_dir=meta or conf.meta_dir)


def run(args: argparse.Namespace) -> int:
    from torchperf_core import compare as cmp
    from torchperf_core import render as rc

    factor = cmp.parse_factor(args.factor)
    source = source_from_args(args)
    if args.machines:
        return _machines(args, source, factor)
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


def _machines(args: argparse.Namespace, source: "Source", factor: float) -> int:
    """`--machines A B [--torch X] [--commit C]`: hardware side by side (compare.compare_machines)."""
    from torchperf_core.compare import compare_machines
    from torchperf_core.render import render_machines
    from torchperf_core.store import parse_torch_version

    if args.revisions or (args.torch and len(args.torch) > 1):
        raise TorchperfError("--machines A B compares one commit (--commit) and one torch version (--torch X)")
    torch = parse_torch_version(args.torch[0]) if args.torch else None
    c = compare_machines(source, *args.machines, torch=torch, commit=args.commit, factor=factor)
    return _emit(render_machines(c, args.format), args, c.exit_code)


def _emit(text: str, args: argparse.Namespace, code: int) -> int:
    from torchperf_core.commands._common import emit

    emit(text, args.output)
    return code

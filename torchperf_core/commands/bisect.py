"""`torchperf bisect CASE --good V --bad V`: find the release that made CASE slower, and why.

Exit codes: 0 the culprit pair is named; 1 undecided: the search ended with a range (a step could
not be decided within --max-rounds; re-run with a larger --max-rounds to measure on), the endpoints
could not be told apart within --max-rounds (likewise), or contended (a decision could not get enough clean rounds
because the contention probe saw the machine busy: re-run on a quiet machine); 2 a mistake in the
input (unknown case, malformed or unlisted version, good not older than bad, no release between, an
endpoint that cannot be installed or measured);
3 the slowdown is not reproduced at the endpoints (the rule decided they are the same, or bad is faster: nothing
to bisect); 4 paused by --max-steps
(re-run to continue); 130 interrupted, 143 terminated (SIGTERM) (what was measured is kept: re-run to
resume).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torchperf_core.store import AsvConfig

NAME = "bisect"
HELP = "find the release between --good and --bad that made a case slower, and why"

EXIT_CODES = {"culprit": 0, "range": 1, "undecided": 1, "contended": 1, "not reproduced": 3, "paused": 4}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("case", help="a suite case as `compare` prints it, an op spec ('mm --size 1024 "
                                     "--dtype float16'), or module:callable (with --package)")
    parser.add_argument("--good", required=True, help="a release where the case is fast")
    parser.add_argument("--bad", required=True, help="a later release where it is slow")
    parser.add_argument("--package", default="torch", help="the package whose releases are bisected (default torch)")
    parser.add_argument("--include", nargs="+", default=[], metavar="VERSION",
                        help="also try these non-plain releases (pre-releases, post-releases)")
    parser.add_argument("--index-url", default=None, help="pip's --index-url for listing and installing")
    parser.add_argument("--find-links", action="append", default=[], metavar="DIR",
                        help="pip's --find-links (repeatable)")
    parser.add_argument("--no-index", action="store_true", help="pip's --no-index (only --find-links)")
    parser.add_argument("--factor", default=None,
                        help="a change must exceed this ratio (default: the gate's 1.03: rounds are paired, as in the gate)")
    parser.add_argument("--samples", default="10", help="samples per block, two blocks a round (default 10)")
    parser.add_argument("--rounds", default="3", help="interleaved rounds before a first decision (default 3, the least)")
    parser.add_argument("--max-rounds", default="8", help="most rounds per decision while undecided, disturbed ones included (default 8)")
    parser.add_argument("--max-steps", default=None, help="pause after this many steps (re-run to continue)")
    parser.add_argument("--cache", default=".asv/bisect", help="environments and state (default .asv/bisect)")
    parser.add_argument("--report", default=None, help="report path, .json (default: in --cache/reports)")
    parser.add_argument("--fresh", action="store_true", help="forget this question's measurements; start over")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _config() -> tuple[AsvConfig | None, list[str], dict[str, object], Path]:
    """(the config, its Pythons, its matrix requirements, benchmark folder) from ./asv.conf.json,
    read by the store's one reader; outside a project, torchperf_core's own runtime needs."""
    from torchperf_core.bisect import RUNTIME_MATRIX
    from torchperf_core.store import CONFIG_NAME, read_config

    if not Path(CONFIG_NAME).exists():
        return None, [], dict(RUNTIME_MATRIX), Path("benchmarks")
    config = read_config(CONFIG_NAME)
    return (config, [str(p) for p in config.raw.get("pythons") or []], dict(config.requirements),
            config.benchmark_dir)


def run(args: argparse.Namespace) -> int:
    from torchperf_core import bisect
    from torchperf_core.commands._common import positive_int
    from torchperf_core.render import render_bisect_progress, render_bisect_report
    from torchperf_core.verdict import GATE_FACTOR, parse_factor

    # Interleaved rounds judged by the gate's paired test: the gate's factor, for the gate's reason.
    factor = parse_factor(args.factor) if args.factor is not None else GATE_FACTOR
    rounds = bisect.Rounds(samples=positive_int(args.samples, "--samples"),
                           min_rounds=positive_int(args.rounds, "--rounds"),
                           max_rounds=positive_int(args.max_rounds, "--max-rounds"))
    max_steps = positive_int(args.max_steps, "--max-steps")
    config, pythons, matrix, benchmark_dir = _config()
    package = bisect.parse_package(args.package)
    case = bisect.parse_case(args.case, benchmark_dir=benchmark_dir)
    good, bad = bisect.parse_release(args.good, package), bisect.parse_release(args.bad, package)
    include = [bisect.parse_release(v, package, included=True) for v in args.include]
    index = bisect.IndexOptions(index_url=args.index_url, find_links=tuple(str(Path(p).resolve()) for p in args.find_links),
                                no_index=args.no_index)
    from torchperf_core.errors import TorchperfError, how_stopped

    bisect.check_order(good, bad)
    if args.report is not None and Path(args.report).suffix.lower() != ".json":
        raise TorchperfError(f"--report {args.report!r} must end in .json")
    releases = bisect.releases_between(bisect.index_versions(package, index), good, bad, package, include)

    def progress(kind: str, **fields: object) -> None:
        line = render_bisect_progress(kind, fields)
        if line is not None:
            print(line, file=sys.stderr if args.json else sys.stdout, flush=True)

    cache_dir = Path(args.cache).resolve()
    question = {"package": package, "case": case.text, "good": good, "bad": bad, "index": index.key(),
                "factor": factor, "include": include}
    state = bisect.BisectState.open(cache_dir / "runs", question, releases, fresh=args.fresh)
    extras = (lambda v: bisect.torch_requirements(v, matrix)) if package == "torch" else None
    # torch releases the suite's asv environments already hold are measured there (same matrix, same
    # cache); only from the default index, the one `torchperf run` installed them from.
    suite = None
    if config is not None and package == "torch" and index == bisect.IndexOptions():
        suite = functools.partial(bisect.suite_environment, config)
    envs = bisect.EnvironmentCache(cache_dir, package, index, pythons=bisect.candidate_pythons(pythons),
                                   extras=extras, benchmark_dir=benchmark_dir if case.kind == "suite" else None,
                                   suite=suite)
    n_between = len(releases) - 2
    print(f"bisecting {package} {good} -> {bad}: {n_between} releases between, ~{bisect.expected_steps(n_between)} "
          "steps after the endpoints", file=sys.stderr if args.json else sys.stdout, flush=True)
    if state.resumed:
        progress("resume", path=str(state.path), sessions=len(state.sessions))
    try:
        bisect.Bisector(case, package, state, envs, rounds, progress, max_steps=max_steps).run()
    except KeyboardInterrupt as exc:
        state.save()
        word, code = how_stopped(exc)
        print(f"torchperf: {word}; measurements kept in {state.path}: re-run to resume", file=sys.stderr)
        return code
    report_path = Path(args.report) if args.report else cache_dir / "reports" / f"{state.path.stem}.json"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    plot_path = report_path.with_suffix(".png")
    report = bisect.build_report(state, plot=str(plot_path))
    if report["versions"]:
        bisect.plot_report(report, plot_path)
    else:
        report["plot"] = None
    bisect.save_report(report, report_path)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render_bisect_report(report), end="")
        print(f"report: {report_path}")
    return EXIT_CODES.get(state.status, 1)

"""`torchperf continuous BASE HEAD`: the pull-request gate, decide or re-measure (docs/GATE.md).

Base and head run interleaved in rounds of fresh processes, each case judged on its per-round
medians with the one significance module (`verdict.judge_paired`) at a stated family-wise
false-alarm rate; undecided cases get more rounds until decided or --budget is spent, except
those whose spread between rounds puts any decision out of reach by --max-rounds, or by the rounds
--budget affords where those are fewer (`verdict.reach`, `gate.budget.afford_rounds`).

Exit status: 1 only for decided regressions (slower beyond --factor, or newly failing); 0 when
nothing regressed, also when some cases stay unknown or contended (the first line says so: they are
not evidence of a regression, and failing a PR on them would make the gate cry wolf); 2 on bad input.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Mapping

from torchperf_core.errors import TorchperfError

NAME = "continuous"
HELP = "the PR gate: BASE HEAD (or --torch A B) interleaved in rounds until decided; exit 1 on a decided regression"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from torchperf_core.gate import BUDGET_SHARES, INTERLEAVES
    from torchperf_core.verdict import FAMILY_ALPHA, GATE_FACTOR

    parser.add_argument("revisions", nargs="*", metavar="REV", help="BASE HEAD: two commits, branches or tags")
    parser.add_argument("--torch", nargs=2, metavar="VERSION", help="two torch versions at one commit (--commit)")
    parser.add_argument("--commit", default="HEAD", help="with --torch: the commit whose code runs (default HEAD)")
    parser.add_argument("--bench", help="only cases whose 'benchmark(parameters)' matches this regex")
    parser.add_argument("--factor", default=str(GATE_FACTOR),
                        help=f"a change must exceed this ratio (default {GATE_FACTOR}: paired rounds cancel the drift "
                             "that makes compare need 1.07)")
    parser.add_argument("--rounds-min", default="6", help="rounds every case gets before the first verdict (default 6, >= 3)")
    parser.add_argument("--max-rounds", default="30", help="most rounds for an undecided case (default 30)")
    parser.add_argument("--batch", default="4", help="rounds added to the undecided cases at a time (default 4)")
    parser.add_argument("--budget", default=None, help="seconds for the whole run, counted from its start: the first --rounds-min rounds always run, "
                             "no round is added once it is spent (default: no limit)")
    parser.add_argument("--family-alpha", default=str(FAMILY_ALPHA), metavar="RATE",
                        help=f"the false alarms a run allows over all its cases and looks (default {FAMILY_ALPHA:g}: one "
                             f"run in {1 / FAMILY_ALPHA:.0f} may flag a change that is not there; 0.01 asks for more "
                             "rounds before a verdict; docs/GATE.md)")
    parser.add_argument("--interleave", choices=INTERLEAVES, default="sample",
                        help="how the two sides take turns in a round: sample (one sample each, in turn: a slow spell "
                             "of the host falls on both; the default) or case (each side's whole measurement in turn, "
                             "as every tree older than sample pacing is run)")
    parser.add_argument("--budget-share", choices=BUDGET_SHARES, default="even",
                        help="with --budget, which undecided cases get the rounds it cannot pay for all: even (every case "
                             "within reach by the last round the budget affords them all, each paid for to that round; "
                             "the default) or nearest (each case paid for only up to the first round at which its "
                             "decision is plausible, stretched by its share of disturbed rounds, and the cases kept up to "
                             "the last such round the budget pays for; docs/GATE.md)")
    parser.add_argument("--threads", default=None, help="intra-op threads in both sides (default: torch's default)")
    parser.add_argument("--tier", default="smoke", help="suite tier: smoke, default or full (default smoke)")
    parser.add_argument("--python", default=None, help="interpreter with torch for both commits (default: this one)")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format (default text)")
    parser.add_argument("--json", dest="json_output", metavar="FILE", help="also write the JSON report to this file")
    parser.add_argument("--config", default=None, help="asv config (default asv.conf.json): the benchmark folder and env dir")
    parser.add_argument("--output", "-o", help="also write the output to this file")
    parser.add_argument("--metric", choices=("time", "instructions"), default=None,
                        help="instructions: after the timing rounds, also count the curated cases' instructions once "
                             "per side under valgrind (~3 min per side on a 2-core machine) and judge them by the "
                             "benchmark's count_tolerance; also on when TORCHPERF_METRICS lists instructions "
                             "(default: time only)")


def _budget(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise TorchperfError(f"--budget {text!r} is not a number of seconds; give e.g. 600") from None
    if not value > 0 or value == float("inf"):
        raise TorchperfError(f"--budget {text!r} must be a positive number of seconds, e.g. 600")
    return value


def _bench(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        re.compile(text)
    except re.error as exc:
        raise TorchperfError(f"--bench {text!r} is not a regular expression ({exc})") from None
    return text


def wants_counts(metric: str | None, environ: Mapping[str, str]) -> bool:
    """--metric instructions, or the suite's own switch (benchmarks/bench_instructions.py `requested`)."""
    if metric is not None:
        return metric == "instructions"
    return "instructions" in {m.strip() for m in environ.get("TORCHPERF_METRICS", "").split(",")}


def run(args: argparse.Namespace) -> int:
    from torchperf_core.commands._common import emit, positive_int
    from torchperf_core.gate import GatePlan, add_counts, commit_sides, render_gate, run_gate, torch_pythons, version_sides
    from torchperf_core.run import parse_tier
    from torchperf_core.store import CONFIG_NAME, parse_torch_version, read_config
    from torchperf_core.verdict import parse_factor, parse_family_alpha

    rounds_min, max_rounds, batch = (positive_int(text, flag) for text, flag in (
        (args.rounds_min, "--rounds-min"), (args.max_rounds, "--max-rounds"), (args.batch, "--batch")))
    assert rounds_min is not None and max_rounds is not None and batch is not None  # argparse gives each a default
    plan = GatePlan(  # validates the rounds itself
        factor=parse_factor(args.factor), rounds_min=rounds_min, batch=batch,
        max_rounds=max_rounds, budget=_budget(args.budget), threads=positive_int(args.threads, "--threads"),
        bench=_bench(args.bench), tier=parse_tier(args.tier),
        instructions=wants_counts(getattr(args, "metric", None), os.environ), interleave=args.interleave,
        budget_share=args.budget_share, family_alpha=parse_family_alpha(args.family_alpha),
    )  # fmt: skip
    conf = read_config(args.config or CONFIG_NAME)
    repo = conf.repo_dir or Path(".").resolve()
    bench_dir = os.path.relpath(conf.benchmark_dir, conf.project_root)
    if args.torch:
        if args.revisions:
            raise TorchperfError(f"give either BASE HEAD or --torch A B, not both (got {' '.join(args.revisions)})")
        versions = [parse_torch_version(v) for v in args.torch]
        if versions[0] == versions[1]:
            raise TorchperfError(f"--torch names {versions[0]} twice; give two different versions")
        before, after = version_sides(repo, args.commit, bench_dir, torch_pythons(conf.env_dir), versions)
    else:
        if len(args.revisions) != 2:
            raise TorchperfError(f"give two revisions (BASE HEAD) or --torch A B; got {len(args.revisions)} revision(s)")
        before, after = commit_sides(repo, args.revisions[0], args.revisions[1], bench_dir, python=args.python)

    def progress(line: str) -> None:
        print(f"[continuous] {line}", file=sys.stderr, flush=True)

    report = run_gate(before, after, plan, base_env=os.environ, progress=progress)
    if plan.instructions:
        report = add_counts(report, base_env=os.environ, progress=progress)
    emit(render_gate(report, args.format), args.output)
    if args.json_output:
        Path(args.json_output).write_text(render_gate(report, "json"), encoding="utf-8")
    return report.exit_code

"""`torchperf run`: the main job — the asv suite in one environment per pinned PyTorch release.

Registers this machine (with its hardware), builds or reuses a benchmark environment per torch
version, runs the suite for the current commit in all of them, records each environment's
fingerprint next to its results, publishes the static site and prints a summary: each case × torch
version with its median, GFLOP/s and the ratio to the oldest version, biggest slowdowns first.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from torchperf_core.render import render_summary, render_verdict_counts
from torchperf_core import run as suite
from torchperf_core.commands._common import positive_int
from torchperf_core.engine import require_isa
from torchperf_core.errors import TorchperfError
from torchperf_core.store import CONFIG_NAME, read_config

NAME = "run"
HELP = "run the asv suite across pinned PyTorch versions, publish the site, print a summary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--torch", nargs="+", metavar="VERSION",
                        help="PyTorch releases to compare (default: those in asv.conf.json), e.g. 2.13.0 2.14.1")
    parser.add_argument("--tier", default="default", help="smoke (<= 2 min per env), default (<= 10 min), full")
    parser.add_argument("--bench", metavar="REGEX", help="only benchmarks whose name matches REGEX")
    parser.add_argument("--device", nargs="+", metavar="DEVICE",
                        help="cpu and/or cuda (default: cpu, plus cuda where an NVIDIA driver is present)")
    parser.add_argument("--commits", metavar="RANGE", help="a git range to benchmark (e.g. HEAD~5..HEAD) instead of HEAD")
    parser.add_argument("--existing", action="store_true",
                        help="benchmark this interpreter's torch without building environments")
    parser.add_argument("--machine", metavar="NAME", help="machine name for the results (default: host name)")
    parser.add_argument("--quick", action="store_true", help="pass --quick to asv (the engine still warms up)")
    parser.add_argument("--resume", action="store_true",
                        help="after an interrupted run: keep the benchmarks already saved for each commit and "
                             "environment, run only the rest")
    parser.add_argument("--no-publish", action="store_true", help="skip publishing the site")
    parser.add_argument("--threads", metavar="N",
                        help="run the suite at N threads (default: torch's, all cores); results get their own "
                             "environment name and history. 1 is robust on a shared machine")
    parser.add_argument("--isa", metavar="LEVEL",
                        help="run the same wheel at a forced ATen/oneDNN ISA level: avx2 or avx512 (default: the "
                             "library's own dispatch); results get their own environment name and history")
    parser.add_argument("--rounds", default="1", metavar="N",
                        help="separate runs per torch version, alternating the order (default 1); 2+ gives "
                             "the between-run replicates a verdict needs")
    parser.add_argument("--limit", default="30", help="summary rows to print (default 30; 0 = all)")
    parser.add_argument("--wait", default="0", metavar="SECONDS",
                        help="if another `torchperf run` holds this checkout, wait up to SECONDS for it "
                             "(default 0: refuse at once)")
    parser.add_argument("--no-machine-checks", action="store_true",
                        help="skip the doctor, the noise probes and the first calibration (saved in meta/<machine>/)")
    parser.add_argument("--cpus", metavar="LIST",
                        help="pin the benchmark processes to these CPUs, e.g. 0-3,6 (recorded in the fingerprint; "
                             "torch then uses one thread per pinned CPU)")


def _non_negative(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise TorchperfError(f"{what} {text!r} is not accepted; give a number >= 0")
    return value


def plan_from_args(args: argparse.Namespace, root: Path) -> suite.RunPlan:
    tier = suite.parse_tier(args.tier)
    bench = suite.parse_bench(args.bench)
    devices = suite.parse_devices(args.device)
    commits = suite.parse_commits(args.commits)
    machine = suite.parse_machine(args.machine)
    if args.torch:
        versions = suite.parse_torch_versions(args.torch)
    else:
        versions = suite.configured_torch_versions(read_config(root / CONFIG_NAME))
    if args.existing and args.commits:
        raise TorchperfError("--existing benchmarks the installed code: it cannot take --commits")
    threads = positive_int(args.threads, "--threads") if args.threads is not None else None
    rounds = positive_int(args.rounds, "--rounds")
    isa = None
    if args.isa is not None:
        isa = require_isa(args.isa)  # refuses a level this CPU lacks: ATen would take it and SIGILL
        isa = None if isa == "default" else isa
    return suite.RunPlan(versions, tier, bench, devices, commits, args.existing, machine, args.quick,
                         resume=args.resume, machine_checks=not args.no_machine_checks, threads=threads,
                         rounds=rounds, isa=isa)


def run(args: argparse.Namespace) -> int:
    from torchperf_core.engine import apply_affinity, parse_cpu_list

    root = Path.cwd()
    limit = _non_negative(args.limit, "--limit")
    if limit != int(limit):
        raise TorchperfError(f"--limit {args.limit!r} is not accepted; give a whole number >= 0")
    wait = _non_negative(args.wait, "--wait")
    plan = plan_from_args(args, root)
    if args.cpus is not None:
        # Children (asv, its benchmark processes, the fingerprint probe) inherit the mask.
        apply_affinity(parse_cpu_list(args.cpus))

    def log(message: str) -> None:
        print(f"torchperf: {message}", file=sys.stderr, flush=True)

    what = "the current interpreter's torch" if plan.existing else "torch " + ", ".join(plan.torch_versions)
    log(f"tier {plan.tier}: benchmarking {what}")
    outcome = suite.run_suite(plan, root, publish=not args.no_publish, log=log, lock_wait=wait)
    if outcome.html_dir is not None:
        log(f"site published in {outcome.html_dir}")
    # The headline first: whether the machine was quiet, and what was decided (issue: one CAUTION line
    # under ~90 rows of ratios does not undo a table topped by noise).
    if outcome.condition_warnings:
        print("CAUTION: the machine was not quiet, or not at one speed, when these numbers were taken "
              "(`torchperf doctor` says why it was not quiet; changes below its minimum detectable slowdown "
              "may be noise):")
        for warning in outcome.condition_warnings:
            print(f"  {warning}")
    if outcome.summary:
        for line in render_verdict_counts(outcome.summary):
            print(line)
        print(render_summary(outcome.summary, int(limit)))
    else:
        log("no results were produced")
    skipped = sorted({(r.benchmark, r.params) for r in outcome.summary if r.status == "skipped"})
    if skipped:
        from torchperf_core.run import skip_reasons

        try:
            benchmarks = json.loads((read_config(root / CONFIG_NAME).results_dir / "benchmarks.json").read_text())
        except (OSError, ValueError):
            benchmarks = {}
        by_reason: dict[str, list[str]] = {}
        for (name, params), why in skip_reasons(root, benchmarks, skipped, plan.tier).items():
            by_reason.setdefault(why, []).append(f"{name.split('.', 1)[-1]}{params}")
        log(f"{len(skipped)} case(s) skipped:")
        for why, cases in sorted(by_reason.items()):
            log(f"  {why}: " + "; ".join(cases[:6]) + (f" … (+{len(cases) - 6})" if len(cases) > 6 else ""))
    failed_cases = sorted({f"{r.benchmark}{r.params} [torch {r.torch_version}]" for r in outcome.summary
                           if r.status == "failed"})
    if failed_cases:
        log(f"{len(failed_cases)} benchmark case(s) raised (their error is in asv's output above; the others ran): "
            + "; ".join(failed_cases[:10]) + (" …" if len(failed_cases) > 10 else ""))
    for version, why in outcome.failed:
        log(f"FAILED torch {version}: {why}")
    if outcome.failed:
        log(f"{len(outcome.failed)} of {len(plan.torch_versions)} torch versions failed: "
            + ", ".join(v for v, _ in outcome.failed))
    if outcome.condition_warnings:  # again at the end, where a scrolling terminal leaves the reader
        log("CAUTION: the machine was not quiet, or not at one speed, while these numbers were taken; see the top "
            "of the summary")
    if outcome.publish_error:
        log(f"results saved, but publishing failed: {outcome.publish_error}")
        return 1
    return 1 if outcome.failed else 0

#!/usr/bin/env python3
"""The figures of issue 11, with one command (a benchmark, not a test: take them on a quiet machine).

    python scripts/gate_figures.py                       # every figure, default tier (long)
    python scripts/gate_figures.py --tier smoke --trials 2 --bench 'MM\\.track_mm'   # minutes
    python scripts/gate_figures.py --figures separate --load                         # A/A under load

Figures (each row says the machine, the load, the torch version and what was run):

  separate   A/A, separate runs: this commit's cases measured in `--runs` separate runs (fresh
             processes) for side A, then `--runs` more for side B; judged as `torchperf compare`
             judges stored history (`verdict.judge_separate`: asv's rule on the last run, the run
             medians between runs, contention) and, for reference, by asv's rule alone on one run a
             side (what compare did before issue 11). Target: 0 false regressions.
             With --load (a second invocation: `--figures separate --load`), the same with one
             CPU-bound process alive throughout (contended cases must be reported as contended,
             never as changes).
  gate-aa    A/A through the gate (`torchperf continuous` HEAD HEAD): `--trials` gate runs (default
             20); a trial with any decided slower/faster case is a false alarm. Target: 0/20.
  inject     +5% on one case of >= 1 ms (`--inject-case`, default fp32 mm 1024), injected by scaling
             the after side's samples (worker hook TORCHPERF_GATE_SCALE: the noise is measured, the
             shift exact): detected k/`--trials` (default 10) and the time each gate run took.
             Target: >= 9/10.
  gate-tier  The gate over the whole tier with +5% injected on one case (`--inject-case`): each
             trial is one `continuous HEAD HEAD` whose after side slows that case, so the injected
             case is judged at the tier's multiplicity (per-case alpha over every case of the tier)
             and with the re-measure budget shared as a real pull request shares it. A trial has a
             false alarm when any *other* case is decided slower/faster; the injected case is
             detected when decided slower. Both figures of the gate from the same trials.
             `--ledger FILE` appends each trial as it finishes (JSON lines) and prints the totals
             over every trial in FILE of the same tier, factor, budget and case: trials of a day's
             worth can be taken a few at a time. Each trial also keeps the injected case's rounds
             (which side ran first, both medians) and where the spread between rounds of the other
             cases comes from (`spread_anatomy`: the order effect, the first rounds' shifts), and each
             false alarm's figures; `--reports DIR` keeps each trial's whole gate report beside it.
             `--markdown --ledger FILE` measures nothing: it prints the README's table row for the
             ledger's trials taken with the settings given (the README's rows are printed, not copied);
             with `--write README.md` it rewrites that row in place instead.
             `--replay-family-alpha RATE --ledger FILE` measures nothing either: it judges the kept rounds
             of those trials' injected case and false alarms again at another family-wise rate.
  versions   Cross-version pairs (`--pairs 2.13.0:2.14.1`, asv environments built by `torchperf run
             --torch ...`): the gate's verdict per case beside torch.utils.benchmark's ratio,
             measured in the same two environments (median of 3 rounds, alternating the side
             that goes first); "agree" when both put the ratio on the same
             side of the factor.

The load process (--load) and every worker are started and stopped by this script.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIGURES = ("separate", "gate-aa", "inject", "gate-tier", "versions")
TUB_ROUNDS = 3  # torch.utils.benchmark rounds per side in 'versions', alternating which side goes first
DEFAULT_INJECT_CASE = r"MM\.track_mm\(1024, 'float32', 'contiguous'"
INJECTED = 1.05  # the slowdown 'inject' and 'gate-tier' put on the after side's samples
AA_TRIALS = 20  # the false-alarm target is 0 in this many gate runs (gate-aa, gate-tier): 0/20
INJECT_TRIALS, INJECT_DETECTED = 10, 9  # the detection target: the +5% decided slower in >= 9 of 10
TARGETS = f"0/{AA_TRIALS}; ≥ {INJECT_DETECTED}/{INJECT_TRIALS}"  # as the README's table states them

# `--json` output history:
#   1 — first version: machine, torch, tier, figures (one object per figure row).
GATE_FIGURES_FORMAT_VERSION = 1


def _machine() -> str:
    """The ledger's machine: the CPU model, its CPUs and the highest ISA level it runs (env.describe_cpu). The AMD records
    written before 2026-12-05 had no level and were labelled by hand: AVX2 for the 27 with 28 skipped cases
    (no bf16 result on AVX2), AVX512 for 3274aadc's (its host's cpuinfo); the Xeon's records still carry
    none."""
    from torchperf_core.env import describe_cpu

    return describe_cpu()


def _torch_version(python: str) -> str:
    proc = subprocess.run([python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


LOAD_LABELS = {True: "1 CPU-bound process alive", False: "quiet (no load started)"}  # a row's and a ledger trial's "load"


class _Load:
    """One CPU-bound process for the whole figure (`--load`), stopped by us, by its own handle."""

    def __init__(self, on: bool) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if on else None

    def __enter__(self) -> "_Load":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    @property
    def label(self) -> str:
        return LOAD_LABELS[self.proc is not None]


# ---------------------------------------------------------------------------------------- separate


def _plan(args: argparse.Namespace, bench: str | None) -> Any:
    from torchperf_core.gate import GatePlan

    return GatePlan(factor=args.factor, budget=args.budget, bench=bench, tier=args.tier, threads=args.threads,
                    max_rounds=args.max_rounds, interleave=args.interleave,
                    budget_share=args.budget_share, family_alpha=args.family_alpha)


def _sample(result: dict[str, Any]) -> Any:
    from asv_runner.statistics import compute_stats

    from torchperf_core.store import Sample

    if not result.get("ok"):
        return None
    value, stats = compute_stats(list(result["samples"]), result["number"])
    return Sample(value=value, stats=stats, samples=tuple(result["samples"]), version=None)


def figure_separate(args: argparse.Namespace, side: Any, load: _Load) -> dict[str, Any]:
    from torchperf_core.gate import run_once
    from torchperf_core.verdict import judge, judge_separate

    started = time.monotonic()
    plan = _plan(args, args.bench)
    # Side A's runs, then side B's ("blocked": stored history, one commit measured after the other),
    # or alternating A B B A ... ("alternating": `torchperf run --rounds` over both sides).
    order = [0] * args.runs + [1] * args.runs if args.order == "blocked" else \
        [s for r in range(args.runs) for s in ((0, 1) if r % 2 == 0 else (1, 0))]
    runs: list[list[dict[str, Any]]] = [[], []]
    stamps: list[list[float]] = [[], []]
    for s in order:
        runs[s].append(run_once(side, plan, os.environ))
        stamps[s].append(time.time())
    counts_new: dict[str, int] = {}
    counts_old: dict[str, int] = {}
    for key in sorted(runs[0][-1]):
        last = [_sample(runs[s][-1].get(key, {})) for s in (0, 1)]
        if last[0] is None or last[1] is None:
            continue
        clean = [[i for i, r in enumerate(runs[s]) if r.get(key, {}).get("ok") and not r[key].get("contended")]
                 for s in (0, 1)]
        medians = [tuple(runs[s][i][key]["median"] for i in clean[s]) for s in (0, 1)]
        times = [tuple(stamps[s][i] for i in clean[s]) for s in (0, 1)]
        contended = tuple(bool(runs[s][-1][key].get("contended")) for s in (0, 1))
        old = judge(last[0], last[1], args.separate_factor)[0]
        new = judge_separate(last[0], last[1], args.separate_factor, before_runs=medians[0], after_runs=medians[1],
                             contended=contended, before_times=times[0], after_times=times[1]).verdict
        counts_old[old] = counts_old.get(old, 0) + 1
        counts_new[new] = counts_new.get(new, 0) + 1
    return {"figure": "separate", "load": load.label, "runs_per_side": args.runs, "order": args.order,
            "cases": sum(counts_new.values()),
            "false_regressions": counts_new.get("slower", 0), "false_improvements": counts_new.get("faster", 0),
            "verdicts": counts_new, "asv_rule_one_run": counts_old, "seconds": round(time.monotonic() - started)}


# ------------------------------------------------------------------------------------------- gate


def _gate(before: Any, after: Any, args: argparse.Namespace, bench: str | None, verbose: bool = False) -> Any:
    from torchperf_core.gate import run_gate

    def progress(line: str) -> None:  # the gate's own round lines, stamped: a long trial shows its pace
        if verbose:
            print(f"    {time.strftime('%H:%M:%S')} {line}", flush=True)

    return run_gate(before, after, _plan(args, bench), base_env=dict(os.environ), progress=progress)


def figure_gate_aa(args: argparse.Namespace, side: Any, load: _Load) -> dict[str, Any]:
    trials, alarms, times, undecided = args.trials or AA_TRIALS, 0, [], 0
    for _ in range(trials):
        report = _gate(side, side, args, args.bench)
        decided = [c for c in report.cases if c.verdict in ("slower", "faster")]
        alarms += bool(decided)
        undecided += sum(c.verdict in ("unknown", "contended") for c in report.cases)
        times.append(report.seconds)
    return {"figure": "gate-aa", "load": load.label, "trials": trials, "false_alarm_trials": alarms,
            "undecided_cases_total": undecided, "median_seconds": round(statistics.median(times))}


def figure_inject(args: argparse.Namespace, side: Any, load: _Load) -> dict[str, Any]:
    slowed = _slowed(side, args.inject_case)
    trials, detected, times, before, each = args.trials or INJECT_TRIALS, 0, [], None, []
    for _ in range(trials):
        report = _gate(side, slowed, args, args.inject_case)  # only that case: the hook and --bench alike
        case = next((c for c in report.cases), None)
        if case is None:
            raise SystemExit(f"--inject-case {args.inject_case!r} matches no case of tier {args.tier}")
        before = case.before
        detected += case.verdict == "slower"
        times.append(report.seconds)
        ratio = case.judgement.ratio if case.judgement is not None else None
        each.append({"verdict": case.verdict, "ratio": ratio, "rounds": case.rounds, "seconds": round(report.seconds)})
    return {"figure": "inject", "load": load.label, "case": args.inject_case, "case_seconds": before,
            "trials": trials, "detected": detected, "median_seconds": round(statistics.median(times)),
            "max_seconds": round(max(times)), "budget": args.budget, "each": each}


def _slowed(side: Any, case: str) -> Any:
    from torchperf_core.gate import GateSide

    return GateSide(f"{side.label}x{INJECTED:g}", side.python, side.benchmark_dir,
                    env={"TORCHPERF_GATE_SCALE": f"{case}={INJECTED!r}"})


# The fields a ledger's trials must share to be summed (the rest say when, where and on what).
# "remeasure": which undecided cases the gate re-measures (gate.budget.REMEASURE_RULES, by --budget-share); trials taken
# before it was recorded (every undecided case, out of reach or not) have none and are summed apart.
# "verdict": the rule for paired rounds (verdict.PAIRED_RULE); trials under the t-test alone have none.
# "max_rounds": the gate's --max-rounds; trials recorded before it was (all at the gate's default, 30,
# its only maximum until then) read as 30 (`trial_key`).
# "interleave": how the gate's rounds took turns between the sides (the report's, not the flag: a tree
# that cannot pace runs by case); trials recorded before sample pacing existed ran by case.
# "family_alpha": the gate's --family-alpha; trials recorded before the flag existed ran at verdict.FAMILY_ALPHA
# (5%, its only rate until then: the literal below, not the constant, so that a new default cannot relabel them).
LEDGER_KEYS = ("tier", "factor", "budget", "case", "bench", "threads", "load", "remeasure", "verdict", "max_rounds",
               "interleave", "family_alpha")
LEDGER_DEFAULTS: dict[str, Any] = {"max_rounds": 30, "interleave": "case", "family_alpha": 0.05}


def ledger_settings(args: argparse.Namespace, load: str, interleave: str) -> dict[str, Any]:
    """A trial's LEDGER_KEYS, the settings its ledger sums trials by: the one place they are read from a
    command line (a trial's `interleave` is its report's; `--markdown` asks for the flag's)."""
    from torchperf_core.gate.budget import REMEASURE_RULES
    from torchperf_core.verdict import PAIRED_RULE

    settings = {"tier": args.tier, "factor": args.factor, "budget": args.budget, "case": args.inject_case,
                "bench": args.bench, "threads": args.threads, "load": load,
                "remeasure": REMEASURE_RULES[args.budget_share],
                "verdict": PAIRED_RULE, "max_rounds": args.max_rounds, "interleave": interleave,
                "family_alpha": args.family_alpha}
    assert tuple(settings) == LEDGER_KEYS  # a key added to one and not the other would sum unlike trials
    return settings


def trial_key(trial: dict[str, Any], key: str) -> Any:
    """A ledger trial's setting; an old trial without it has the value every trial then ran at."""
    return trial.get(key, LEDGER_DEFAULTS.get(key))


def spread_anatomy(cases: Sequence[Any], first_rounds: int) -> dict[str, Any] | None:
    """Where the spread between rounds comes from, over `cases` (gate CaseOutcomes: their per_round):

      spread        the pooled standard deviation of the per-round log ratios (each case about its mean)
      within_order  the same about each case's two means, one per side that ran first: what is left
                    once each case's order effect is taken out (equal to `spread`: no order effect)
      second_side   the median over cases of the factor by which the side that ran second read slower
                    than when it ran first (half the gap of the two means): the position effect that
                    the ABBA order cancels in the ratio but not in the spread
      rounds        for each of the first `first_rounds` rounds (the ones every case ran), the median
                    ratio across cases: a round whose worker process ran slow on one side for every
                    case would stand out (the rounds' own state, as opposed to each measurement's)

    Only cases with two or more clean rounds in each order count (`cases`); None when none has."""
    from torchperf_core.verdict import log_ratio

    ss = ss_within = 0.0
    df = df_within = 0
    effects: list[float] = []
    by_round: dict[int, list[float]] = {}
    for c in cases:
        logs = [(p.round, p.first, d) for p in c.per_round if (d := log_ratio(p.before, p.after)) is not None]
        groups = [[d for _, first, d in logs if first == side] for side in (0, 1)]
        if min(len(g) for g in groups) < 2:
            continue
        everything = groups[0] + groups[1]
        mean = sum(everything) / len(everything)
        means = [sum(g) / len(g) for g in groups]
        ss += sum((d - mean) ** 2 for d in everything)
        ss_within += sum((d - m) ** 2 for g, m in zip(groups, means) for d in g)
        df, df_within = df + len(everything) - 1, df_within + len(everything) - 2
        effects.append((means[0] - means[1]) / 2.0)  # before first (after second) minus after first
        for r, _, d in logs:
            if r <= first_rounds:
                by_round.setdefault(r, []).append(d)
    if not effects:
        return None
    return {"cases": len(effects), "spread": math.sqrt(ss / df), "within_order": math.sqrt(ss_within / df_within),
            "second_side": math.exp(statistics.median(effects)),
            "rounds": [math.exp(statistics.median(v)) for _, v in sorted(by_round.items())]}


def case_figures(case: Any) -> dict[str, Any]:
    """What the ledger keeps of one judged case (a gate CaseOutcome): the injected case, and each false
    alarm, so that an alarm can be read again without the run (its ratio, interval, rounds, spread)."""
    j = case.judgement
    return {"verdict": case.verdict, "ratio": case.ratio, "rounds": case.rounds, "seconds_a_call": case.before,
            # a misspelt field fails loudly; only a case never judged has no judgement
            **{k: getattr(j, k) if j is not None else None for k in ("spread", "decided_by", "robust_spread")},
            "ci": list(j.ci) if j is not None and j.ci is not None else None,
            "per_round": [list(p) for p in case.per_round]}  # [round, first (0 before), before, after]


def false_alarms(trial: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    """(name, case_figures) of each case a trial decided as a change; an older trial kept the names alone
    (its figures None)."""
    return [(a, None) if isinstance(a, str) else (a["name"], a) for a in trial["false_alarms"]]


def gate_tier_trial(args: argparse.Namespace, side: Any, load: _Load) -> dict[str, Any]:
    """One gate run over the tier (or --bench), +5% on --inject-case: a ledger row."""
    report = _gate(side, _slowed(side, args.inject_case), args, args.bench, verbose=True)
    if args.reports:  # the context of any alarm: every case's rounds, where the ledger keeps a few cases'
        from torchperf_core.gate import render_gate

        kept = Path(args.reports) / f"gate-tier-{side.label}-{time.strftime('%Y%m%dT%H%M%S')}.json"
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(render_gate(report, "json"))
        print(f"  the trial's gate report: {kept}", flush=True)
    pattern = re.compile(args.inject_case)
    injected = [c for c in report.cases if pattern.search(f"{c.benchmark}{c.key}")]
    if len(injected) != 1:
        raise SystemExit(f"--inject-case {args.inject_case!r} matches {len(injected)} cases of tier {args.tier}; "
                         f"it must match exactly one")
    case, others = injected[0], [c for c in report.cases if c is not injected[0]]
    alarms = [{"name": c.name, **case_figures(c)} for c in sorted(others, key=lambda c: c.name)
              if c.verdict in ("slower", "faster")]
    verdicts: dict[str, int] = {}
    for c in others:
        verdicts[c.verdict] = verdicts.get(c.verdict, 0) + 1
    far = sum(c.out_of_reach for c in others)
    anatomy = spread_anatomy(others, report.plan.rounds_min)
    return {"figure": "gate-tier", **ledger_settings(args, load.label, report.interleave), "out_of_reach": far,
            "machine": _machine(), "torch": _torch_version(side.python), "commit": side.label,
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cases": len(report.cases), "alpha": report.alpha,
            "false_alarms": alarms, "verdicts": verdicts, "detected": case.verdict == "slower",
            "injected": case_figures(case),
            "anatomy": anatomy,
            "rounds": report.rounds, "budget_spent": report.budget_spent, "seconds": round(report.seconds)}


def read_ledger(path: Path) -> list[dict[str, Any]]:
    """The ledger's trials, one JSON object a line; a line that is not one names the file and line."""
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{n}: not a JSON object ({exc.msg}); each line of a ledger is one trial")
    return rows


def ledger_trials(ledger: Path, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The ledger's gate-tier trials taken with `settings` (LEDGER_KEYS: what trials are summed by)."""
    return [t for t in read_ledger(ledger)
            if t.get("figure") == "gate-tier" and all(trial_key(t, k) == v for k, v in settings.items())]


def summarize_gate_tier(trials: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over trials that share LEDGER_KEYS (the caller picks them)."""
    times = [t["seconds"] for t in trials]
    rounds = [t["injected"]["rounds"] for t in trials]
    return {"figure": "gate-tier", **{k: trial_key(trials[0], k) for k in LEDGER_KEYS}, "trials": len(trials),
            "false_alarm_trials": sum(bool(t["false_alarms"]) for t in trials),
            "detected": sum(t["detected"] for t in trials), "cases": trials[-1]["cases"],  # the latest tree's
            "median_seconds": round(statistics.median(times)), "max_seconds": max(times),
            "injected_rounds": (min(rounds), max(rounds)),
            "commits": sorted({t["commit"] for t in trials}), "each": trials}


def _span(values: Sequence[float], fmt: str, mark: str = "") -> str:
    """'lo–hi' in `fmt`, each after `mark` (one value when both print alike)."""
    lo, hi = mark + format(min(values), fmt), mark + format(max(values), fmt)
    return lo if lo == hi else f"{lo.removesuffix('%') if hi.endswith('%') else lo}–{hi}"  # 10.0–13.3%


def _each(values: Sequence[Any]) -> str:
    """'a, b and c' (the README's way of listing one value a trial)."""
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def _trial_numbers(ks: Sequence[int]) -> str:
    """Trial numbers as the README lists them: three or more in a row as a range ('1–10 and 12')."""
    runs: list[list[int]] = []
    for k in ks:
        if runs and k == runs[-1][-1] + 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    named: list[Any] = []
    for r in runs:
        named += [f"{r[0]}–{r[-1]}"] if len(r) > 2 else r
    return _each(named)


def _case_text(i: dict[str, Any]) -> str:
    """One case's case_figures: its verdict, ratio, rounds, and what decided it at what spread."""
    how = [i.get("decided_by"), i.get("spread") is not None and f"spread {i['spread']:.1%}",
           i.get("robust_spread") is not None and f"{i['robust_spread']:.1%} robust"]
    how_text = ", ".join(x for x in how if x)
    ratio = f" ×{i['ratio']:.3f}" if i.get("ratio") is not None else ""
    return f"{i['verdict']}{ratio} after {i['rounds']} rounds" + (f" ({how_text})" if how_text else "")


def markdown_row(trials: list[dict[str, Any]]) -> str:
    """The README's table row for the trials of one ledger group (the same LEDGER_KEYS), printed from the
    ledger so that the README cannot drift from it: who ran (commits, machines, torch, load, when each trial
    started) in the first cell, what each trial found in the second, the targets, the time a trial took.

    A trial's start is its record's time less its seconds (the record is written as the trial ends)."""
    from datetime import datetime, timedelta

    n = len(trials)
    days: dict[str, list[str]] = {}
    for t in trials:
        start = datetime.strptime(t["when"], "%Y-%m-%dT%H:%M:%S%z") - timedelta(seconds=t["seconds"])
        days.setdefault(start.strftime("%Y-%m-%d"), []).append(start.strftime("%H:%M"))
    machines: dict[str, list[int]] = {}
    for k, t in enumerate(trials, 1):
        machines.setdefault(f"{t['machine']}, torch {t['torch']}", []).append(k)
    where = (next(iter(machines)) if len(machines) == 1 else
             "; ".join(f"trial{'s' if len(ks) > 1 else ''} {_trial_numbers(ks)} on {m}" for m, ks in machines.items()))
    who = (f"commits {_each([t['commit'] for t in trials])}; {where}; {trials[0]['load']}; started "
           + "; ".join(f"{day} at {_each(times)}" for day, times in days.items()))

    def count(verdict: str) -> list[int]:
        return [t["verdicts"].get(verdict, 0) for t in trials]

    alarms = sum(bool(t["false_alarms"]) for t in trials)
    named = [f"trial {k}: " + _each([name + (f" {_case_text(a)}" if a else "") for name, a in false_alarms(t)])
             for k, t in enumerate(trials, 1) if t["false_alarms"]]
    skipped, contended = count("skipped"), count("contended")
    at_end = ["same / unknown at the end: " + ", ".join(f"{a}/{b}" for a, b in zip(count("same"), count("unknown")))]
    if any(contended):
        at_end.append(f"contended {', '.join(map(str, contended))}")
    at_end.append(f"{skipped[0]} skipped each time" if len(set(skipped)) == 1 else f"skipped {', '.join(map(str, skipped))}")
    at_end.append(f"out of reach at the end {', '.join(str(t['out_of_reach']) for t in trials)}")
    if named:
        at_end.append(f"decided as changes: {'; '.join(named)}")
    found = [f"**{n} trial{'s' if n > 1 else ''}{' so far' if n < AA_TRIALS else ''}: {alarms}/{n}** with a false alarm among "
             f"the other {trials[-1]['cases'] - 1} cases ({'; '.join(at_end)})",
             "rounds and time: " + ", ".join(f"{t['rounds']} in {t['seconds']} s"
                                             + (" (the budget spent)" if t["budget_spent"] else "") for t in trials)]
    anatomy = [t["anatomy"] for t in trials if t.get("anatomy")]
    if anatomy:
        spreads = [a["spread"] for a in anatomy]
        found.append(f"spread between rounds over the {_each(sorted({a['cases'] for a in anatomy}))} other judged cases "
                     f"**{_span(spreads, '.1%')}** ({', '.join(format(x, '.1%') for x in spreads)}; the side run "
                     f"second {_span([a['second_side'] for a in anatomy], '.3f', '×')}; the first rounds' median "
                     f"ratios {_span([r for a in anatomy for r in a['rounds']], '.3f', '×')})")
    calls = [t["injected"]["seconds_a_call"] * 1e3 for t in trials if t["injected"].get("seconds_a_call")]
    found.append(f"the +{INJECTED - 1:.0%} **detected {sum(t['detected'] for t in trials)}/{n}**: "
                 + ", ".join(_case_text(t["injected"]) for t in trials) + (f"; the case at {_span(calls, '.1f')} ms a call" if calls else ""))
    minutes = _span([t["seconds"] / 60 for t in trials], ".0f")
    return f"| {who} | {'; '.join(found)} | {TARGETS} | {minutes} min a trial |"


def print_ledger_row(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """`--markdown`: the README row of the ledger's trials that this command line would add to."""
    if not args.ledger:
        parser.error("--markdown prints the row of a ledger's trials; give --ledger FILE")
    if not Path(args.ledger).is_file():
        parser.error(f"--ledger {args.ledger}: no such file; --markdown reads a ledger that 'gate-tier' trials wrote")
    trials = _selected_trials(args)
    if not trials:
        return 1
    row = markdown_row(trials)
    if args.write is None:
        print(row)
        return 0
    try:
        changed = write_row(Path(args.write), trials, row)
    except ValueError as exc:
        print(f"gate_figures.py: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # unreadable or unwritable: the file is as it was
        print(f"gate_figures.py: --write {args.write}: {exc.strerror or exc}; nothing written", file=sys.stderr)
        return 1
    print(f"{args.write}: the row of {len(trials)} trial(s) {'rewritten' if changed else 'unchanged'} from {args.ledger}")
    return 0


def write_row(doc: Path, trials: list[dict[str, Any]], row: str) -> bool:
    """Put `row` (markdown_row's) in place of the table row of `doc` that holds these trials: the one line that
    starts with '|' and names the first trial's commit after 'commits ' (followed by ',' ';' or ' and ', as
    `_each` lists one, two or more). What the line says before 'commits ' (the README's first-cell label) and its
    line ending are kept; everything else in `doc` is left byte for byte. ValueError, and `doc` untouched, when no
    line or several lines hold them (a new group's row is placed by hand once). False when the row was already
    the ledger's (nothing written)."""
    from torchperf_core.store import write_text

    if not doc.is_file():
        raise ValueError(f"--write {doc}: no such file; give the README that holds the row")
    try:
        with doc.open(encoding="utf-8", newline="") as f:  # line endings as they are
            text = f.read()
    except UnicodeDecodeError as exc:
        raise ValueError(f"--write {doc}: not UTF-8 text ({exc.reason} at byte {exc.start}); give the README that "
                         "holds the row") from None
    lines = text.split("\n")
    first = re.compile(rf"commits {re.escape(trials[0]['commit'])}(?:[,;]| and )")
    hits = [(k, m) for k, line in enumerate(lines) if line.startswith("|") and (m := first.search(line))]
    if len(hits) != 1:
        raise ValueError(f"--write {doc}: {'no' if not hits else len(hits)} table row(s) start with the trials of commit "
                         f"{trials[0]['commit']} (a row names its trials after 'commits '); add the row once by hand "
                         f"from --markdown, then --write keeps it")
    k, m = hits[0]
    lines[k] = lines[k][:m.start()] + row.removeprefix("| ") + ("\r" if lines[k].endswith("\r") else "")
    if "\n".join(lines) == text:
        return False
    write_text(doc, "\n".join(lines))
    return True


def _selected_trials(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The --ledger trials taken with the settings this command line gives (--markdown and --replay-family-alpha
    read the same ones); none: says so on stderr, naming the settings."""
    mine = ledger_settings(args, LOAD_LABELS[args.load], args.interleave)
    trials = ledger_trials(Path(args.ledger), mine)
    if not trials:
        print(f"gate_figures.py: no trial in {args.ledger} was taken with these settings ("
              + ", ".join(f"{k} {v}" for k, v in mine.items()) + ")", file=sys.stderr)
    return trials


def replay_family_alpha(trials: list[dict[str, Any]], family: float) -> dict[str, Any]:
    """What a stricter (or looser) family-wise rate would have said on the rounds the ledger kept: the injected
    case and each false alarm judged again (this tree's `judge_paired`) on the same rounds at the per-case alpha
    `family` gives over the trial's cases and looks. A replay, not a trial: where the stricter rate leaves a
    case undecided at the round the gate stopped it, the rounds it would have taken next were never measured
    (nor does it replay the budget's futility rule, which moves with the alpha). A false alarm kept by name
    alone (older trials) cannot be replayed, and is counted apart."""
    from torchperf_core.gate import GatePlan
    from torchperf_core.verdict import judge_paired, per_case_alpha

    def verdict(fig: dict[str, Any], alpha: float, factor: float) -> str:
        rounds = fig["per_round"]  # [round, first, before, after]
        return judge_paired([r[2] for r in rounds], [r[3] for r in rounds], factor, alpha).verdict

    out: dict[str, Any] = {"family": family, "trials": len(trials), "decided": 0, "kept": 0, "later": [],
                           "not_reproduced": [], "alarms": 0, "alarms_kept": 0, "alarms_gone": [], "alarms_by_name": []}
    for t in trials:
        looks = GatePlan(factor=t["factor"], max_rounds=trial_key(t, "max_rounds")).looks
        alpha = per_case_alpha(t["cases"], looks, family)
        i = t["injected"]
        if i.get("per_round"):
            if verdict(i, t["alpha"], t["factor"]) != i["verdict"]:  # this tree's rule reads them otherwise
                out["not_reproduced"].append(t["commit"])
            elif i["verdict"] == "slower":
                out["decided"] += 1
                if verdict(i, alpha, t["factor"]) == "slower":
                    out["kept"] += 1
                else:
                    out["later"].append(f"{t['commit']} (round {i['rounds']})")
        for name, a in false_alarms(t):
            out["alarms"] += 1
            if a is None or not a.get("per_round"):
                out["alarms_by_name"].append(f"{t['commit']}: {name}")
            elif verdict(a, alpha, t["factor"]) == a["verdict"]:
                out["alarms_kept"] += 1
            else:
                out["alarms_gone"].append(f"{t['commit']}: {name}")
    return out


def print_replay(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """`--replay-family-alpha F --ledger FILE`: `replay_family_alpha` over the ledger's trials taken with the
    settings given (as --markdown selects them); measures nothing."""
    if not args.ledger or not Path(args.ledger).is_file():
        parser.error(f"--replay-family-alpha reads a ledger that 'gate-tier' trials wrote; give --ledger FILE"
                     + (f" (no such file: {args.ledger})" if args.ledger else ""))
    trials = _selected_trials(args)
    if not trials:
        return 1
    r = replay_family_alpha(trials, args.replay_family_alpha)
    print(f"replayed at a family-wise rate of {r['family']:g}, {r['trials']} trial(s) of {args.ledger} (the rounds the "
          f"gate took; a case left undecided would have taken rounds never measured):")
    print(f"  the +{INJECTED - 1:.0%} decided in {r['decided']} trial(s) with its rounds kept: still decided at the same "
          f"round in {r['kept']}, undecided there in {len(r['later'])}" + (f" ({', '.join(r['later'])})" if r["later"] else ""))
    if r["not_reproduced"]:
        print(f"  not replayed: this tree's verdict rule reads the injected case's rounds otherwise in "
              f"{', '.join(r['not_reproduced'])}")
    print(f"  false alarms: {r['alarms']}; still decided {r['alarms_kept']}, undecided at this rate "
          f"{len(r['alarms_gone'])}" + (f" ({'; '.join(r['alarms_gone'])})" if r["alarms_gone"] else "")
          + f", kept by name alone (not replayable) {len(r['alarms_by_name'])}"
          + (f" ({'; '.join(r['alarms_by_name'])})" if r["alarms_by_name"] else ""))
    return 0


def figure_gate_tier(args: argparse.Namespace, side: Any, load: _Load) -> dict[str, Any]:
    ledger = Path(args.ledger) if args.ledger else None
    done: list[dict[str, Any]] = []
    for _ in range(args.trials or AA_TRIALS):
        done.append(gate_tier_trial(args, side, load))
        if ledger is not None:  # each trial as it finishes: a stopped session keeps what it measured
            with ledger.open("a") as f:
                f.write(json.dumps(done[-1], default=str) + "\n")
        _print_trial(done[-1])
    if ledger is not None:
        done = ledger_trials(ledger, {k: done[-1][k] for k in LEDGER_KEYS})
    return summarize_gate_tier(done)


def _print_trial(t: dict[str, Any]) -> None:
    from torchperf_core.render import format_interval

    i, alarms = t["injected"], false_alarms(t)
    print(f"  trial: {len(alarms)} false alarm(s) {[name for name, _ in alarms] or ''} of {t['cases'] - 1} unchanged "
          f"cases ({t['verdicts']}); injected +5%: {i['verdict']} x{i['ratio'] or float('nan'):.3f} after "
          f"{i['rounds']} rounds; {t['rounds']} rounds, {t['seconds']} s", flush=True)
    for name, a in alarms:
        if a is not None:
            interval = f"; interval {format_interval(a['ci'])}" if a.get("ci") else ""
            print(f"  false alarm: {name} {_case_text(a)}{interval}", flush=True)
    a = t.get("anatomy")
    if a:
        print(f"  spread between rounds over {a['cases']} cases: {a['spread']:.1%}; {a['within_order']:.1%} with each case's "
              f"order effect taken out (the side run second reads x{a['second_side']:.3f}, median); the first "
              f"rounds' median ratios " + " ".join(f"x{r:.3f}" for r in a["rounds"]), flush=True)


# --------------------------------------------------------------------------------------- versions

_TUB = r"""
import ast, importlib, json, sys
import torch
from torch.utils.benchmark import Timer
from torchperf_core.device import parse_device
from torchperf_core.measure import prepare
for name, key in json.loads(sys.argv[1]):
    module, cls, _method = name.split(".")
    klass = getattr(importlib.import_module("benchmarks." + module), cls)
    values = ast.literal_eval(key)
    values = values if isinstance(values, tuple) else (values,)
    p = dict(zip(klass.param_names, values))
    case = prepare(klass.op, int(p["size"]), str(p.get("dtype", "float32")), parse_device(str(p.get("device", "cpu"))),
                   layout=str(p.get("layout", "contiguous")))
    fn = case.callables()[0]
    m = Timer("fn()", globals={"fn": fn}, num_threads=torch.get_num_threads()).blocked_autorange(min_run_time=1.0)
    print(json.dumps([name, key, m.median]), flush=True)
"""


def _tub(python: str, tree: Path, cases: list[tuple[str, str]], env: dict[str, str]) -> dict[tuple[str, str], float]:
    proc = subprocess.run([python, "-c", _TUB, json.dumps(cases)], cwd=tree, capture_output=True, text=True,
                          env={**env, "PYTHONPATH": str(tree)}, check=True)
    return {(n, k): m for n, k, m in (json.loads(line) for line in proc.stdout.splitlines())}


def figure_versions(args: argparse.Namespace, load: _Load) -> list[dict[str, Any]]:
    from torchperf_core.gate import torch_pythons, version_sides
    from torchperf_core.store import read_config

    conf = read_config(args.config)
    pythons = torch_pythons(conf.env_dir)
    bench_dir = os.path.relpath(conf.benchmark_dir, conf.project_root)
    out = []
    for pair in args.pairs:
        a, b = pair.split(":")
        before, after = version_sides(conf.repo_dir or ROOT, "HEAD", bench_dir, pythons, [a, b])
        report = _gate(before, after, args, args.bench)
        cases = [(c.benchmark, c.key) for c in report.cases if c.before is not None]
        env = {**os.environ, "TORCHPERF_TIER": args.tier}
        # torch.utils.benchmark in the same two environments, interleaved as the gate is (A B, B A, A B):
        # one blocked_autorange a side run one after the other would carry the machine's drift.
        ratios: dict[tuple[str, str], list[float]] = {}
        for r_i in range(TUB_ROUNDS):
            order = (before, after) if r_i % 2 == 0 else (after, before)
            got = {s.label: _tub(s.python, s.benchmark_dir.parent, cases, env) for s in order}
            for key, a in got[before.label].items():
                if key in got[after.label]:
                    ratios.setdefault(key, []).append(got[after.label][key] / a)
        rows, agree = [], 0
        for c in report.cases:
            if (c.benchmark, c.key) not in ratios or c.judgement is None:
                continue
            r = statistics.median(ratios[(c.benchmark, c.key)])
            tub_side = "slower" if r > args.factor else "faster" if r < 1 / args.factor else "same"
            ok = c.verdict == tub_side or c.verdict in ("unknown", "contended")
            agree += ok
            rows.append({"case": c.name, "gate": c.verdict, "gate_ratio": c.judgement.ratio, "tub_ratio": r, "agree": ok})
        out.append({"figure": "versions", "load": load.label, "pair": pair, "cases": len(rows), "agree": agree,
                    "rows": rows, "seconds": round(report.seconds)})
    return out


# ------------------------------------------------------------------------------------------- main


def _print(row: dict[str, Any]) -> None:
    fig = row["figure"]
    if fig == "separate":
        print(f"A/A separate runs ({row['runs_per_side']} a side, {row['order']}), {row['load']}: {row['false_regressions']} false "
              f"regressions, {row['false_improvements']} false improvements of {row['cases']} cases; verdicts "
              f"{row['verdicts']}; asv's rule on one run a side: {row['asv_rule_one_run']} ({row['seconds']} s)")
    elif fig == "gate-aa":
        print(f"A/A gate, {row['load']}: {row['false_alarm_trials']}/{row['trials']} trials with a false alarm; "
              f"{row['undecided_cases_total']} undecided case-verdicts in all; median {row['median_seconds']} s a trial")
    elif fig == "inject":
        print(f"+5% on {row['case']} ({row['case_seconds'] or 0:.4g} s a call), {row['load']}, budget {row['budget']:g} s: "
              f"detected {row['detected']}/{row['trials']}; median {row['median_seconds']} s a gate run (max {row['max_seconds']} s)")
        for t in row["each"]:
            print(f"    {t['verdict']:>9} x{t['ratio'] or float('nan'):.3f}  {t['rounds']} rounds  {t['seconds']} s")
    elif fig == "gate-tier":
        print(f"gate over tier {row['tier']} with +5% on {row['case']}, {row['load']}, budget {row['budget']:g} s: "
              f"{row['false_alarm_trials']}/{row['trials']} trials with a false alarm among the other "
              f"{row['cases'] - 1} cases; injected detected {row['detected']}/{row['trials']} "
              f"({row['injected_rounds'][0]}-{row['injected_rounds'][1]} rounds); median {row['median_seconds']} s a "
              f"trial (max {row['max_seconds']} s); commits {', '.join(row['commits'])}")
    else:
        print(f"versions {row['pair']}, {row['load']}: gate and torch.utils.benchmark agree on {row['agree']}/{row['cases']}")
        for r in row["rows"]:
            print(f"    {r['gate']:>9} x{r['gate_ratio']:.3f}  tub x{r['tub_ratio']:.3f}  {'ok' if r['agree'] else 'DISAGREE'}  {r['case']}")


def parse_args(argv: list[str] | None = None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The command line, checked and with the gate's defaults filled in (--max-rounds, --family-alpha, --factor):
    what `main` runs, and what the tests read a README row's trials with (`_selected_trials`)."""
    from torchperf_core.gate import BUDGET_SHARES, INTERLEAVES
    from torchperf_core.verdict import DEFAULT_FACTOR, FAMILY_ALPHA, GATE_FACTOR, parse_family_alpha

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--figures", nargs="+", choices=FIGURES, default=list(FIGURES))
    parser.add_argument("--tier", choices=("smoke", "default", "full"), default="default")
    parser.add_argument("--trials", type=int, default=None,
                        help=f"gate runs per figure (default: {AA_TRIALS} for A/A and gate-tier, {INJECT_TRIALS} for inject)")
    parser.add_argument("--order", choices=("blocked", "alternating"), default="blocked",
                        help="'separate': side A's runs then B's (stored history), or alternating")
    parser.add_argument("--runs", type=int, default=3, help="separate runs per side in the 'separate' figure (default 3)")
    parser.add_argument("--bench", default=None, help="only cases whose 'benchmark(parameters)' matches this regex")
    parser.add_argument("--inject-case", default=DEFAULT_INJECT_CASE, help="regex on 'benchmark(parameters)' of the case slowed by 5%%")
    parser.add_argument("--pairs", nargs="+", default=["2.13.0:2.14.1"], help="torch version pairs A:B for 'versions'")
    parser.add_argument("--factor", type=float, default=None,
                        help=f"default: compare's {DEFAULT_FACTOR} for 'separate', the gate's {GATE_FACTOR} for the others")
    parser.add_argument("--budget", type=float, default=600.0, help="--budget of each gate run, seconds (default 600)")
    parser.add_argument("--max-rounds", type=int, default=None,
                        help="--max-rounds of each gate run: most rounds for an undecided case (default: the gate's, 30)")
    parser.add_argument("--family-alpha", type=float, default=None, metavar="RATE",
                        help="the gate's --family-alpha: false alarms a gate run allows over its cases and looks "
                             f"(default: the gate's, {FAMILY_ALPHA:g})")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--interleave", choices=INTERLEAVES, default="sample",
                        help="the gate's --interleave: sides take turns by sample (default) or by case")
    parser.add_argument("--budget-share", choices=BUDGET_SHARES, default="even",
                        help="the gate's --budget-share: the rounds the budget cannot pay for all go to every case within "
                             "reach by the same last round (even, default) or to each case only up to its own first plausible "
                             "round (nearest)")
    parser.add_argument("--load", action="store_true", help="start one CPU-bound process for the whole run")
    parser.add_argument("--config", default=str(ROOT / "asv.conf.json"))
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--ledger", help="'gate-tier': append each trial to this JSON-lines file; totals over all its trials")
    parser.add_argument("--reports", metavar="DIR",
                        help="'gate-tier': also write each trial's whole gate report (JSON, every case's rounds) into DIR")
    parser.add_argument("--replay-family-alpha", type=float, default=None, metavar="RATE",
                        help="measure nothing: judge the --ledger trials' kept rounds again at this family-wise "
                             f"false-alarm rate (the gate's is {FAMILY_ALPHA:g}) and print what it would have decided")
    parser.add_argument("--markdown", action="store_true",
                        help="measure nothing: print the README's table row for the --ledger trials taken with these "
                             "settings (--tier, --budget, --max-rounds, --interleave, --budget-share, --inject-case, --bench, --threads, "
                             "--load, --factor, and this tree's verdict and re-measure rules)")
    parser.add_argument("--write", metavar="README", default=None,
                        help="with --markdown: rewrite that row in place in this file (the table row naming the same "
                             "trials' first commit) instead of printing it")
    args = parser.parse_args(argv)
    # Separate runs are judged as `compare` judges history; the gate figures as `continuous` judges.
    if args.factor is not None and not args.factor > 1:
        parser.error(f"--factor {args.factor:g} must be above 1, e.g. 1.05")
    from torchperf_core.errors import TorchperfError
    from torchperf_core.gate import GatePlan

    if args.max_rounds is None:
        args.max_rounds = GatePlan(factor=GATE_FACTOR).max_rounds
    if args.family_alpha is None:
        args.family_alpha = GatePlan(factor=GATE_FACTOR).family_alpha
    try:  # the gate's own rules for its rounds and its rate
        GatePlan(factor=GATE_FACTOR, max_rounds=args.max_rounds, family_alpha=args.family_alpha)
    except TorchperfError as exc:
        parser.error(str(exc))
    for flag, text in (("--bench", args.bench), ("--inject-case", args.inject_case)):
        try:
            re.compile(text or "")
        except re.error as exc:
            parser.error(f"{flag} {text!r} is not a regular expression ({exc}); e.g. {DEFAULT_INJECT_CASE!r}")
    args.separate_factor = DEFAULT_FACTOR if args.factor is None else args.factor
    args.factor = GATE_FACTOR if args.factor is None else args.factor
    if args.replay_family_alpha is not None:
        try:
            parse_family_alpha(args.replay_family_alpha, "--replay-family-alpha")
        except TorchperfError as exc:
            parser.error(str(exc))
    if args.write is not None and not args.markdown:
        parser.error(f"--write {args.write} rewrites a README row; it goes with --markdown")
    return parser, args


def main(argv: list[str] | None = None) -> int:
    parser, args = parse_args(argv)
    if args.markdown:
        return print_ledger_row(parser, args)
    if args.replay_family_alpha is not None:
        return print_replay(parser, args)

    from torchperf_core.gate import commit_sides
    from torchperf_core.store import read_config

    conf = read_config(args.config)
    bench_dir = os.path.relpath(conf.benchmark_dir, conf.project_root)
    side, _ = commit_sides(conf.repo_dir or ROOT, "HEAD", "HEAD", bench_dir)
    os.environ["TORCHPERF_TIER"] = args.tier
    print(f"gate figures: {_machine()}; torch {_torch_version(side.python)}; tier {args.tier}; commit "
          f"{side.label}; factor {args.separate_factor:g} (separate), {args.factor:g} (gate); gate rounds up to "
          f"{args.max_rounds}, family-wise rate {args.family_alpha:g}", flush=True)
    rows: list[dict[str, Any]] = []
    with _Load(args.load) as load:
        for figure in args.figures:
            if figure == "separate":
                rows.append(figure_separate(args, side, load))
                _print(rows[-1])
            elif figure == "gate-aa":
                rows.append(figure_gate_aa(args, side, load))
                _print(rows[-1])
            elif figure == "inject":
                rows.append(figure_inject(args, side, load))
                _print(rows[-1])
            elif figure == "gate-tier":
                rows.append(figure_gate_tier(args, side, load))
                _print(rows[-1])
            else:
                for row in figure_versions(args, load):
                    rows.append(row)
                    _print(row)
    if args.json:
        Path(args.json).write_text(json.dumps({"format_version": GATE_FIGURES_FORMAT_VERSION, "machine": _machine(),
                                               "torch": _torch_version(side.python), "tier": args.tier,
                                               "figures": rows}, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Decide or re-measure: base and head interleaved in rounds of fresh processes (issue 11, part 4).

    cases = the suite's cases present on both sides (filtered by --bench)
    for round r in 0 .. rounds_min-1 (then only the undecided cases, `batch` rounds at a time):
        start one fresh worker per side (python + that side's code tree)
        for case i: time it on both sides, the first side alternating with (r + i) % 2 (ABBA
            across rounds, so neither side always runs first, cancelling position effects);
            sample by sample, the two sides taking turns (--interleave sample, the default, where
            both trees can pace: gate/pairs.py), else one side's whole measurement after the other's
        a round in which either side was disturbed is set aside (retaken by the next rounds)
    after the first rounds and after each batch ("a look"): judge_paired on the clean rounds at
        alpha = family_alpha / (cases * looks)  (--family-alpha, FAMILY_ALPHA by default; Bonferroni
        over cases and looks; the paired t-test and, once enough rounds could reach it, the signed-rank test share it);
        an undecided case that no plausible ratio could decide by max_rounds at its spread between
        rounds (verdict.out_of_reach) is not re-measured: its rounds go to the cases within reach;
        with --budget, "by max_rounds" becomes "by the rounds the budget affords" where that is
        fewer (`afford_rounds`: each case's seconds in the last round, the workers' start-up), or with
        --budget-share nearest, each case priced only up to its own first plausible round (`share_nearest`)
    stop when every case is decided, the rounds reach max_rounds, or --budget seconds are spent;
    undecided -> UNKNOWN ("re-measure"), never unchanged; no clean round at all but disturbed
    ones -> CONTENDED ("re-run on a quiet machine").

The first `rounds_min` rounds always run; the budget bounds the rounds added after them.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from torchperf_core.compare import CountBeside
from torchperf_core.errors import TorchperfError
from torchperf_core.gate.budget import BUDGET_RULES, BUDGET_SHARES
from torchperf_core.gate.pairs import INTERLEAVES, time_pair
from torchperf_core.gate.sides import GateSide
from torchperf_core.render import format_error_rate
from torchperf_core.verdict import (
    BOTH_FAILED,
    CONTENDED,
    FAILED,
    FAMILY_ALPHA,
    FASTER,
    FIXED,
    MIN_ROUNDS,
    ONLY_AFTER,
    ONLY_BEFORE,
    REGRESSION_VERDICTS,
    SAME,
    SKIPPED,
    SLOWER,
    UNKNOWN,
    PairedJudgement,
    contended_reason,
    judge_paired,
    SIGNED_RANK,
    out_of_reach,
    parse_family_alpha,
    per_case_alpha,
    signed_rank_note,
)

WORKER = Path(__file__).with_name("worker.py")
DECIDED = (SLOWER, FASTER, SAME)
TIME_UNIT = "seconds"
# Counted once per side under Callgrind (gate/counts.py), never timed (`_Worker.timed_cases`): its
# cases come back as count cases with `instructions` on.
COUNT_BENCHMARK = "bench_instructions.Instructions.track_instructions"


@dataclass(frozen=True)
class GatePlan:
    """The gate's options, validated at the edge (`commands/continuous`)."""

    factor: float
    rounds_min: int = 6
    batch: int = 4
    max_rounds: int = 30
    budget: float | None = None  # seconds from the start; the first rounds_min rounds run whatever it says
    threads: int | None = None
    bench: str | None = None  # regex on "benchmark(key)"
    tier: str = "default"
    instructions: bool = False  # also count instructions once per side (--metric instructions)
    interleave: str = "sample"  # INTERLEAVES; "sample" falls back to "case" where a tree cannot pace
    budget_share: str = "even"  # BUDGET_SHARES: which undecided cases the budget's rounds go to
    family_alpha: float = FAMILY_ALPHA  # false alarms the run allows over all its cases and looks (--family-alpha)

    def __post_init__(self) -> None:
        # The one rule for the rounds (the CLI and scripts/gate_figures.py both build a plan): a spread needs
        # MIN_ROUNDS rounds, and a maximum below the first rounds would never look at all.
        if self.rounds_min < MIN_ROUNDS:
            raise TorchperfError(f"--rounds-min {self.rounds_min} is below {MIN_ROUNDS}; give {MIN_ROUNDS} or more")
        if self.max_rounds < self.rounds_min:
            raise TorchperfError(f"--max-rounds {self.max_rounds} is below the first rounds (--rounds-min "
                                 f"{self.rounds_min}); give {self.rounds_min} or more, e.g. 30 or 60")
        if self.batch < 1:
            raise TorchperfError(f"--batch {self.batch} must be 1 or more")
        if self.interleave not in INTERLEAVES:
            raise TorchperfError(f"--interleave {self.interleave!r} is not one of {', '.join(INTERLEAVES)}")
        if self.budget_share not in BUDGET_SHARES:
            raise TorchperfError(f"--budget-share {self.budget_share!r} is not one of {', '.join(BUDGET_SHARES)}")
        if self.budget_share != "even" and self.budget is None:
            raise TorchperfError(f"--budget-share {self.budget_share} shares a --budget; give --budget SECONDS too")
        parse_family_alpha(self.family_alpha)

    @property
    def looks(self) -> int:
        """The most times a case is judged: after the first rounds, then after every batch."""
        return 1 + math.ceil(max(0, self.max_rounds - self.rounds_min) / self.batch)


class RoundPair(NamedTuple):
    """One clean round of a case: the evidence its verdict rests on, kept so that a report (JSON
    "per_round") and the figures can show which rounds moved it and whether the side that ran first
    read differently (a position effect: the ABBA order cancels it in the mean, not in the spread)."""

    round: int  # the round's number, as the progress lines count it (1 = the first)
    first: int  # 0: before ran first, 1: after ran first (`first_side`)
    before: float  # each side's median in that round
    after: float


def first_side(round_index: int, case_index: int) -> int:
    """0: before runs first, 1: after runs first; alternates by round and by case (ABBA)."""
    return (round_index + case_index) % 2


@dataclass(frozen=True)
class CaseOutcome:
    benchmark: str
    key: str
    verdict: str
    judgement: PairedJudgement | None
    before: float | None  # median of the clean rounds' medians
    after: float | None
    rounds: int  # clean rounds judged
    contended_rounds: int
    reason: str | None = None
    unit: str = TIME_UNIT  # or verdict.COUNT_UNIT: a count case (gate/counts.py), judged at `tolerance`
    tolerance: str | None = None
    instructions: CountBeside | None = None  # on a time case: the count case of the same op and inputs (as compare.Row)
    out_of_reach: bool = False  # undecided and no longer re-measured: its spread put a decision out of reach
    per_round: tuple[RoundPair, ...] = ()  # the clean rounds judged, in the order they ran

    @property
    def name(self) -> str:
        return f"{self.benchmark}{self.key}" if self.key != "()" else self.benchmark

    @property
    def ratio(self) -> float | None:
        """after / before: the paired rounds' estimate for a time, the plain quotient for a count."""
        if self.judgement is not None:
            return self.judgement.ratio
        if self.unit != TIME_UNIT and self.before and self.after is not None:
            return self.after / self.before
        return None


@dataclass(frozen=True)
class GateReport:
    before: GateSide
    after: GateSide
    plan: GatePlan
    alpha: float
    cases: tuple[CaseOutcome, ...]
    rounds: int  # rounds run in all
    seconds: float
    budget_spent: bool  # the budget ended the run: its clock ran out, or its last look set aside the last cases
    worker_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    notes: tuple[str, ...] = ()  # one line each: why a metric has no rows (no valgrind, no count benchmark)
    interleave: str = "case"  # how the rounds interleaved the sides: "sample" where both trees paced

    @property
    def exit_code(self) -> int:
        """1 only for decided regressions (slower, or newly failing); unknown/contended exit 0."""
        return 1 if any(c.verdict in REGRESSION_VERDICTS for c in self.cases) else 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.cases:
            out[c.verdict] = out.get(c.verdict, 0) + 1
        return out


class _Worker:
    """One fresh worker process for one side and one round."""

    def __init__(self, side: GateSide, env: Mapping[str, str], threads: int | None) -> None:
        self.side = side
        self._err = tempfile.TemporaryFile(mode="w+")
        cmd = [side.python, str(WORKER), "--benchmark-dir", str(side.benchmark_dir)]
        if threads:
            cmd += ["--threads", str(threads)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err,
                                     text=True, env=dict(env), cwd=str(side.benchmark_dir.parent))
        ready = self._read()  # {"ready": true, "pid", "paced"}
        self.pid = int(ready.get("pid") or self.proc.pid)
        self.can_pace = bool(ready.get("paced"))  # a tree older than sample pacing says nothing: False

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self._err.seek(0)
            tail = " | ".join(self._err.read().strip().splitlines()[-3:])
            raise TorchperfError(f"the gate's worker for {self.side.label} ({self.side.python}) stopped: {tail or 'no output'}")
        return json.loads(line)

    def ask(self, request: Mapping[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def timed_cases(self) -> list[tuple[str, str]]:
        """(benchmark, key) of every case this side lists, less the count cases: those are never
        timed (a Callgrind count per side, gate/counts.py, when asked for; timed, they only fail)."""
        return [(c["benchmark"], c["key"]) for c in self.ask({"op": "list"})["cases"] if c["benchmark"] != COUNT_BENCHMARK]

    def close(self) -> None:
        try:
            if self.proc.poll() is None and self.proc.stdin is not None:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.close()
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self._err.close()


def worker_env(side: GateSide, base: Mapping[str, str], plan: GatePlan) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in ("PYTHONPATH", "TORCHPERF_CASE_LOG")}  # not a `run`: log nothing
    env.update(side.env)
    env["PYTHONPATH"] = str(side.benchmark_dir.parent)  # the side's own torchperf_core and benchmarks
    env["TORCHPERF_TIER"] = plan.tier
    if plan.threads:
        env["OMP_NUM_THREADS"] = str(plan.threads)
    return env


@dataclass
class _Case:
    benchmark: str
    key: str
    index: int  # its place among all cases: the order alternates by it, whatever else dropped out
    pairs: list[RoundPair] = field(default_factory=list)
    contended: int = 0
    causes: list[str] = field(default_factory=list)
    final: str | None = None  # a verdict reached without judging (skip, failure)
    reason: str | None = None
    judgement: PairedJudgement | None = None
    out_of_reach: str | None = None  # why it is no longer re-measured (verdict.out_of_reach)
    budget_look: int | None = None  # the look (its round) at which the budget's rule set it aside (gate.budget)
    seconds: float = 0.0  # what its last round took, both sides: the budget's price of one more round


def _one_side_verdict(b: Mapping[str, Any], a: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """The bookkeeping verdict when a side skipped or failed (asv compare's table), else None."""
    if b.get("ok") and a.get("ok"):
        return None
    if "skip" in b or "skip" in a:
        return SKIPPED, b.get("skip") or a.get("skip")
    if not b.get("ok") and not a.get("ok"):
        return BOTH_FAILED, f"{b.get('error')} / {a.get('error')}"
    if b.get("ok"):
        return FAILED, a.get("error")
    return FIXED, b.get("error")


def _list_cases(workers: Sequence[_Worker], bench: str | None) -> tuple[list[_Case], list[CaseOutcome]]:
    pattern = re.compile(bench) if bench else None
    listed = [set(w.timed_cases()) for w in workers]
    keep = lambda k: pattern is None or pattern.search(f"{k[0]}{k[1]}") is not None  # noqa: E731
    both = sorted(k for k in listed[0] & listed[1] if keep(k))
    one_side = [CaseOutcome(n, k, ONLY_BEFORE, None, None, None, 0, 0) for n, k in sorted(listed[0] - listed[1]) if keep((n, k))]
    one_side += [CaseOutcome(n, k, ONLY_AFTER, None, None, None, 0, 0) for n, k in sorted(listed[1] - listed[0]) if keep((n, k))]
    return [_Case(n, k, i) for i, (n, k) in enumerate(both)], one_side


def run_once(side: GateSide, plan: GatePlan, base_env: Mapping[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    """One separate run of one side: a fresh worker measures every case (matching plan.bench) once.
    (benchmark, key) -> the worker's answer. For figures that need runs taken apart, not interleaved."""
    worker = _Worker(side, worker_env(side, base_env, plan), plan.threads)
    try:
        pattern = re.compile(plan.bench) if plan.bench else None
        out = {}
        for name, key in worker.timed_cases():
            if pattern is None or pattern.search(f"{name}{key}"):
                out[(name, key)] = worker.ask({"op": "run", "benchmark": name, "key": key})
        return out
    finally:
        worker.close()


def _judge(case: _Case, plan: GatePlan, alpha: float) -> None:
    before = [p.before for p in case.pairs]
    after = [p.after for p in case.pairs]
    case.judgement = judge_paired(before, after, plan.factor, alpha)
    # The clean rounds --max-rounds still allows it: every round it was measured in gave a clean pair or a
    # disturbed one, so a disturbed round spent one of them. Set here, before either budget rule prices the
    # cases, so that a case short of reach by --max-rounds is the max-rounds rule's under both rules (the even
    # rule counted it as the budget's, or re-measured it to the end where the budget sufficed).
    why = f" (--max-rounds {plan.max_rounds} less {case.contended} disturbed)" if case.contended else ""
    case.out_of_reach = out_of_reach(case.judgement, plan.factor, plan.max_rounds - case.contended, why)


def run_gate(
    before: GateSide,
    after: GateSide,
    plan: GatePlan,
    *,
    base_env: Mapping[str, str],
    progress: Callable[[str], None] = lambda line: None,
    clock: Callable[[], float] = time.monotonic,
) -> GateReport:
    """Run the rounds and judge every case (see the module docstring)."""
    start = clock()
    envs = [worker_env(before, base_env, plan), worker_env(after, base_env, plan)]
    cases: list[_Case] = []
    finished: list[CaseOutcome] = []
    alpha = 1.0
    active: list[_Case] = []
    rounds = judged = 0
    budget_spent = False
    paced = plan.interleave == "sample"
    notes: tuple[str, ...] = ()
    while True:
        if rounds >= plan.rounds_min:
            active = [c for c in cases if c.final is None and c.out_of_reach is None
                      and (c.judgement is None or c.judgement.verdict not in DECIDED)]
            if not active or rounds >= plan.max_rounds:
                # the budget ended the run if its rule set aside the last cases still re-measured at this
                # round's look, though seconds are left: they pay for no case's next plausible decision
                budget_spent = not active and any(c.budget_look == rounds for c in cases)
                break
            if plan.budget is not None and clock() - start >= plan.budget:
                budget_spent = True
                break
            far = sum(c.out_of_reach is not None and c.budget_look is None for c in cases)
            aside = sum(c.budget_look is not None for c in cases)
            stopped = [f"{far} out of reach by --max-rounds"] * bool(far) \
                + [f"{aside} set aside by the budget"] * bool(aside)
            progress(f"round {rounds + 1}: re-measuring {len(active)} undecided case(s)"
                     + (f"; {', '.join(stopped)}, not re-measured" if stopped else ""))
        round_start = clock()
        workers = [_Worker(before, envs[0], plan.threads), _Worker(after, envs[1], plan.threads)]
        try:
            if rounds == 0:
                cases, finished = _list_cases(workers, plan.bench)
                if not cases:
                    raise TorchperfError(f"no benchmark case on both sides matches --bench {plan.bench!r}" if plan.bench
                                         else "no benchmark case found on both sides")
                alpha = per_case_alpha(len(cases), plan.looks, plan.family_alpha)
                old = [w.side.label for w in workers if not w.can_pace]
                if paced and old:
                    paced = False
                    notes = (f"cases alternated whole, not sample by sample: the tree of {' and '.join(old)} "
                             f"predates sample pacing",)
                    progress(notes[0])
                progress(f"{len(cases)} case(s); per-case alpha {alpha:.2g} (family-wise {format_error_rate(plan.family_alpha)} over "
                         f"{len(cases)} cases x {plan.looks} looks)")
            if rounds < plan.rounds_min:
                active = [c for c in cases if c.final is None]
                progress(f"round {rounds + 1}/{plan.rounds_min}: {len(active)} case(s)")
            for case in active:
                order = (0, 1) if first_side(rounds, case.index) == 0 else (1, 0)
                case_start = clock()
                out = time_pair(workers, order, {"op": "run", "benchmark": case.benchmark, "key": case.key},
                                paced=paced)
                case.seconds = clock() - case_start
                bookkeeping = _one_side_verdict(out[0], out[1])
                if bookkeeping is not None:
                    case.final, case.reason = bookkeeping
                elif out[0].get("contended") or out[1].get("contended"):
                    case.contended += 1
                    case.causes += [str(o["cause"]) for o in out if o.get("contended") and o.get("cause")]
                else:
                    case.pairs.append(RoundPair(rounds + 1, order[0], float(out[0]["median"]), float(out[1]["median"])))
        finally:
            for w in workers:
                w.close()
        overhead = clock() - round_start - sum(c.seconds for c in active)  # the workers' start-up and listing
        rounds += 1
        if rounds >= plan.rounds_min and (rounds - plan.rounds_min) % plan.batch == 0:
            judged = rounds
            for c in cases:
                if c.final is None and c.out_of_reach is None:  # out of reach: no new rounds since
                    _judge(c, plan, alpha)
            if plan.budget is not None:
                left = plan.budget - (clock() - start)
                BUDGET_RULES[plan.budget_share](cases, plan, rounds, left, max(0.0, overhead))
    if judged != rounds:  # stopped inside a batch: its rounds get the look they were counted for
        for c in cases:
            if c.final is None and c.out_of_reach is None:
                _judge(c, plan, alpha)
    outcomes = [_outcome(c) for c in cases] + finished
    return GateReport(before, after, plan, alpha, tuple(outcomes), rounds, clock() - start, budget_spent, envs[1],
                      notes, "sample" if paced else "case")


def _outcome(c: _Case) -> CaseOutcome:
    b = statistics.median([p.before for p in c.pairs]) if c.pairs else None
    a = statistics.median([p.after for p in c.pairs]) if c.pairs else None
    if c.final is not None:
        return CaseOutcome(c.benchmark, c.key, c.final, None, b, a, len(c.pairs), c.contended, c.reason,
                           per_round=tuple(c.pairs))
    j = c.judgement
    verdict = j.verdict if j is not None else UNKNOWN
    reason = contended_reason(len(c.pairs), c.contended, c.causes[-1] if c.causes else None) \
        if verdict == UNKNOWN else None
    # a case set aside with too few clean rounds (`share_nearest`: none clean, never within its budget) is
    # CONTENDED, not out of reach: its remedy is a quiet machine
    if reason is not None:
        verdict = CONTENDED
    elif verdict == UNKNOWN:
        reason = c.out_of_reach or f"undecided after {len(c.pairs)} clean round(s): re-measure (more rounds or --budget)"
    elif j is not None and j.decided_by == SIGNED_RANK:
        reason = signed_rank_note(j)
    return CaseOutcome(c.benchmark, c.key, verdict, j, b, a, len(c.pairs), c.contended, reason,
                       out_of_reach=verdict == UNKNOWN and c.out_of_reach is not None, per_round=tuple(c.pairs))

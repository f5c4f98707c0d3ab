"""Verdicts that hold against the drift between runs, not only the spread within one (issue 11).

Two separately measured sides (two `torchperf run`s, minutes or days apart) differ by more than
their samples say: on a quiet 2-core VM identical code read ×1.65 between two runs while each run's
samples were tight, so asv's rule (Mann–Whitney on the raw samples of *one* run per side) called
drift a change. The unit that drifts is the run, so the replicate is the run: each side's
`run_medians` (one median per separate `torchperf run` of that commit and environment) are the
observations, and a change is declared only when both agree:

    asv_verdict, loose = judge(before, after, factor)       # within the last run (asv's rule)
    if a side is contended                     -> CONTENDED  (re-run on a quiet machine)
    if both sides have >= MIN_RUNS run medians:
        r = geometric-mean ratio of the run medians; p = Welch t-test on their logs
        r inside [1/factor, factor]            -> SAME
        r beyond the factor, p < P_BETWEEN and asv's verdict points the same way
            and the two sides' runs interleave in time                          -> SLOWER/FASTER
            ... but one side's runs all came before the other's                 -> UNKNOWN
        otherwise                              -> UNKNOWN   (re-measure: more runs)
    else (one or two runs per side):
        asv says SAME within the factor        -> SAME
        anything else (slower, faster, ~)      -> UNKNOWN   ("one run per side: re-measure")

MIN_RUNS is 3, not 2: with two runs a side the spread rests on one difference per side and the
t-test has ~2 degrees of freedom (99% needs t > 9.9), so only a many-fold change could be decided
and a pair of runs that happen to agree says nothing about the next one; at three a side the
critical value falls to ~4.6 and each side's spread is an estimate, not a coincidence. P_BETWEEN is
Pinpoint's "different" threshold (p <= 0.01), applied on top of asv's p < 0.002 within the run.

Pure functions, no I/O: `compare` and the site both call `judge_separate`, so they cannot disagree.
The gate (sides measured together, round by round) is judged by `verdict.paired`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from torchperf_core.verdict.significance import CONTENDED, FASTER, SAME, SLOWER, UNKNOWN, Judgeable, judge
from torchperf_core.verdict.tdist import t_ppf, t_two_sided_p

MIN_RUNS = 3
P_BETWEEN = 0.01
BETWEEN_CI = 0.99  # the confidence of the between-run interval shown beside a verdict


@dataclass(frozen=True)
class BetweenRuns:
    """The runs behind each side and how far apart they lie (issue 11, part 3)."""

    runs_before: int
    runs_after: int
    spread: float | None  # the larger side's (max - min) / median of its run medians; None: < 2 runs
    ratio: float | None = None  # geometric mean after / before of the run medians (replicated only)
    ci: tuple[float, float] | None = None  # BETWEEN_CI interval of that ratio (Welch, on logs)
    p: float | None = None  # Welch t-test, two-sided, on the log run medians

    @property
    def replicated(self) -> bool:
        return self.runs_before >= MIN_RUNS and self.runs_after >= MIN_RUNS


@dataclass(frozen=True)
class Judgement:
    """A verdict between separately measured sides, with the evidence beside it."""

    verdict: str
    beyond_factor_only: bool  # asv's "~": the ratio alone exceeds the factor
    between: BetweenRuns
    reason: str | None = None  # why the verdict is undecided (unknown / contended)


def _relative_range(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    ordered = sorted(values)
    mid = ordered[len(ordered) // 2] if len(ordered) % 2 else 0.5 * (ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2])
    return (ordered[-1] - ordered[0]) / mid if mid > 0 else None


def _mean_var(logs: Sequence[float]) -> tuple[float, float]:
    mean = sum(logs) / len(logs)
    return mean, sum((x - mean) ** 2 for x in logs) / (len(logs) - 1)


def between_runs(before_runs: Sequence[float], after_runs: Sequence[float]) -> BetweenRuns:
    """Spread of each side's run medians; with MIN_RUNS a side, the ratio, its CI and Welch's p."""
    b = [float(x) for x in before_runs if x is not None and math.isfinite(x) and x > 0]
    a = [float(x) for x in after_runs if x is not None and math.isfinite(x) and x > 0]
    spreads = [s for s in (_relative_range(b), _relative_range(a)) if s is not None]
    spread = max(spreads) if spreads else None
    if len(b) < MIN_RUNS or len(a) < MIN_RUNS:
        return BetweenRuns(len(b), len(a), spread)
    mb, vb = _mean_var([math.log(x) for x in b])
    ma, va = _mean_var([math.log(x) for x in a])
    diff = ma - mb
    se2 = vb / len(b) + va / len(a)
    if se2 == 0.0:
        p = 0.0 if diff != 0.0 else 1.0
        return BetweenRuns(len(b), len(a), spread, math.exp(diff), (math.exp(diff), math.exp(diff)), p)
    df = se2**2 / ((vb / len(b)) ** 2 / (len(b) - 1) + (va / len(a)) ** 2 / (len(a) - 1))
    se = math.sqrt(se2)
    half = t_ppf(0.5 + BETWEEN_CI / 2, df) * se
    ci = (math.exp(diff - half), math.exp(diff + half))
    return BetweenRuns(len(b), len(a), spread, math.exp(diff), ci, t_two_sided_p(diff / se, df))


def interleaved(before_times: Sequence[float], after_times: Sequence[float], between: BetweenRuns) -> bool:
    """Whether the two sides' runs overlap in time (neither side entirely before the other).

    Times that were not recorded for every run (hand-written records) are taken as interleaved:
    every record `torchperf run` writes carries them."""
    if len(before_times) != between.runs_before or len(after_times) != between.runs_after:
        return True
    if not before_times or not after_times:
        return True
    return not (max(before_times) < min(after_times) or max(after_times) < min(before_times))


def _runs_or_value(runs: Sequence[float], side: Judgeable | None) -> tuple[float, ...]:
    """The side's run medians; a side without them is the one run asv stored."""
    if runs:
        return tuple(runs)
    value = side.value if side is not None and not side.is_missing else None
    return (float(value),) if value is not None else ()


def judge_separate(
    before: Judgeable | None,
    after: Judgeable | None,
    factor: float,
    *,
    before_runs: Sequence[float] = (),
    after_runs: Sequence[float] = (),
    contended: tuple[bool, bool] = (False, False),
    before_times: Sequence[float] = (),
    after_times: Sequence[float] = (),
) -> Judgement:
    """The verdict between two separately measured sides (see the module docstring for the table).

    `before_runs`/`after_runs`: each side's run medians, oldest first (empty: asv's one result).
    `contended`: whether each side's measurement was disturbed (the run's contention sidecar).
    `before_times`/`after_times`: when each of those runs was taken (epoch seconds; empty: not
    recorded). Runs of one side all taken before any of the other's confound the change with the
    machine's drift over time, which replicates within a side cannot measure: such a change is
    *unknown* (an A/A of 3 runs a side, one side after the other, on the quiet 2-core VM: 5 of 17
    cases "slower" by that drift, 0 once the sides' runs were required to interleave).
    """
    verdict, loose = judge(before, after, factor)
    between = between_runs(_runs_or_value(before_runs, before), _runs_or_value(after_runs, after))
    if verdict not in (SLOWER, FASTER, SAME):
        return Judgement(verdict, loose, between)  # failed, skipped, one side only, ...: as asv says
    if contended[0] or contended[1]:
        where = "both sides" if contended[0] and contended[1] else ("before" if contended[0] else "after")
        return Judgement(CONTENDED, loose, between, f"contended {where}: re-run on a quiet machine")
    if not between.replicated:
        if verdict == SAME and not loose:
            return Judgement(SAME, loose, between)
        runs = min(between.runs_before, between.runs_after)
        what = "one run" if runs <= 1 else f"{runs} runs"
        return Judgement(UNKNOWN, loose, between, f"{what} per side (need {MIN_RUNS}): re-measure")
    ratio, p = between.ratio, between.p
    assert ratio is not None and p is not None  # replicated
    if 1.0 / factor <= ratio <= factor:
        return Judgement(SAME, loose, between)
    direction = SLOWER if ratio > factor else FASTER
    if p < P_BETWEEN and verdict == direction and not interleaved(before_times, after_times, between):
        return Judgement(UNKNOWN, loose, between,
                         f"×{ratio:.3f}, but every run of one side came before the other's: the machine's drift "
                         "over time cannot be told from a change; decide it with `torchperf continuous` (or "
                         "`torchperf run --rounds 3` over both sides, which alternates them)")
    if p < P_BETWEEN and verdict == direction:
        return Judgement(direction, loose, between)
    if p < P_BETWEEN:
        why = f"×{ratio:.3f} between runs (p={p:.2g}) but not significant within the last run"
    else:
        why = f"×{ratio:.3f} between runs, not significant (p={p:.2g}, needs < {P_BETWEEN:g})"
    return Judgement(UNKNOWN, loose, between, why + ": re-measure")

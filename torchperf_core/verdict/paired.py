"""The gate's verdict: two sides measured together, round by round (issue 11, part 4).

Each round runs both sides in fresh processes, interleaved case by case, so the drift of the
machine between rounds hits both sides alike; the replicate is the round, and the observation is
the log of the per-round ratio of medians, paired by round. A paired t-test on those logs decides
"different", and an equivalence interval (TOST, Pinpoint-style) decides "same":

    d_i = log(after_median_i / before_median_i)      for each clean round i (n of them)
    r   = exp(mean d);  t = mean d / (sd d / sqrt n);  p = two-sided t-test, n - 1 df
    p < alpha and r beyond the factor                -> SLOWER / FASTER
    the (1 - 2 * EQUIVALENCE_ALPHA) CI of r inside [1/factor, factor] -> SAME
    otherwise                                        -> UNKNOWN: more rounds, or "re-measure"

False alarms across many cases and repeated looks (Bonferroni): the gate states one family-wise
target, FAMILY_ALPHA = 5% per gate run over all cases, and tests each case at

    alpha = FAMILY_ALPHA / (cases * looks)

where `looks` is the most times a case can be judged (after the first rounds, then after each batch
of added rounds). For ~150 cases and 7 looks that is 0.05 / 1050 = 4.8e-5 per test. asv's p < 0.002
per case would give ~150 * 0.002 = 0.3 expected false alarms per run, before counting re-looks.
Bonferroni needs no independence between cases (they share a machine, so they are not
independent) and stays valid when the undecided cases are re-tested after more rounds. A wrong SAME
(missing a change beyond the factor) is bounded per case by EQUIVALENCE_ALPHA (5%).

Pure functions, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from torchperf_core.errors import TorchperfError
from torchperf_core.verdict.significance import CONTENDED, FASTER, NEXT_STEP, SAME, SLOWER, UNKNOWN
from torchperf_core.verdict.tdist import t_ppf, t_two_sided_p

FAMILY_ALPHA = 0.05  # false alarms per gate run, over all cases and looks
EQUIVALENCE_ALPHA = 0.05  # each one-sided test of TOST: a 90% interval must fit inside the factor
MIN_ROUNDS = 3  # fewer clean rounds cannot estimate the spread between rounds
# The gate's default factor, smaller than compare's DEFAULT_FACTOR (1.07, which separate runs need:
# their level drifts by several % between runs). Paired rounds cancel that drift (each round measures
# both sides within seconds of each other, in ABBA order), so the gate can afford to look for smaller
# changes: with 1.07 an injected +5% on fp32 mm 1024 was never "slower" (1/5 trials, and that one a
# lucky draw); a false alarm still needs p below the Bonferroni threshold, which the factor does not
# loosen. What a smaller factor costs is time: "same" needs the 90% interval inside [1/1.03, 1.03],
# so noisy cases take more rounds or end unknown. Measured: docs/GATE.md, scripts/gate_figures.py.
GATE_FACTOR = 1.03
# The futility rule's "plausible": a two-sided 80% interval of the true mean log ratio. A case is
# out of reach when no ratio in it could be decided by the last round at the spread seen so far.
PLAUSIBLE_ALPHA = 0.2


def per_case_alpha(cases: int, looks: int, family_alpha: float = FAMILY_ALPHA) -> float:
    """Bonferroni over cases and looks: the p-value a single case must beat."""
    if cases < 1 or looks < 1:
        raise TorchperfError(f"per_case_alpha needs >= 1 case and look, got cases={cases}, looks={looks}")
    return family_alpha / (cases * looks)


@dataclass(frozen=True)
class PairedJudgement:
    """One case's verdict from paired rounds, with what it rests on."""

    verdict: str
    rounds: int  # clean rounds judged
    ratio: float | None  # geometric mean of the per-round after/before ratios
    ci: tuple[float, float] | None  # the equivalence interval of the ratio (1 - 2*EQUIVALENCE_ALPHA)
    p: float | None  # paired t-test, two-sided
    spread: float | None  # standard deviation of the per-round log ratios (~ relative spread)
    alpha: float  # the per-case threshold p had to beat


def judge_paired(before: Sequence[float], after: Sequence[float], factor: float, alpha: float) -> PairedJudgement:
    """The verdict on per-round medians paired by round (`before[i]` and `after[i]`: round i)."""
    if len(before) != len(after):
        raise ValueError(f"rounds are paired: {len(before)} before vs {len(after)} after")
    logs = [math.log(a / b) for b, a in zip(before, after) if b > 0 and a > 0 and math.isfinite(a / b)]
    n = len(logs)
    if n < MIN_ROUNDS:
        ratio = math.exp(sum(logs) / n) if n else None
        return PairedJudgement(UNKNOWN, n, ratio, None, None, None, alpha)
    mean = sum(logs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (n - 1))
    se = sd / math.sqrt(n)
    ratio = math.exp(mean)
    if se == 0.0:
        p = 0.0 if mean != 0.0 else 1.0
        ci = (ratio, ratio)
    else:
        p = t_two_sided_p(mean / se, n - 1)
        half = t_ppf(1.0 - EQUIVALENCE_ALPHA, n - 1) * se
        ci = (math.exp(mean - half), math.exp(mean + half))
    if p < alpha and ratio > factor:
        verdict = SLOWER
    elif p < alpha and ratio < 1.0 / factor:
        verdict = FASTER
    elif 1.0 / factor < ci[0] and ci[1] < factor:
        verdict = SAME
    else:
        verdict = UNKNOWN
    return PairedJudgement(verdict, n, ratio, ci, p, sd, alpha)


def out_of_reach(j: PairedJudgement, factor: float, max_rounds: int) -> str | None:
    """Why an undecided case cannot be decided within `max_rounds` clean rounds, or None.

    Futility stopping: rounds spent on such a case are lost to the cases that can still be decided
    (the budget is shared). With the spread s between rounds seen so far and m = max_rounds, at the
    last round

        "same" needs  |mean| < log(factor) - t(1 - EQUIVALENCE_ALPHA, m-1) * s / sqrt(m)
        a change needs |mean| > max(log(factor), t(1 - alpha/2, m-1) * s / sqrt(m))

    and the case is out of reach when no true mean log ratio in the plausible interval (mean +-
    t(1 - PLAUSIBLE_ALPHA/2, n-1) * s / sqrt(n)) meets either. Stopping early only removes chances
    to reject, so the false-alarm bound (Bonferroni over cases and looks) is unchanged; the verdict
    stays UNKNOWN, never SAME."""
    if j.verdict != UNKNOWN or j.p is None or not j.spread or j.ratio is None or j.rounds >= max_rounds:
        return None
    n, m, s = j.rounds, max_rounds, j.spread
    mean = math.log(j.ratio)
    same_zone = math.log(factor) - t_ppf(1.0 - EQUIVALENCE_ALPHA, m - 1) * s / math.sqrt(m)
    change_zone = max(math.log(factor), t_ppf(1.0 - j.alpha / 2.0, m - 1) * s / math.sqrt(m))
    half = t_ppf(1.0 - PLAUSIBLE_ALPHA / 2.0, n - 1) * s / math.sqrt(n)
    lo, hi = mean - half, mean + half
    if same_zone > 0.0 and lo < same_zone and hi > -same_zone:
        return None
    if hi > change_zone or lo < -change_zone:
        return None
    return (f"undecided after {n} clean round(s) and out of reach: at its spread between rounds ({s:.1%}), "
            f"{m} rounds could decide only a change beyond x{math.exp(change_zone):.3f}: re-measure on a quieter machine")


def contended_reason(clean: int, disturbed: int, cause: str | None, needed: int = MIN_ROUNDS) -> str | None:
    """Why a paired decision is CONTENDED, or None when it is not.

    Rounds in which a side's measurement was disturbed (the engine's contention probe) are never
    judged, so a decision that ends with fewer than `needed` clean rounds while some were set aside
    could not be made because of the machine, not the code: "re-run on a quiet machine", never a
    verdict. One rule and one wording for every surface that takes paired rounds (gate, bisect)."""
    if clean >= needed or disturbed < 1:
        return None
    return f"{disturbed} round(s) disturbed ({cause or 'the machine was busy'}): {NEXT_STEP[CONTENDED]}"

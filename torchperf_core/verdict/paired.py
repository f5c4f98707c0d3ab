"""The gate's verdict: two sides measured together, round by round (issue 11, part 4).

Each round runs both sides in fresh processes, interleaved case by case, so the drift of the
machine between rounds hits both sides alike; the replicate is the round, and the observation is
the log of the per-round ratio of medians, paired by round. Two tests decide "different", sharing
the case's alpha, and an equivalence interval (TOST, Pinpoint-style) decides "same":

    d_i = log(after_median_i / before_median_i)      for each clean round i (n of them)
    paired t-test:   r = exp(mean d);  t = mean d / (sd d / sqrt n);  p two-sided, n - 1 df
    signed-rank:     r_HL = exp(Hodges-Lehmann estimate: the median of the Walsh averages);
                     p = Wilcoxon's exact two-sided p (every sign pattern counted; ties by mid-rank)
    either test with p below its share and its ratio beyond the factor  -> SLOWER / FASTER
    the (1 - 2 * EQUIVALENCE_ALPHA) t interval of r inside [1/factor, factor] -> SAME
    otherwise                                        -> UNKNOWN: more rounds, or "re-measure"

Why two tests. On a shared host a few rounds come back with one side slowed by 30-70% (measured:
3 of 18 rounds of fp32 mm 1024, the contention probe silent). The t-test's spread follows those
rounds, so a real +5% stays undecided however many rounds are added (simulated at 30 rounds and the
tier's alpha, scripts/paired_null_rates.py --ratio 1.05: the t-test alone detects +5% in 3.5% of
draws with 15% of the rounds slowed on one side and 13% with 15% far off either way; this rule 33%
and 46%, and 64% against the t-test's 70% under plain normal noise). The signed-rank test gives
such a round one rank, whatever its size, and its p is exact for any noise symmetric about no
change (its false-alarm rate at most its share of alpha), with no calibration; but it is discrete:
no p below 2 / 2**n, so it cannot reach the gate's per-case alpha before ~17 rounds.
The split: the signed-rank test gets alpha / 2 at a look only when 2 / 2**n <= alpha / 2 (it could
reject), the t-test the rest (all of alpha at the early looks, where it alone can decide a large
change). Either rejecting at its share keeps the case's false-alarm rate <= alpha (union bound).

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

import functools
import math
import statistics
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
# Which test decided a SLOWER / FASTER (PairedJudgement.decided_by). PAIRED_RULE names the rule for
# figures' ledgers (trials are summed only within one rule): change it when the rule changes.
T_TEST = "paired t-test"
SIGNED_RANK = "signed-rank test"
PAIRED_RULE = "t-test or signed-rank, alpha shared"
# Hodges-Lehmann's efficiency against the t-test under normal noise (3/pi): the futility rule's
# reach of the signed-rank test is the t-test's at 3/pi of the rounds (an approximation).
_RANK_EFFICIENCY = 3.0 / math.pi
_MAD_TO_SD = 1.4826  # MAD * this = the standard deviation, for normal noise


def parse_family_alpha(text: str | float, flag: str = "--family-alpha") -> float:
    """A family-wise false-alarm rate as a flag gives it: a number above 0 and below 1."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not 0 < value < 1:  # nan fails too
        shown = f"{text:g}" if isinstance(text, float) else repr(text)  # a parsed flag as typed, a string quoted
        raise TorchperfError(f"{flag} {shown} is not a rate above 0 and below 1; give e.g. {FAMILY_ALPHA:g} "
                             f"(the gate's default) or 0.01")
    return value


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
    ratio: float | None  # the estimate the verdict rests on: robust_ratio when the signed-rank test
    #                      decided it, else the geometric mean of the per-round after/before ratios
    ci: tuple[float, float] | None  # the equivalence interval of the ratio (1 - 2*EQUIVALENCE_ALPHA)
    p: float | None  # paired t-test, two-sided
    spread: float | None  # standard deviation of the per-round log ratios (~ relative spread)
    alpha: float  # the per-case threshold, shared by the two tests (`alpha_shares`)
    rank_p: float | None = None  # Wilcoxon signed-rank, exact two-sided; None when it had no share
    robust_ratio: float | None = None  # exp(Hodges-Lehmann estimate of the mean log ratio)
    robust_spread: float | None = None  # 1.4826 * MAD of the per-round log ratios: the spread of most rounds
    decided_by: str | None = None  # T_TEST or SIGNED_RANK on SLOWER / FASTER, else None

    @property
    def deciding_p(self) -> float | None:
        """The p of the test that decided (the t-test's while undecided): the one to show beside
        `ratio`, which is that test's estimate."""
        return self.rank_p if self.decided_by == SIGNED_RANK else self.p


def alpha_shares(rounds: int, alpha: float) -> tuple[float, float]:
    """(t-test's, signed-rank test's) share of a case's alpha at a look with `rounds` clean rounds:
    half each when the signed-rank test could reject (its smallest p, 2 / 2**n, within alpha / 2),
    else all of it to the t-test."""
    rank = alpha / 2.0 if rounds >= 1 and 2.0 / 2.0**rounds <= alpha / 2.0 else 0.0
    return alpha - rank, rank


def signed_rank_rounds(alpha: float) -> int:
    """The fewest clean rounds at which the signed-rank test gets a share of `alpha` (17 at ~5e-5)."""
    if not 0.0 < alpha < 1.0:
        raise TorchperfError(f"alpha {alpha!r} must be between 0 and 1")
    n = 1
    while alpha_shares(n, alpha)[1] == 0.0:
        n += 1
    return n


@functools.lru_cache(maxsize=256)
def _sign_pattern_counts(scores: tuple[int, ...]) -> tuple[int, ...]:
    """counts[w]: how many of the 2**n sign patterns give a sum of positive scores of w."""
    counts = [1] + [0] * sum(scores)
    top = 0
    for s in scores:
        top += s
        for w in range(top, s - 1, -1):
            counts[w] += counts[w - s]
    return tuple(counts)


def signed_rank_p(logs: Sequence[float]) -> float:
    """Wilcoxon's signed-rank test of "centred on 0", exact and two-sided: zeros are dropped, ties
    in |d| get their mid-rank, and the null distribution is counted over every sign pattern of those
    ranks (so it stays exact with ties). Exact for any noise symmetric about 0."""
    d = sorted((x for x in logs if x != 0.0), key=abs)
    n = len(d)
    if n == 0:
        return 1.0
    scores = [0] * n  # twice the mid-rank: an integer
    i = 0
    while i < n:
        j = i
        while j + 1 < n and abs(d[j + 1]) == abs(d[i]):
            j += 1
        for k in range(i, j + 1):
            scores[k] = i + j + 2
        i = j + 1
    w = sum(s for s, x in zip(scores, d) if x > 0)
    counts = _sign_pattern_counts(tuple(sorted(scores)))
    low, high = sum(counts[: w + 1]), sum(counts[w:])
    return min(1.0, 2.0 * min(low, high) / 2.0**n)


def hodges_lehmann(logs: Sequence[float]) -> float:
    """The signed-rank test's estimate: the median of the Walsh averages (d_i + d_j) / 2, i <= j."""
    return statistics.median((logs[i] + logs[j]) / 2.0 for i in range(len(logs)) for j in range(i, len(logs)))


def log_ratio(before: float, after: float) -> float | None:
    """One round's observation, log(after / before); None where it is not a finite number (a zero or
    negative median): such a round is left out, by the verdict and by the figures alike."""
    if before > 0 and after > 0 and math.isfinite(after / before):
        return math.log(after / before)
    return None


def judge_paired(before: Sequence[float], after: Sequence[float], factor: float, alpha: float) -> PairedJudgement:
    """The verdict on per-round medians paired by round (`before[i]` and `after[i]`: round i)."""
    if len(before) != len(after):
        raise ValueError(f"rounds are paired: {len(before)} before vs {len(after)} after")
    logs = [d for d in (log_ratio(b, a) for b, a in zip(before, after)) if d is not None]
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
    alpha_t, alpha_rank = alpha_shares(n, alpha)
    rank_p = signed_rank_p(logs) if alpha_rank > 0.0 else None
    centre = statistics.median(logs)
    robust = dict(rank_p=rank_p, robust_ratio=math.exp(hodges_lehmann(logs)),
                  robust_spread=_MAD_TO_SD * statistics.median(abs(x - centre) for x in logs))
    changes = [(SLOWER if estimate > factor else FASTER, estimate, by)
               for decided, estimate, by in ((p < alpha_t, ratio, T_TEST),
                                             (rank_p is not None and rank_p <= alpha_rank, robust["robust_ratio"], SIGNED_RANK))
               if decided and (estimate > factor or estimate < 1.0 / factor)]
    if len({verdict for verdict, _, _ in changes}) == 1:
        verdict, estimate, by = changes[0]  # the t-test's when both decide: the ratio is its test's estimate
        return PairedJudgement(verdict, n, estimate, ci, p, sd, alpha, decided_by=by, **robust)
    if changes:  # the two tests decided opposite directions: a few rounds far off one way, most the other
        return PairedJudgement(UNKNOWN, n, ratio, ci, p, sd, alpha, **robust)
    verdict = SAME if 1.0 / factor < ci[0] and ci[1] < factor else UNKNOWN
    return PairedJudgement(verdict, n, ratio, ci, p, sd, alpha, **robust)


def out_of_reach(j: PairedJudgement, factor: float, max_rounds: int, why: str = "") -> str | None:
    """Why an undecided case cannot be decided within the plan's `max_rounds` clean rounds (`reach`), or None;
    `why` says where that count came from where it is not the plan's own (" (--max-rounds 60 less 40 disturbed)").
    (A budget that affords fewer rounds writes its own note: gate.budget.)"""
    beyond = reach(j, factor, max_rounds)
    if beyond is None:
        return None
    return (f"undecided after {j.rounds} clean round(s) and out of reach: at its spread between rounds "
            f"({spread_text(j, max_rounds)}), {max_rounds} rounds{why} could decide only a change beyond "
            f"x{beyond:.3f}: re-measure on a quieter machine")


def reach(j: PairedJudgement, factor: float, max_rounds: int) -> float | None:
    """The smallest change (a ratio, x1.068) that `max_rounds` clean rounds could decide for an undecided case
    judged `j`, where the case is out of their reach; None where it is within reach (or decided, or judged at
    its last round, or with no spread to judge reach by).

    Futility stopping: rounds spent on such a case are lost to the cases that can still be decided
    (the budget is shared). With the spread s between rounds seen so far, m = max_rounds, and
    alpha_t the t-test's share of alpha at m rounds (`alpha_shares`), at the last round

        "same" needs  |mean| < log(factor) - t(1 - EQUIVALENCE_ALPHA, m-1) * s / sqrt(m)
        the t-test    |mean| > max(log(factor), t(1 - alpha_t/2, m-1) * s / sqrt(m))

    and the signed-rank test, where it has a share alpha_r at m rounds, the same with its own
    estimate and spread (Hodges-Lehmann, robust_spread) and 3/pi of the rounds (its efficiency
    under normal noise: an approximation, which is enough to decide where rounds are spent). The
    case is out of reach when no true value in any test's plausible interval (estimate +-
    t(1 - PLAUSIBLE_ALPHA/2, n-1) * spread / sqrt(n)) meets its zone. Stopping early only removes
    chances to reject, so the false-alarm bound is unchanged; the verdict stays UNKNOWN, never SAME."""
    if j.verdict != UNKNOWN or j.p is None or not j.spread or j.ratio is None or j.rounds >= max_rounds:
        return None
    n, m, s = j.rounds, max_rounds, j.spread
    alpha_t, alpha_rank = alpha_shares(m, j.alpha)
    plausible = t_ppf(1.0 - PLAUSIBLE_ALPHA / 2.0, n - 1)
    same_zone = math.log(factor) - t_ppf(1.0 - EQUIVALENCE_ALPHA, m - 1) * s / math.sqrt(m)
    if same_zone > 0.0 and abs(math.log(j.ratio)) - plausible * s / math.sqrt(n) < same_zone:
        return None
    # (estimate, spread, share of alpha, at rounds, as effective rounds): the t-test at the last round,
    # and, when the signed-rank test has a share there, also the t-test with the whole alpha at the
    # last round without one (its zone can be the smaller) and the signed-rank test at the last round
    tests = [(math.log(j.ratio), s, alpha_t, m, float(m))]
    if alpha_rank > 0.0:
        before_share = signed_rank_rounds(j.alpha) - 1
        if before_share > n:
            tests.append((math.log(j.ratio), s, j.alpha, before_share, float(before_share)))
        if j.robust_ratio is not None and j.robust_spread:
            tests.append((math.log(j.robust_ratio), j.robust_spread, alpha_rank, m, m * _RANK_EFFICIENCY))
    zones = []
    for estimate, spread, share, at, effective in tests:
        zone = max(math.log(factor), t_ppf(1.0 - share / 2.0, at - 1) * spread / math.sqrt(effective))
        # the estimate's plausible interval, at the same efficiency as its zone
        if abs(estimate) + plausible * spread / math.sqrt(n * effective / at) > zone:
            return None
        zones.append(zone)
    return math.exp(min(zones))


def spread_text(j: PairedJudgement, rounds: int) -> str:
    """A case's spread between rounds as a note gives it ("4.1%"), with the spread of most rounds beside it
    ("4.1%; 1.9% in most rounds") where the signed-rank test, which that spread speaks for, has a share of
    alpha at `rounds` clean rounds: the rounds the note is about."""
    assert j.spread is not None
    rank_counts = bool(j.robust_spread) and alpha_shares(rounds, j.alpha)[1] > 0.0
    return f"{j.spread:.1%}" + (f"; {j.robust_spread:.1%} in most rounds" if rank_counts else "")


def signed_rank_note(j: PairedJudgement) -> str:
    """The note beside a change the signed-rank test decided: the t-test alone would have left it."""
    mean = f", geometric mean x{math.sqrt(j.ci[0] * j.ci[1]):.3f} and its interval" if j.ci else ""
    return (f"decided by the signed-rank test (p {j.rank_p:.2g} over {j.rounds} rounds; ratio: Hodges-Lehmann): "
            f"a few rounds far off widen the paired t-test's spread ({j.spread:.1%}, p {j.p:.2g}{mean})")


def contended_reason(clean: int, disturbed: int, cause: str | None, needed: int = MIN_ROUNDS) -> str | None:
    """Why a paired decision is CONTENDED, or None when it is not.

    Rounds in which a side's measurement was disturbed (the engine's contention probe) are never
    judged, so a decision that ends with fewer than `needed` clean rounds while some were set aside
    could not be made because of the machine, not the code: "re-run on a quiet machine", never a
    verdict. One rule and one wording for every surface that takes paired rounds (gate, bisect)."""
    if clean >= needed or disturbed < 1:
        return None
    return f"{disturbed} round(s) disturbed ({cause or 'the machine was busy'}): {NEXT_STEP[CONTENDED]}"

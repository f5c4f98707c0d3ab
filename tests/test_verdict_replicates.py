"""The replicate rules (issue 11): between separate runs (`judge_separate`) and between paired gate
rounds (`judge_paired`), with exact verdicts from constructed inputs.

Each test names the one-line bug it catches: the single-run rule switched off, MIN_RUNS lowered to
2, the contended sides swapped or one ignored, multiplicity control dropped, the equivalence rule
replaced by "not significant means same", a wrong t quantile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import pytest

from torchperf_core import verdict as v
from torchperf_core.errors import TorchperfError
from torchperf_core.verdict.tdist import t_ppf, t_two_sided_p

TIGHT = [2e-3 * (1 + 1e-4 * i) for i in range(10)]  # asv's rule calls any shift above 0.1% significant


@dataclass(frozen=True)
class _Side:
    value: float | None
    stats: dict | None
    samples: tuple[float, ...] | None
    version: str | None = "1"
    is_missing: bool = False


def _side(scale: float) -> _Side:
    from asv_runner.statistics import compute_stats

    samples = [scale * x for x in TIGHT]
    value, st = compute_stats(samples, 1)
    return _Side(value, st, tuple(samples))


def _runs(center: float, spread: float = 0.01) -> tuple[float, ...]:
    return (center * (1 - spread), center * (1 + spread), center)


# ------------------------------------------------------------------------------------ t quantiles


def test_t_distribution_matches_the_tables():
    assert t_ppf(0.995, 4) == pytest.approx(4.604, abs=1e-3)
    assert t_ppf(0.975, 10) == pytest.approx(2.228, abs=1e-3)
    assert t_ppf(0.95, 5) == pytest.approx(2.015, abs=1e-3)
    assert t_ppf(0.995, 2) == pytest.approx(9.925, abs=1e-3)
    assert t_two_sided_p(2.228, 10) == pytest.approx(0.05, abs=1e-4)
    assert t_ppf(0.025, 10) == pytest.approx(-2.228, abs=1e-3)


# ------------------------------------------------------------------------------ between runs


def test_between_runs_ratio_ci_and_spread():
    b = between = v.between_runs(_runs(1.0), _runs(1.1))
    assert (b.runs_before, b.runs_after, b.replicated) == (3, 3, True)
    assert between.spread == pytest.approx(0.02)  # (1.01 - 0.99) / 1.0
    assert b.ratio == pytest.approx(1.1, rel=1e-4) and b.p == pytest.approx(3.08e-4, rel=1e-2)  # Welch, ~4 df
    assert b.ci == pytest.approx((1.0594, 1.1421), abs=1e-4)  # 99%
    one = v.between_runs((1.0,), (1.1,))
    assert (one.spread, one.ratio, one.ci, one.p, one.replicated) == (None, None, None, None, False)


def test_one_run_per_side_is_unknown_never_slower():
    """Bug caught: the single-run rule switched off (asv's SLOWER passed through)."""
    j = v.judge_separate(_side(1.0), _side(1.5), 1.07)
    assert (j.verdict, j.reason) == (v.UNKNOWN, "one run per side (need 3): re-measure")
    j = v.judge_separate(_side(1.5), _side(1.0), 1.07)
    assert j.verdict == v.UNKNOWN
    assert v.judge_separate(_side(1.0), _side(1.02), 1.07).verdict == v.SAME  # within the factor: same


def test_beyond_the_factor_but_not_significant_is_unknown_not_same():
    """asv's "~" used to read as unchanged; with one run it is unknown (re-measure)."""
    wide = _Side(2e-3, None, None)  # no statistics, ratio only: asv decides by the ratio...
    noisy_b = _Side(1.0, {"ci_99_a": 0.5, "ci_99_b": 2.0, "q_25": 0.8, "q_75": 1.3, "number": 1, "repeat": 10},
                    tuple(0.5 + 0.15 * i for i in range(11)))
    noisy_a = _Side(1.2, {"ci_99_a": 0.6, "ci_99_b": 2.4, "q_25": 1.0, "q_75": 1.5, "number": 1, "repeat": 10},
                    tuple(0.6 + 0.18 * i for i in range(11)))
    assert v.judge(noisy_b, noisy_a, 1.07) == (v.SAME, True)
    j = v.judge_separate(noisy_b, noisy_a, 1.07)
    assert (j.verdict, j.beyond_factor_only) == (v.UNKNOWN, True)
    assert v.judge_separate(wide, wide, 1.07).verdict == v.SAME


def test_two_runs_a_side_are_not_enough():
    """Bug caught: MIN_RUNS lowered to 2."""
    j = v.judge_separate(_side(1.0), _side(1.5), 1.07, before_runs=(0.99, 1.0), after_runs=(1.49, 1.5))
    assert (j.verdict, j.reason) == (v.UNKNOWN, "2 runs per side (need 3): re-measure")
    assert v.MIN_RUNS == 3


def test_three_agreeing_runs_decide():
    j = v.judge_separate(_side(1.0), _side(1.5), 1.07, before_runs=_runs(1.0), after_runs=_runs(1.5))
    assert (j.verdict, j.reason, j.between.runs_before, j.between.runs_after) == (v.SLOWER, None, 3, 3)
    j = v.judge_separate(_side(1.5), _side(1.0), 1.07, before_runs=_runs(1.5), after_runs=_runs(1.0))
    assert j.verdict == v.FASTER


def test_a_change_between_sides_measured_one_after_the_other_is_unknown():
    """Every run of 'after' taken after every run of 'before': drift over time and a change look the
    same (the A/A that flagged 5 of 17 cases on the quiet VM); alternated runs decide."""
    blocked = v.judge_separate(_side(1.0), _side(1.5), 1.07, before_runs=_runs(1.0), after_runs=_runs(1.5),
                               before_times=(1.0, 2.0, 3.0), after_times=(4.0, 5.0, 6.0))
    assert blocked.verdict == v.UNKNOWN
    assert blocked.reason.startswith("×1.500, but every run of one side came before the other's")
    # ... the other way round too (after measured first, e.g. a re-run of the base commit)
    assert v.judge_separate(_side(1.0), _side(1.5), 1.07, before_runs=_runs(1.0), after_runs=_runs(1.5),
                            before_times=(7.0, 8.0, 9.0), after_times=(4.0, 5.0, 6.0)).verdict == v.UNKNOWN
    alternated = v.judge_separate(_side(1.0), _side(1.5), 1.07, before_runs=_runs(1.0), after_runs=_runs(1.5),
                                  before_times=(1.0, 4.0, 5.0), after_times=(2.0, 3.0, 6.0))
    assert (alternated.verdict, alternated.reason) == (v.SLOWER, None)
    # Times not recorded for every run (hand-written records): taken as interleaved.
    assert v.judge_separate(_side(1.0), _side(1.5), 1.07, before_runs=_runs(1.0), after_runs=_runs(1.5),
                            before_times=(1.0, 2.0), after_times=(4.0, 5.0, 6.0)).verdict == v.SLOWER
    # A blocked pair within the factor is still "same": the rule guards decided changes only.
    assert v.judge_separate(_side(1.0), _side(1.0), 1.07, before_runs=_runs(1.0), after_runs=_runs(1.01),
                            before_times=(1.0, 2.0, 3.0), after_times=(4.0, 5.0, 6.0)).verdict == v.SAME


def test_drift_between_runs_is_not_a_change():
    """The last runs differ by 50% (asv: slower) but the runs scatter as widely: not decided."""
    j = v.judge_separate(_side(1.0), _side(1.5), 1.07, before_runs=(1.4, 0.7, 1.0), after_runs=(0.9, 1.2, 1.5))
    assert (j.verdict, j.reason) == (v.UNKNOWN, "×1.182 between runs, not significant (p=0.54, needs < 0.01): re-measure")


def test_a_last_run_outlier_within_the_runs_average_is_same():
    """asv says slower on the last run; across three runs a side the ratio is inside the factor."""
    j = v.judge_separate(_side(1.0), _side(1.1), 1.07, before_runs=(1.05, 1.04, 1.0), after_runs=(1.0, 1.01, 1.1))
    assert j.between.ratio == pytest.approx(1.0065, abs=1e-3) and j.verdict == v.SAME


def test_runs_agreeing_but_the_last_run_not_significant_is_unknown():
    """Both tests must agree: between runs decided, asv's within-run rule not: unknown."""
    noisy = _Side(1.0, {"ci_99_a": 0.5, "ci_99_b": 2.0, "q_25": 0.8, "q_75": 1.3, "number": 1, "repeat": 10},
                  tuple(0.5 + 0.15 * i for i in range(11)))
    shifted = _Side(1.2, {"ci_99_a": 0.6, "ci_99_b": 2.4, "q_25": 1.0, "q_75": 1.5, "number": 1, "repeat": 10},
                    tuple(0.6 + 0.18 * i for i in range(11)))
    j = v.judge_separate(noisy, shifted, 1.07, before_runs=_runs(1.0), after_runs=_runs(1.2))
    assert j.verdict == v.UNKNOWN and "but not significant within the last run" in j.reason


@pytest.mark.parametrize("contended,where", [((True, False), "before"), ((False, True), "after"),
                                             ((True, True), "both sides")])
def test_contended_on_either_side_is_contended(contended, where):
    """Bugs caught: one side's contention ignored, or the sides swapped in the reason."""
    j = v.judge_separate(_side(1.0), _side(1.5), 1.07, before_runs=_runs(1.0), after_runs=_runs(1.5),
                         contended=contended)
    assert (j.verdict, j.reason) == (v.CONTENDED, f"contended {where}: re-run on a quiet machine")
    same = v.judge_separate(_side(1.0), _side(1.0), 1.07, contended=contended)
    assert same.verdict == v.CONTENDED  # not known to be unchanged either


def test_bookkeeping_verdicts_survive_contention():
    failed = _Side(None, None, None)
    assert v.judge_separate(_side(1.0), failed, 1.07, contended=(True, True)).verdict == v.FAILED
    assert v.judge_separate(None, _side(1.0), 1.07).verdict == v.ONLY_AFTER


def test_undecided_verdicts_never_fail_the_gate():
    assert v.UNKNOWN not in v.REGRESSION_VERDICTS and v.CONTENDED not in v.REGRESSION_VERDICTS
    assert v.UNKNOWN not in v.CHANGED_VERDICTS and v.CONTENDED not in v.CHANGED_VERDICTS
    assert (v.MARKS[v.UNKNOWN], v.MARKS[v.CONTENDED]) == ("?", "c")
    assert v.NEXT_STEP == {v.CONTENDED: "re-run on a quiet machine", v.UNKNOWN: "re-measure"}


# ------------------------------------------------------------------------------- paired rounds


def _rounds(ratio: float, sd: float, n: int) -> tuple[list[float], list[float]]:
    """Before all 1.0; after with per-round log ratios of mean log(ratio) and sample sd exactly `sd`."""
    z = [i - (n - 1) / 2 for i in range(n)]
    scale = math.sqrt(sum(x * x for x in z) / (n - 1))
    after = [math.exp(math.log(ratio) + sd * x / scale) for x in z]
    return [1.0] * n, after


def test_per_case_alpha_is_bonferroni_over_cases_and_looks():
    assert v.per_case_alpha(150, 7) == pytest.approx(0.05 / 1050)
    assert v.FAMILY_ALPHA == 0.05


def test_multiplicity_control_decides_the_verdict():
    """t = 8 at 5 df: p ~ 5e-4, significant per case at asv's 0.002 but not at 0.05/(150*7).
    Bug caught: the gate testing each case at a fixed per-case threshold."""
    before, after = _rounds(1.10, math.log(1.10) * math.sqrt(6) / 8, 6)
    loose = v.judge_paired(before, after, 1.07, 0.002)
    strict = v.judge_paired(before, after, 1.07, v.per_case_alpha(150, 7))
    assert 4.8e-5 < loose.p < 0.002
    assert (loose.verdict, strict.verdict) == (v.SLOWER, v.UNKNOWN)
    assert loose.ratio == pytest.approx(1.10)


def test_a_clear_slowdown_is_decided_under_the_strict_threshold():
    before, after = _rounds(1.10, 0.01, 10)
    j = v.judge_paired(before, after, 1.07, v.per_case_alpha(150, 7))
    assert (j.verdict, j.rounds) == (v.SLOWER, 10) and j.spread == pytest.approx(0.01)
    j = v.judge_paired(after, before, 1.07, v.per_case_alpha(150, 7))
    assert j.verdict == v.FASTER


def test_same_needs_the_interval_inside_the_factor():
    """Bug caught: "not significant" read as same. A noisy A/A pair is unknown, a tight one same."""
    tight = v.judge_paired(*_rounds(1.0, 0.01, 6), 1.07, 1e-4)
    assert tight.verdict == v.SAME and 1 / 1.07 < tight.ci[0] < 1 < tight.ci[1] < 1.07
    noisy = v.judge_paired(*_rounds(1.0, 0.10, 6), 1.07, 1e-4)
    assert noisy.verdict == v.UNKNOWN and noisy.p == pytest.approx(1.0)


def test_a_significant_change_inside_the_factor_is_same_only_when_its_interval_is():
    j = v.judge_paired(*_rounds(1.03, 0.002, 8), 1.07, 1e-4)
    assert j.p < 1e-4 and j.verdict == v.SAME  # decided: 3% is inside the factor
    j = v.judge_paired(*_rounds(1.06, 0.03, 4), 1.07, 1e-4)
    assert j.verdict == v.UNKNOWN and j.ci[1] > 1.07  # could still be beyond the factor


def test_too_few_rounds_are_unknown_and_rounds_are_paired():
    assert v.judge_paired([1.0, 1.0], [2.0, 2.0], 1.07, 0.05).verdict == v.UNKNOWN
    with pytest.raises(ValueError):
        v.judge_paired([1.0, 1.0, 1.0], [1.0, 1.0], 1.07, 0.05)


def test_alpha_is_shared_only_at_looks_where_the_signed_rank_test_could_reject():
    """2 / 2**n is its smallest p. Bugs caught: '<' for '<=' (the n = 10 boundary), a share at 16
    rounds of the tier's alpha (it could never use it), shares that do not add up to alpha."""
    assert v.alpha_shares(10, 4 / 1024) == (2 / 1024, 2 / 1024)
    assert v.alpha_shares(10, 3.99 / 1024) == (3.99 / 1024, 0.0)
    assert v.alpha_shares(16, ALPHA_TIER) == (ALPHA_TIER, 0.0)  # 2 / 65536 = 3.05e-5 > 2.5e-5
    assert v.alpha_shares(17, ALPHA_TIER) == (ALPHA_TIER / 2, ALPHA_TIER / 2)
    assert v.alpha_shares(6, 0.05) == (0.05, 0.0)  # 2 / 64 = 0.031 > 0.025


@pytest.mark.parametrize("logs, p", [
    ([1, 2, 3, 4, 5], 2 / 32),           # all positive: W = 15, the largest of 32 patterns
    ([1, -2, 3, 4, 5], 6 / 32),          # W = 13: negative ranks {}, {1}, {2} reach it
    ([-1, -2, -3, -4, -5], 2 / 32),      # two-sided
    ([1, -1, 2], 0.75),                  # a tie at ranks 1-2: mid-ranks 1.5, 1.5, 3; W = 4.5, P(W >= 4.5) = 3/8
    ([-1, 1, 2], 0.75),                  # the same tie the other way round (ranks in order: W = 5, p 0.5)
    ([1, -1], 1.0),                      # both tails 3/4: capped at 1
    ([0.0, 1, 2, 3, 4, 5], 2 / 32),      # a zero is dropped
    ([0.0, 0.0], 1.0),
])
def test_signed_rank_p_is_exact(logs, p):
    """Hand-counted sign patterns. Bugs caught: one-sided p, ranks from the signed values instead of
    |d|, ties ranked in order instead of mid-ranks, zeros kept as ranked rounds."""
    assert v.signed_rank_p(logs) == pytest.approx(p, abs=1e-15)


def test_hodges_lehmann_is_the_median_of_walsh_averages():
    # (1, 1.5, 5.5, 2, 6, 10): median (2 + 5.5) / 2; the plain median (2) or mean (4.33) would differ
    assert v.hodges_lehmann([1.0, 2.0, 10.0]) == 3.75


def test_judge_paired_reports_the_robust_figures_of_its_rounds():
    """logs (.01, .02, .03, .05, 1): median .03, absolute deviations (.02, .01, 0, .02, .97), MAD .02;
    the 15 Walsh averages' median (the 8th: .01 .015 .02 .02 .025 .03 .03 [.035] .04 .05 .505 ...)
    .035. Bugs caught: the MAD not centred on the median, the 1.4826 dropped, the plain median (.03)
    or the mean (.222) for Hodges-Lehmann."""
    logs = [0.01, 0.02, 0.03, 0.05, 1.0]
    j = v.judge_paired([1.0] * 5, [math.exp(x) for x in logs], v.GATE_FACTOR, 0.05)
    assert j.robust_spread == pytest.approx(0.029652, rel=1e-9)
    assert j.robust_ratio == pytest.approx(math.exp(0.035), rel=1e-12)
    assert j.rank_p is None  # 5 rounds: 2 / 32 > 0.025, no share of alpha 0.05


def test_signed_rank_rounds_is_the_first_look_with_a_share():
    assert [v.signed_rank_rounds(a) for a in (ALPHA_TIER, 0.0025, 4 / 1024, 0.05)] == [17, 11, 10, 7]
    with pytest.raises(TorchperfError, match="alpha 0 must be between 0 and 1"):
        v.signed_rank_rounds(0)


def _one_sided_rounds(n: int, slow: Sequence[float]) -> tuple[list[float], list[float]]:
    """n rounds at +5% (+-1%, exactly), the last len(slow) of them with the after side slowed further."""
    before, after = _rounds(1.05, 0.01, n - len(slow))
    return before + [1.0] * len(slow), after + list(slow)


def test_the_signed_rank_test_decides_a_slowdown_that_a_few_far_rounds_hide_from_the_t_test():
    """20 rounds: 17 at +5%, 3 with the after side slowed 50-70% more (what a shared host does). The
    t-test's spread follows the three (p ~ 5e-3: undecided at the tier's alpha); every round is
    positive, so the exact signed-rank p is 2 / 2**20. Bugs caught: the robust test not consulted,
    a share at 16 rounds, the verdict resting on the mean (x1.118) or the plain median instead of
    the Hodges-Lehmann estimate, decided_by not set."""
    alpha = v.per_case_alpha(146, 7)
    before, after = _one_sided_rounds(20, [1.5, 1.6, 1.7])
    logs = [math.log(a / b) for b, a in zip(before, after)]
    j = v.judge_paired(before, after, v.GATE_FACTOR, alpha)
    assert (j.verdict, j.decided_by) == (v.SLOWER, v.SIGNED_RANK)
    assert j.rank_p == 2 / 2**20 and j.p > alpha
    assert j.ratio == j.robust_ratio == pytest.approx(math.exp(v.hodges_lehmann(logs)), rel=1e-12)
    assert 1.05 < j.ratio < 1.06 and math.exp(sum(logs) / 20) > 1.11  # the mean, x1.118, is not what it rests on
    sixteen = v.judge_paired(*_one_sided_rounds(16, [1.5, 1.6, 1.7]), v.GATE_FACTOR, alpha)
    assert (sixteen.verdict, sixteen.rank_p, sixteen.decided_by) == (v.UNKNOWN, None, None)


def test_one_far_round_the_other_way_keeps_the_signed_rank_test_from_deciding():
    """The same 20 rounds with one far round faster instead (x0.6): its rank is 19 of 20, so the
    exact p is 2 * 307 / 2**20 (subsets of 1..20 summing to <= 19), above half the tier's alpha:
    unknown, not a guess. Bug caught: a sign test (count of positives) in place of ranks."""
    alpha = v.per_case_alpha(146, 7)
    j = v.judge_paired(*_one_sided_rounds(20, [1.5, 0.6, 1.7]), v.GATE_FACTOR, alpha)
    assert j.verdict == v.UNKNOWN and j.rank_p == pytest.approx(2 * 307 / 2**20, rel=1e-12)


def test_each_test_is_held_to_its_share_of_alpha_not_the_whole():
    """Bugs caught: the signed-rank p compared with the whole alpha; the t-test's p compared with the
    whole alpha once the signed-rank test has a share.
    Signed-rank: 20 rounds, one slower-side round negative at rank 6 (five smaller |d|), three far
    off: p = 2 * 14 / 2**20 = 2.67e-5 (subsets of 1..20 summing to <= 6: 1+1+1+2+2+3+4 = 14),
    between half the tier's alpha (2.45e-5) and the whole (4.9e-5): unknown at the tier, slower
    at a 6e-5 alpha (share 3e-5)."""
    logs = [0.010, 0.015, 0.020, 0.025, 0.030, -0.035] + [0.040 + 0.004 * i for i in range(11)] + [0.40, 0.47, 0.53]
    before, after = [1.0] * 20, [math.exp(x) for x in logs]
    tier = v.judge_paired(before, after, v.GATE_FACTOR, v.per_case_alpha(146, 7))
    assert tier.rank_p == pytest.approx(28 / 2**20, rel=1e-12) and tier.p > 1e-3
    assert tier.verdict == v.UNKNOWN
    assert v.judge_paired(before, after, v.GATE_FACTOR, 6e-5).verdict == v.SLOWER
    # t-test: evenly spread rounds whose p lies between alpha/2 and alpha, the signed-rank p above
    # its share: undecided at alpha, decided (by the t-test) at 2 * alpha
    # (alpha 1e-3 at 20 rounds: shares 5e-4 each)
    before, after = _rounds(1.05, 0.054, 20)
    j = v.judge_paired(before, after, v.GATE_FACTOR, 1e-3)
    assert 5e-4 < j.p < 1e-3 and j.rank_p > 5e-4
    assert j.verdict == v.UNKNOWN
    j = v.judge_paired(before, after, v.GATE_FACTOR, 2e-3)
    assert (j.verdict, j.decided_by) == (v.SLOWER, v.T_TEST)


def test_two_tests_deciding_opposite_directions_leave_the_case_unknown():
    """Six rounds slightly slower and one far faster, at a loose alpha (0.9: shares 0.45 each): the
    t-test reads faster (geometric mean x0.761, p 0.40), the signed-rank test slower (the far
    round is one rank, 7: p = 2 * 19 / 128, Hodges-Lehmann x1.025). Bug caught: the first test's
    direction taken."""
    logs = [0.0275, 0.0211, 0.022, 0.0222, 0.0547, 0.0308, -2.0856]
    j = v.judge_paired([1.0] * 7, [math.exp(x) for x in logs], 1.001, 0.9)
    assert j.p < 0.45 and j.ratio < 1 / 1.001 and j.rank_p == 38 / 128 and j.robust_ratio > 1.001
    assert (j.verdict, j.decided_by) == (v.UNKNOWN, None)


def test_the_gate_default_factor_decides_a_five_percent_slowdown_that_compare_factor_cannot():
    """+5% with 1% spread over 10 paired rounds, one case of a 17-case gate with 7 looks: slower at the
    gate's factor, same at compare's (5% is inside 1.07). `continuous` defaults to the gate's factor.
    Bugs caught: the gate defaulting to DEFAULT_FACTOR again; GATE_FACTOR raised to >= 1.05."""
    import argparse

    from torchperf_core.commands import continuous

    alpha = v.per_case_alpha(17, 7)
    rounds = _rounds(1.05, 0.01, 10)
    assert v.judge_paired(*rounds, v.GATE_FACTOR, alpha).verdict == v.SLOWER
    assert v.judge_paired(*rounds, v.DEFAULT_FACTOR, alpha).verdict == v.SAME
    assert v.GATE_FACTOR == 1.03 and v.DEFAULT_FACTOR == 1.07
    parser = argparse.ArgumentParser()
    continuous.add_arguments(parser)
    assert parser.parse_args(["HEAD", "HEAD"]).factor == "1.03"


# ------------------------------------------------------------------------------ futility stopping

ALPHA_TIER = 5e-5  # ~150 cases x 7 looks


def _unknown(mean: float, spread: float, rounds: int = 6, alpha: float = ALPHA_TIER) -> v.PairedJudgement:
    return v.PairedJudgement(v.UNKNOWN, rounds, math.exp(mean), None, 0.5, spread, alpha)


@pytest.mark.parametrize("mean, spread, out, rounds", [
    (0.049, 0.05, False, 6),   # the injected +5% at a 5% spread: 30 rounds can decide it
    (0.0, 0.06, False, 6),     # "same" still reachable: |mean| < log 1.03 - t(.95, 29) * .06 / sqrt 30 = 0.011
    (0.0, 0.12, True, 6),      # A/A noisy: "same" out of reach, a change only beyond x1.116, plausible |mean| < 0.072
    (0.08, 0.12, False, 6),    # plausible up to 0.152 > 0.110: a change could still be decided
    (-0.08, 0.12, False, 6),   # the same, faster
    (0.03, 0.12, True, 6),     # plausible up to 0.102 < 0.110
    (-0.03, 0.12, True, 6),
    (0.040, 0.12, False, 6),   # plausible up to 0.112 > 0.110 (a 60% interval, t(0.8, 5), would stop it)
    (0.036, 0.12, True, 6),    # up to 0.108 < 0.110, where the t-test's whole alpha would give 0.104
    (0.028, 0.06, False, 20),  # 20 rounds: plausible down to 0.0102 < the "same" zone's 0.0109
    (0.030, 0.06, True, 20),   # down to 0.0122: no "same"; up to 0.048 < 0.055: no change
])
def test_out_of_reach_is_decided_at_the_last_round_for_every_plausible_ratio(mean, spread, out, rounds):
    """The t-test alone (no robust figures): at 30 rounds the signed-rank test has half the alpha, so
    the t-test's zone is at t(1 - alpha/4). Bugs caught (each changes a row): n for m in the change
    zone, the interval's ends swapped, the "same" zone used when it is empty (the 0.12 rows), the
    t-test given the whole alpha at 30 rounds (the 0.036 row and the reason's exact figure), a
    narrower plausible interval (the 0.040 row), the "same" zone at another quantile than
    judge_paired's 1 - EQUIVALENCE_ALPHA (the 20-round rows)."""
    reason = v.out_of_reach(_unknown(mean, spread, rounds), v.GATE_FACTOR, 30)
    assert (reason is not None) == out
    zone = t_ppf(1 - ALPHA_TIER / 4, 29) * spread / math.sqrt(30)
    if spread == 0.12:
        assert round(math.exp(zone), 3) == 1.116
    if out:
        assert reason == (f"undecided after {rounds} clean round(s) and out of reach: at its spread between rounds "
                          f"({spread:.1%}), 30 rounds could decide only a change beyond x{math.exp(zone):.3f}: "
                          "re-measure on a quieter machine")


def test_out_of_reach_counts_the_signed_rank_test_where_it_has_a_share():
    """A case whose t spread is wide (a few far-off rounds) but whose rounds mostly agree: the signed-
    rank test can still reach it by 30 rounds, not by 16 (no share there at this alpha).
    Bugs caught: the robust branch ignored (stopped at 30), given a share it cannot use (kept at 16),
    its efficiency applied the wrong way round (the exact figure of the 30-round reason, `far`).
    At 17 rounds the t-test's zone at 16 rounds with the whole alpha is the smaller: the reason
    quotes it (bug caught: the last round's zone taken as the smallest)."""
    j = v.PairedJudgement(v.UNKNOWN, 6, math.exp(0.02), None, 0.5, 0.15, ALPHA_TIER,
                          rank_p=None, robust_ratio=math.exp(0.045), robust_spread=0.04)
    assert v.out_of_reach(j, v.GATE_FACTOR, 30) is None
    # robust: plausible up to 0.045 + t(.9, 5) * .04 / sqrt 6 = 0.069 > t(1 - a/4, 29) * .04 / sqrt(30 * 3/pi) = 0.037
    reason = v.out_of_reach(j, v.GATE_FACTOR, 16)
    zone = t_ppf(1 - ALPHA_TIER / 2, 15) * 0.15 / 4  # the t-test alone, with all of alpha
    assert reason is not None and f"16 rounds could decide only a change beyond x{math.exp(zone):.3f}:" in reason
    assert "between rounds (15.0%), 16 rounds" in reason  # no share at 16: the spread of most rounds not named
    far = v.PairedJudgement(v.UNKNOWN, 6, math.exp(0.0), None, 0.5, 0.15, ALPHA_TIER,
                            robust_ratio=math.exp(0.0), robust_spread=0.09)
    robust_zone = t_ppf(1 - ALPHA_TIER / 4, 29) * 0.09 / math.sqrt(30 * 3 / math.pi)  # 0.084 < the t-test's 0.137
    assert f"30 rounds could decide only a change beyond x{math.exp(robust_zone):.3f}:" in v.out_of_reach(far, v.GATE_FACTOR, 30)
    assert "between rounds (15.0%; 9.0% in most rounds), 30 rounds" in v.out_of_reach(far, v.GATE_FACTOR, 30)
    assert v.reach(far, v.GATE_FACTOR, 30) == pytest.approx(math.exp(robust_zone), rel=1e-12)  # the bound the note rounds
    # the robust estimate's plausible interval is as wide as its efficiency makes it: at 0.013 its end
    # (0.013 + t(.9, 5) * .04 / sqrt(6 * 3/pi) = 0.0377) passes the zone (0.0374); with sqrt(6) it would not
    edge = v.PairedJudgement(v.UNKNOWN, 6, 1.0, None, 0.5, 0.15, ALPHA_TIER, robust_ratio=math.exp(0.013),
                             robust_spread=0.04)
    assert v.out_of_reach(edge, v.GATE_FACTOR, 30) is None
    wide = v.PairedJudgement(v.UNKNOWN, 6, 1.0, None, 0.5, 0.15, ALPHA_TIER, robust_ratio=1.0, robust_spread=0.15)
    at_16 = t_ppf(1 - ALPHA_TIER / 2, 15) * 0.15 / 4
    assert at_16 < t_ppf(1 - ALPHA_TIER / 4, 16) * 0.15 / math.sqrt(17)
    assert f"17 rounds could decide only a change beyond x{math.exp(at_16):.3f}:" in v.out_of_reach(wide, v.GATE_FACTOR, 17)


def test_a_notes_spread_names_the_spread_of_most_rounds_only_where_the_signed_rank_test_counts():
    """verdict.spread_text, the spread every out-of-reach note gives (out_of_reach and the budget's nearest rule).
    At ALPHA_TIER the signed-rank test has a share from 17 rounds (2 / 2**17 <= alpha / 2). Bugs caught: the
    spread of most rounds named at 16 rounds, left out at 17, named when none was measured."""
    j = v.PairedJudgement(v.UNKNOWN, 6, 1.0, None, 0.5, 0.15, ALPHA_TIER, robust_ratio=1.0, robust_spread=0.04)
    assert [v.spread_text(j, n) for n in (6, 16, 17, 30)] == ["15.0%", "15.0%", "15.0%; 4.0% in most rounds",
                                                              "15.0%; 4.0% in most rounds"]
    assert v.spread_text(_unknown(0.0, 0.123), 30) == "12.3%"


def test_out_of_reach_never_stops_a_decided_case_a_last_round_or_a_spread_of_zero():
    assert v.out_of_reach(_unknown(0.0, 0.12, rounds=30), v.GATE_FACTOR, 30) is None
    assert v.out_of_reach(_unknown(0.0, 0.0), v.GATE_FACTOR, 30) is None
    decided = v.PairedJudgement(v.SAME, 6, 1.0, (0.99, 1.01), 0.9, 0.12, ALPHA_TIER)
    assert v.out_of_reach(decided, v.GATE_FACTOR, 30) is None
    too_few = v.PairedJudgement(v.UNKNOWN, 2, 1.0, None, None, None, ALPHA_TIER)
    assert v.out_of_reach(too_few, v.GATE_FACTOR, 30) is None

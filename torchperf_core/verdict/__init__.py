"""The verdict: one significance rule (asv's), the default factor and its parser; the replicate
rules on top of it (between separate runs: `judge_separate`; the gate's paired rounds: `judge_paired`).

Below every room that judges a change (compare, the site, the noise probes), so all of them ask the
same function and none restates the rule.
"""

from torchperf_core.verdict.significance import (
    BOTH_FAILED,
    CHANGED_VERDICTS,
    CONTENDED,
    DEFAULT_FACTOR,
    FAILED,
    FASTER,
    FIXED,
    INCOMPARABLE,
    MARKS,
    NEXT_STEP,
    ONLY_AFTER,
    ONLY_BEFORE,
    P_THRESHOLD,
    REGRESSION_VERDICTS,
    SAME,
    SKIPPED,
    SLOWER,
    UNDECIDED_VERDICTS,
    UNKNOWN,
    Judgeable,
    judge,
    parse_factor,
)
from torchperf_core.verdict.paired import (
    EQUIVALENCE_ALPHA,
    FAMILY_ALPHA,
    GATE_FACTOR,
    MIN_ROUNDS,
    PAIRED_RULE,
    SIGNED_RANK,
    T_TEST,
    PairedJudgement,
    alpha_shares,
    contended_reason,
    hodges_lehmann,
    judge_paired,
    log_ratio,
    out_of_reach,
    parse_family_alpha,
    per_case_alpha,
    reach,
    signed_rank_note,
    signed_rank_p,
    signed_rank_rounds,
    spread_text,
)
from torchperf_core.verdict.replicates import (
    MIN_RUNS,
    P_BETWEEN,
    BetweenRuns,
    Judgement,
    between_runs,
    interleaved,
    judge_separate,
)
from torchperf_core.verdict.counts import COUNT_UNIT, DEFAULT_COUNT_TOLERANCE, CountTolerance, judge_counts, parse_tolerance

__all__ = [
    "BOTH_FAILED", "CHANGED_VERDICTS", "DEFAULT_FACTOR", "FAILED", "FASTER", "FIXED", "INCOMPARABLE", "Judgeable",
    "MARKS", "ONLY_AFTER", "ONLY_BEFORE", "P_THRESHOLD", "REGRESSION_VERDICTS", "SAME", "SKIPPED", "SLOWER",
    "judge", "parse_factor",
    "CONTENDED", "UNKNOWN", "UNDECIDED_VERDICTS", "NEXT_STEP",
    "MIN_RUNS", "P_BETWEEN", "BetweenRuns", "Judgement", "between_runs", "interleaved", "judge_separate",
    "EQUIVALENCE_ALPHA", "FAMILY_ALPHA", "GATE_FACTOR", "MIN_ROUNDS", "PairedJudgement", "contended_reason", "judge_paired", "log_ratio",
    "out_of_reach", "reach", "parse_family_alpha", "per_case_alpha", "PAIRED_RULE", "SIGNED_RANK", "T_TEST", "alpha_shares", "hodges_lehmann",
    "signed_rank_note", "signed_rank_p", "signed_rank_rounds", "spread_text",
    "COUNT_UNIT", "DEFAULT_COUNT_TOLERANCE", "CountTolerance", "judge_counts", "parse_tolerance",
]  # fmt: skip

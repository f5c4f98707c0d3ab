"""The verdict: one significance rule (asv's), the default factor and its parser.

Below every room that judges a change (compare, the site, the noise probes), so all of them ask the
same function and none restates the rule.
"""

from torchperf_core.verdict.significance import (
    BOTH_FAILED,
    CHANGED_VERDICTS,
    DEFAULT_FACTOR,
    FAILED,
    FASTER,
    FIXED,
    INCOMPARABLE,
    MARKS,
    ONLY_AFTER,
    ONLY_BEFORE,
    P_THRESHOLD,
    REGRESSION_VERDICTS,
    SAME,
    SKIPPED,
    SLOWER,
    Judgeable,
    judge,
    parse_factor,
)

__all__ = [
    "BOTH_FAILED", "CHANGED_VERDICTS", "DEFAULT_FACTOR", "FAILED", "FASTER", "FIXED", "INCOMPARABLE", "Judgeable",
    "MARKS", "ONLY_AFTER", "ONLY_BEFORE", "P_THRESHOLD", "REGRESSION_VERDICTS", "SAME", "SKIPPED", "SLOWER",
    "judge", "parse_factor",
]  # fmt: skip

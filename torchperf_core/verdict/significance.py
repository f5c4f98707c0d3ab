"""The one significance rule: is `after` slower, faster or the same as `before`?

`asv compare`'s decision, called, not re-implemented: asv's `_is_result_better` (Mann–Whitney U at
p < 0.002 on the raw samples when both sides have enough of them, else non-overlapping 99%
confidence intervals of the median; and the ratio beyond `factor`). `torchperf compare`, the site's
marks and the noise probes' minimum detectable slowdown all ask `judge`, so they cannot disagree.
Only the bookkeeping around missing, failed and skipped results is restated here.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Protocol, Sequence

from torchperf_core.errors import TorchperfError

# The ratio a change must exceed to count. asv's default is 1.1; torchperf's is 1.07, chosen from
# scripts/detection_power.py on a quiet 2-core Zen 4 (torch 2.13.0+cpu, mm 512 fp32, 30 samples a
# side, base and head interleaved): factors 1.05-1.07 gave 0/10 false flags and 10/10 detections of
# a 10% slowdown; 1.1 caught only 4/10 (a 10% change sits on the threshold), 1.02 flagged 3/10 A/A.
DEFAULT_FACTOR = 1.07
P_THRESHOLD = 0.002  # asv._stats.is_different's default, which _is_result_better uses

# Verdicts, with asv compare's mark for each.
SLOWER, FASTER, SAME = "slower", "faster", "same"
FAILED, FIXED = "failed", "fixed"  # the benchmark started / stopped failing
BOTH_FAILED, SKIPPED = "both failed", "skipped"  # nothing to compare
ONLY_BEFORE, ONLY_AFTER = "only before", "only after"  # one side lacks the benchmark/parameters
INCOMPARABLE = "incomparable"  # the benchmark's `version` changed between the sides
# Not decided (issue 11): the measurement could not tell. Neither is ever a regression or an
# improvement, and neither is "unchanged": each names what to do next.
CONTENDED = "contended"  # a side was measured while the machine was busy: re-run on a quiet machine
UNKNOWN = "unknown"  # beyond the factor but not decided (or one run per side): re-measure
MARKS = {
    SLOWER: "+", FASTER: "-", FAILED: "!", FIXED: "*", INCOMPARABLE: "x", UNKNOWN: "?", CONTENDED: "c",
    SAME: " ", BOTH_FAILED: " ", SKIPPED: " ", ONLY_BEFORE: " ", ONLY_AFTER: " ",
}  # fmt: skip
# What each undecided verdict asks the reader to do.
NEXT_STEP = {CONTENDED: "re-run on a quiet machine", UNKNOWN: "re-measure"}
# Verdicts that fail the gate (exit 1): asv continuous counts these two as "worsened".
REGRESSION_VERDICTS = (SLOWER, FAILED)
CHANGED_VERDICTS = (SLOWER, FASTER, FAILED, FIXED)
UNDECIDED_VERDICTS = (UNKNOWN, CONTENDED)


class Judgeable(Protocol):
    """What a side needs for a verdict: asv's value and statistics, and raw samples when stored."""

    @property
    def value(self) -> float | None: ...  # None: failed; NaN: skipped

    @property
    def stats(self) -> Mapping[str, Any] | None: ...  # asv_runner's compute_stats dict

    @property
    def samples(self) -> Sequence[float] | None: ...

    @property
    def version(self) -> str | None: ...  # the benchmark's `version`

    @property
    def is_missing(self) -> bool: ...


def parse_factor(text: str | float) -> float:
    """`--factor`: a finite number > 1 (a change must exceed it to count)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise TorchperfError(f"malformed factor {text!r}; give a number > 1, e.g. 1.1") from None
    if not math.isfinite(value) or value <= 1.0:
        raise TorchperfError(f"malformed factor {text!r}; give a number > 1, e.g. 1.1")
    return value


def judge(before: Judgeable | None, after: Judgeable | None, factor: float) -> tuple[str, bool]:
    """(verdict, beyond_factor_only) for one pair, with `asv compare`'s decision table.

    `beyond_factor_only` is True for a SAME verdict whose ratio alone exceeds the factor (the
    statistics could not tell the sides apart).
    """
    from asv.commands.compare import _is_result_better  # asv's private helper: pinned asv==0.6.6

    if before is None:
        return ONLY_AFTER, False
    if after is None:
        return ONLY_BEFORE, False
    if before.version is not None and after.version is not None and before.version != after.version:
        return INCOMPARABLE, False
    t1, t2 = before.value, after.value
    if t1 is not None and t2 is None:
        return FAILED, False
    if t1 is None and t2 is not None:
        return FIXED, False
    if t1 is None and t2 is None:
        return BOTH_FAILED, False
    if before.is_missing or after.is_missing:
        return SKIPPED, False
    ss1 = (dict(before.stats) if before.stats else None, list(before.samples) if before.samples is not None else None)
    ss2 = (dict(after.stats) if after.stats else None, list(after.samples) if after.samples is not None else None)
    if _is_result_better(t2, t1, ss2, ss1, factor):
        return FASTER, False
    if _is_result_better(t1, t2, ss1, ss2, factor):
        return SLOWER, False
    loose = _is_result_better(t1, t2, None, None, factor) or _is_result_better(t2, t1, None, None, factor)
    return SAME, bool(loose)

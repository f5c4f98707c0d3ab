"""The rule for instruction counts: a tolerance, not a significance test.

A Callgrind count is deterministic to ~0.1% (the A/A spread measured for the curated cases), so
there is no sampling distribution to test: `after` is slower when it executes more instructions than
`before` by more than the tolerance, stated in percent ("1%") or in instructions ("2000"). The
benchmark can state its own (`count_tolerance` attribute, copied by asv into benchmarks.json);
otherwise DEFAULT_COUNT_TOLERANCE. Missing, failed, skipped and version-changed sides are the
significance rule's bookkeeping, delegated to it so both rules name them alike.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from torchperf_core.errors import TorchperfError
from torchperf_core.verdict.significance import DEFAULT_FACTOR, FASTER, SAME, SLOWER, Judgeable, judge

# 1%: ten times the worst A/A spread of the curated cases, half of the +2% a count must catch.
DEFAULT_COUNT_TOLERANCE = "1%"
COUNT_UNIT = "instructions"
_TOL_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(%?)\s*$")


@dataclass(frozen=True)
class CountTolerance:
    """How far a count may move and still be "same": a fraction of `before`, or instructions."""

    fraction: float | None = None
    instructions: float | None = None

    def limit(self, before: float) -> float:
        return self.fraction * abs(before) if self.fraction is not None else float(self.instructions or 0.0)

    def __str__(self) -> str:
        return f"{self.fraction * 100:g}%" if self.fraction is not None else f"{self.instructions:g} instructions"


def parse_tolerance(text: str | float | CountTolerance) -> CountTolerance:
    """`"1%"` -> 1% of before; `"2000"` -> 2000 instructions per call. Refuses anything else, naming it."""
    if isinstance(text, CountTolerance):
        return text
    m = _TOL_RE.match(str(text))
    value = float(m.group(1)) if m else math.nan
    if not m or not math.isfinite(value) or (m.group(2) and value >= 100):
        raise TorchperfError(f"malformed instruction-count tolerance {text!r}; give a percent below 100 like "
                             "'1%' or a number of instructions like '2000'")
    return CountTolerance(fraction=value / 100) if m.group(2) else CountTolerance(instructions=value)


def judge_counts(before: Judgeable | None, after: Judgeable | None,
                 tolerance: str | CountTolerance = DEFAULT_COUNT_TOLERANCE) -> tuple[str, bool]:
    """(verdict, False) for two instruction counts: SLOWER/FASTER beyond the tolerance, else SAME.

    The second element (asv's "beyond the factor but not significant") never applies to counts.
    """
    tol = parse_tolerance(tolerance)
    if (before is None or after is None or before.value is None or after.value is None
            or before.is_missing or after.is_missing
            or (before.version is not None and after.version is not None and before.version != after.version)):
        return judge(before, after, DEFAULT_FACTOR)  # the bookkeeping verdicts, with no statistics involved
    diff = float(after.value) - float(before.value)
    limit = tol.limit(float(before.value))
    if diff > limit:
        return SLOWER, False
    if diff < -limit:
        return FASTER, False
    return SAME, False


__all__ = ["COUNT_UNIT", "DEFAULT_COUNT_TOLERANCE", "CountTolerance", "judge_counts", "parse_tolerance"]

"""Across torch versions: each benchmark and parameter set at one commit, release by release, with
the verdict between consecutive releases.

The verdict is `verdict.judge` — asv's own `_is_result_better`, the function `torchperf compare`
asks — fed with everything asv stored (the 99% CI, the quartiles, `repeat`, `number`) and the raw
samples. So the versions page and `torchperf compare --torch A B` give every benchmark the same
word, including where asv falls back to the ratio alone (no CI, or one repeat).
"""

from __future__ import annotations

from dataclasses import dataclass

from torchperf_core.site.data import ResultPoint, SiteData
from torchperf_core.verdict import DEFAULT_FACTOR, FASTER, SAME, SLOWER, judge

# The marks the pages and plots draw; every other verdict (failed, skipped, only one side, ...) is
# drawn as "unknown" and named by `Change.verdict`.
_DRAWN = (SLOWER, FASTER, SAME)


@dataclass(frozen=True)
class Change:
    """What happened between two consecutive torch releases for one benchmark and parameter set."""

    verdict: str  # verdict.SLOWER / FASTER / SAME / FAILED / FIXED / SKIPPED / ONLY_BEFORE / ...
    ratio: float | None  # new / old value; > 1 is slower for times; None unless both sides have one
    factor: float
    beyond_factor_only: bool = False  # SAME, but the ratio alone exceeds the factor

    @property
    def mark(self) -> str:
        """'slower', 'faster', 'same', or 'unknown' for a pair that was not judged on values."""
        return self.verdict if self.verdict in _DRAWN else "unknown"

    @property
    def significant(self) -> bool:
        return self.verdict in (SLOWER, FASTER)


@dataclass(frozen=True)
class VersionRow:
    """One benchmark and parameter set across torch releases (ordered by PEP 440)."""

    benchmark: str
    params: tuple[tuple[str, str], ...]
    param_index: int
    versions: tuple[str, ...]
    points: tuple[ResultPoint | None, ...]  # aligned with versions
    changes: tuple[Change | None, ...]  # changes[i]: versions[i] -> versions[i+1]; None: neither side has it


def change_between(old: ResultPoint | None, new: ResultPoint | None, factor: float = DEFAULT_FACTOR) -> Change | None:
    """The verdict of `torchperf compare` between two results (None when neither exists)."""
    if old is None and new is None:
        return None
    verdict, loose = judge(old.sample if old else None, new.sample if new else None, factor)
    before, after = (old.value if old else None), (new.value if new else None)
    ratio = after / before if before and after is not None else None
    return Change(verdict=verdict, ratio=ratio, factor=factor, beyond_factor_only=loose)


def version_rows(data: SiteData, machine: str, commit: str, factor: float = DEFAULT_FACTOR) -> list[VersionRow]:
    """Per benchmark and parameter set at one commit: each torch release's point, in PEP 440 order.

    One release is one column, whatever its build ("2.13.0" from asv's matrix and "2.13.0+cpu" from
    an `existing` interpreter). When two environments measured the same release at this commit,
    the latest run is shown (the store lists files oldest run first).
    """
    versions = data.versions(machine, commit)
    grouped: dict[tuple[str, int], dict[str, ResultPoint]] = {}
    params_of: dict[tuple[str, int], tuple[tuple[str, str], ...]] = {}
    for point in data.points_at(machine, commit):
        key = (point.benchmark, point.param_index)
        grouped.setdefault(key, {})[point.torch_version] = point
        params_of[key] = point.params
    rows = []
    for key in sorted(grouped):
        by_version = grouped[key]
        points = tuple(by_version.get(v) for v in versions)
        changes = tuple(change_between(a, b, factor) for a, b in zip(points, points[1:]))
        rows.append(VersionRow(key[0], params_of[key], key[1], tuple(versions), points, changes))
    return rows

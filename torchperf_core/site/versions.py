"""Across torch versions: each benchmark and parameter set at one commit, release by release, with
the verdict between consecutive releases.

The verdict is `verdict.judge` — asv's own `_is_result_better`, the function `torchperf compare`
asks — fed with everything asv stored (the 99% CI, the quartiles, `repeat`, `number`) and the raw
samples. So the versions page and `torchperf compare --torch A B` give every benchmark the same
word, including where asv falls back to the ratio alone (no CI, or one repeat). Since issue 11 the
word is `verdict.judge_separate`'s: the sidecars' run medians and contention records decide
"unknown" (one run per side, or not decided between runs) and "contended" exactly as in compare.

Above the tables, each machine-speed line `torchperf compare --torch A B` gives between consecutive
releases (`speed_lines`): the noise probes `torchperf run` takes before each version say the machine
itself ran faster or slower while one was measured, which every ratio between them carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from torchperf_core.errors import TorchperfError
from torchperf_core.site.data import ResultPoint, SiteData
from torchperf_core.store import CaseCondition
from torchperf_core.verdict import (
    CONTENDED,
    COUNT_UNIT,
    DEFAULT_COUNT_TOLERANCE,
    DEFAULT_FACTOR,
    FASTER,
    SAME,
    SLOWER,
    judge_counts,
    judge_separate,
)

if TYPE_CHECKING:
    from torchperf_core.compare import Source

# The marks the pages and plots draw; every other verdict (failed, skipped, only one side, unknown,
# ...) is drawn as "unknown" and named by `Change.verdict`.
_DRAWN = (SLOWER, FASTER, SAME, CONTENDED)


@dataclass(frozen=True)
class Change:
    """What happened between two consecutive torch releases for one benchmark and parameter set."""

    verdict: str  # verdict.SLOWER / FASTER / SAME / FAILED / FIXED / SKIPPED / ONLY_BEFORE / ...
    ratio: float | None  # new / old value; > 1 is slower for times; None unless both sides have one
    factor: float
    beyond_factor_only: bool = False  # SAME, but the ratio alone exceeds the factor
    runs: tuple[int, int] = (1, 1)  # separate runs behind each side
    between_spread: float | None = None  # largest relative range of a side's run medians
    reason: str | None = None  # why unknown or contended

    @property
    def mark(self) -> str:
        """'slower', 'faster', 'same', 'contended', or 'unknown' (undecided, or not judged on values)."""
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


def change_between(
    old: ResultPoint | None,
    new: ResultPoint | None,
    factor: float = DEFAULT_FACTOR,
    conditions: tuple[CaseCondition | None, CaseCondition | None] = (None, None),
    count_tolerance: str = DEFAULT_COUNT_TOLERANCE,
) -> Change | None:
    """The verdict of `torchperf compare` between two results (None when neither exists);
    `conditions`: each side's contention and run medians from its sidecar (None: no record).
    Instruction counts are judged by their tolerance, as compare does (`judge_counts`)."""
    if old is None and new is None:
        return None
    before, after = (old.value if old else None), (new.value if new else None)
    ratio = after / before if before and after is not None else None
    if (old or new).unit == COUNT_UNIT:  # type: ignore[union-attr]
        verdict, loose = judge_counts(old.sample if old else None, new.sample if new else None, count_tolerance)
        return Change(verdict=verdict, ratio=ratio, factor=factor, beyond_factor_only=loose)
    cb, ca = conditions
    j = judge_separate(
        old.sample if old else None, new.sample if new else None, factor,
        before_runs=cb.run_medians if cb else (), after_runs=ca.run_medians if ca else (),
        contended=(bool(cb and cb.contended), bool(ca and ca.contended)),
        before_times=cb.run_times if cb else (), after_times=ca.run_times if ca else (),
    )  # fmt: skip
    return Change(verdict=j.verdict, ratio=ratio, factor=factor, beyond_factor_only=j.beyond_factor_only,
                  runs=(j.between.runs_before, j.between.runs_after), between_spread=j.between.spread, reason=j.reason)


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
        conds = [data.condition(p) if p is not None else None for p in points]
        info = data.benchmarks.get(key[0])
        tolerance = (info.attributes.get("count_tolerance") if info else None) or DEFAULT_COUNT_TOLERANCE
        changes = tuple(change_between(a, b, factor, (ca, cb), tolerance)
                        for a, b, ca, cb in zip(points, points[1:], conds, conds[1:]))
        rows.append(VersionRow(key[0], params_of[key], key[1], tuple(versions), points, changes))
    return rows


def speed_lines(source: "Source", machine: str, commit: str, versions: Sequence[str],
                factor: float = DEFAULT_FACTOR) -> tuple[str, ...]:
    """The machine-speed line of `torchperf compare --torch A B` for each pair of consecutive
    `versions` at `commit` (`compare.version_speed_lines`: compare's pairing and rule, so the page
    cannot say otherwise). A pair compare cannot make (its environments do not pair) says nothing here."""
    from torchperf_core.compare import version_speed_lines

    out: list[str] = []
    for before, after in zip(versions, versions[1:]):
        try:
            lines = version_speed_lines(source, [before, after], commit=commit, factor=factor, machine=machine)
        except TorchperfError:
            continue
        out.extend(line for line in lines if line not in out)
    return tuple(out)

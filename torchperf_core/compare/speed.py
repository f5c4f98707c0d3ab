"""Was the machine itself faster or slower between the two sides of a comparison?

Two sides measured in separate `torchperf run`s share a machine but not a moment: a VM whose host
gives it half a core's worth of cycles (another tenant on the SMT sibling, a lower clock; the guest
sees no steal) runs every op slower, and every ratio between the sides then carries that, whatever
the code did. Each run records, before its benchmarks, the noise probes' median time a call in each
of their runs (fixed ops and sizes, run by torchperf's own torch: `store.SpeedRecord`, in the
sidecars). The code under test cannot move those, so their change between the sides is the
machine's own.

The rule is the one stored history's verdicts use (`verdict.between_runs`): each noise run is one
reading of the machine's speed (the geometric mean over the probes both sides measured of that
run's medians), and the machine changed speed when the readings' geometric-mean ratio lies beyond
the comparison's factor with p < P_BETWEEN (Welch on the logs, MIN_RUNS readings a side). A single
snapshot is not enough: on a host whose speed moves within seconds, back-to-back probes read up to
x1.27 apart while their own runs scattered as widely (a 2-core VM, torch 2.13.0+cpu, 2026-12-02: the
README's "machine's own speed"). The probes are not compared when they ran at
different thread counts or under different torch versions. Pure logic; the warning is a line of the
comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from torchperf_core.store import ResultsFile, SpeedRecord, latest_speed
from torchperf_core.verdict import P_BETWEEN, between_runs


@dataclass(frozen=True)
class SpeedShift:
    """after / before of the machine's speed probes: > 1 means the machine was slower for `after`."""

    ratio: float  # geometric mean after / before of the per-run readings
    p: float | None  # Welch on the log readings; None: fewer than MIN_RUNS readings a side
    runs: tuple[int, int]  # readings (noise runs) before, after
    probes: tuple[tuple[str, float], ...]  # (probe name, its own geometric-mean ratio), in `before`'s order
    before: SpeedRecord
    after: SpeedRecord

    def decided(self, factor: float) -> bool:
        """The machine's speed changed: beyond the factor, and beyond what its own runs scatter."""
        return self.p is not None and self.p < P_BETWEEN and not 1 / factor <= self.ratio <= factor


def _geomean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def speed_shift(before: SpeedRecord, after: SpeedRecord) -> SpeedShift | None:
    """The machine's change of speed between two runs; None when their probes cannot be compared
    (no probe in common, another thread count, another torch)."""
    if before.threads != after.threads or before.torch != after.torch:
        return None
    theirs = dict(after.probes)
    common = [(name, runs, theirs[name]) for name, runs in before.probes if name in theirs]
    if not common:
        return None

    def readings(side: int) -> list[float]:  # run r of every probe is one moment (see SpeedRecord)
        n = min(len(c[side]) for c in common)
        return [_geomean([c[side][r] for c in common]) for r in range(n)]

    rb, ra = readings(1), readings(2)
    between = between_runs(rb, ra)
    probes = tuple((name, _geomean(a) / _geomean(b)) for name, b, a in common)
    return SpeedShift(_geomean(ra) / _geomean(rb), between.p, (len(rb), len(ra)), probes, before, after)


def speed_warning(shift: SpeedShift | None, factor: float, before_label: str, after_label: str) -> str | None:
    """One line when the machine's speed changed between the sides (`SpeedShift.decided`), else None."""
    if shift is None or not shift.decided(factor):
        return None
    how = f"x{shift.ratio:.2f} slower" if shift.ratio > 1 else f"x{1 / shift.ratio:.2f} faster"
    each = ", ".join(f"{name} x{r:.2f}" for name, r in shift.probes)
    return (f"machine speed: the noise probes ran {how} when {after_label} was measured "
            f"({shift.after.taken_at or 'time not recorded'}) than when {before_label} was "
            f"({shift.before.taken_at or 'time not recorded'}; p {shift.p:.2g}, {shift.runs[0]} and "
            f"{shift.runs[1]} runs): {each}; every ratio between the two sides carries that, so measure "
            "both sides again together (`torchperf continuous` interleaves them)")


def speed_warnings(before: Mapping[str, ResultsFile], after: Mapping[str, ResultsFile], meta_dir: Path,
                   factor: float, before_label: str, after_label: str) -> list[str]:
    """The speed line of every environment pair whose latest runs' probes differ beyond `factor`
    (once per distinct pair of runs: the environments of one run share its probes)."""
    out: list[str] = []
    for env in sorted(set(before) & set(after)):
        rb, ra = latest_speed(before[env].path, meta_dir), latest_speed(after[env].path, meta_dir)
        if rb is None or ra is None or rb == ra:  # unrecorded, or one run measured both sides
            continue
        line = speed_warning(speed_shift(rb, ra), factor, before_label, after_label)
        if line is not None and line not in out:
            out.append(line)
    return out

"""How far this machine's numbers can be trusted: the minimum detectable slowdown.

Pure arithmetic on repeated runs of a probe (no I/O, no torch): each run is the list of per-call
samples (seconds) one measurement produced; running the same probe several times shows both the
noise inside a run and the drift between runs, which is what a comparison of two results really
faces (the two sides of `torchperf compare` are always two different runs).

Figures per probe
- relative IQR (IQR/median) of each run, and its median over runs;
- the coefficient of variation of the run medians (sample standard deviation / mean): run-to-run
  variation;
- drift: the largest ratio between two run medians, minus one (max/min - 1);
- false-alarm rate: over all ordered pairs of runs of the *same* code, the share that the comparison
  rule flags as a regression;
- the minimum detectable slowdown (MDS).

The comparison rule is `asv compare`'s, evaluated with asv's own functions so that it matches
exactly: summary statistics from `asv_runner.statistics.compute_stats`, significance from
`asv._stats.is_different` (Mann-Whitney U at p < 0.002 when the two sample counts allow a p-value
that small, 1/C(n+m, min(n, m)) < 0.002: 6+6, 5+7, 4+10, ... samples; otherwise the two 99%
confidence intervals of the median must not overlap), and the new median must exceed the old one by
more than `factor` (default 1.07, see DEFAULT_FACTOR).

Method (MDS)
For a candidate slowdown s on the grid 1%, 2%, ..., 100%, take every ordered pair (i, j), i != j, of
runs, multiply run j's samples by (1 + s) and ask the comparison rule whether run j is a regression
of run i. The detection rate is the share of pairs flagged. The statistical MDS is the smallest s on
the grid such that the rate is at least 90% at s *and at every larger grid point* (so one lucky grid
point does not count). Scaling real runs keeps the real shape of the noise, outliers included, and
pairing *different* runs includes the run-to-run drift; the pairs are all enumerated, so the figure
is deterministic. The MDS is then bounded below by the drift: a slowdown smaller than the distance
between two runs of unchanged code cannot be told apart from drift, whatever a test says. Because of
`factor`, the MDS is never below factor - 1; `mds_significance` (the same search with factor 1)
shows how much of it is the factor and how much is noise. None means "more than 100%".

At least two runs are needed; the MDS uses the sample counts of the runs given, so it answers for
measurements taken the same way (a run with more samples detects smaller changes).
"""

from __future__ import annotations

import math
import statistics as _pystats
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Mapping, Sequence

from torchperf_core.engine import stats
from torchperf_core.formats import check_format_version
from torchperf_core.store import SpeedRecord
from torchperf_core.verdict import DEFAULT_FACTOR, P_THRESHOLD, SLOWER, judge

# noise.json format history:
#   1 — first version: probes with raw per-run samples plus the derived figures (for readers that
#       do not want to recompute them), factor, p_threshold, detection_rate, threads, cpus, taken_at.
#       (+ "torch": the torch version that ran the probes; optional, so files without it read as None)
NOISE_FORMAT_VERSION = 1

DETECTION_RATE = 0.9
SLOWDOWN_GRID: tuple[float, ...] = tuple(i / 100 for i in range(1, 101))

Runs = Sequence[Sequence[float]]


@dataclass(frozen=True)
class _Side:
    """One side of a comparison as asv sees it: median, stats dict, raw samples."""

    value: float
    stats: dict[str, Any]
    samples: tuple[float, ...]
    version = None  # the probe's code does not change between runs
    is_missing = False

    @classmethod
    def of(cls, samples: Sequence[float]) -> "_Side":
        from asv_runner.statistics import compute_stats

        value, st = compute_stats(list(samples), 1)
        return cls(value, st, tuple(samples))

    def scaled(self, k: float) -> "_Side":
        # compute_stats is scale-equivariant (quantiles, order-statistic CIs and the Laplace
        # posterior all scale with the data), so scaling its output equals recomputing it.
        st = dict(self.stats)
        for key in ("ci_99_a", "ci_99_b", "q_25", "q_75"):
            st[key] = st[key] * k
        return _Side(self.value * k, st, tuple(x * k for x in self.samples))


def _is_regression(before: _Side, after: _Side, factor: float) -> bool:
    return judge(before, after, factor)[0] == SLOWER


def is_regression(before: Sequence[float], after: Sequence[float], factor: float = DEFAULT_FACTOR) -> bool:
    """`asv compare`'s verdict: is `after` (per-call samples) a significant slowdown of `before`?"""
    return _is_regression(_Side.of(before), _Side.of(after), factor)


def _check_runs(runs: Runs) -> None:
    if len(runs) < 2:
        raise ValueError(f"need at least 2 runs of a probe, got {len(runs)}")
    for run in runs:
        if len(run) == 0:
            raise ValueError("a run has no samples")


def run_medians(runs: Runs) -> tuple[float, ...]:
    return tuple(stats.median(run) for run in runs)


def run_relative_iqrs(runs: Runs) -> tuple[float, ...]:
    return tuple(stats.relative_iqr(run) for run in runs)


def cv_of_medians(runs: Runs) -> float:
    """Sample standard deviation of the run medians over their mean."""
    medians = run_medians(runs)
    return _pystats.stdev(medians) / _pystats.fmean(medians)


def drift(runs: Runs) -> float:
    """max(run median) / min(run median) - 1: the largest apparent change between unchanged runs."""
    medians = run_medians(runs)
    return max(medians) / min(medians) - 1.0


def detection_rate(runs: Runs, slowdown: float, factor: float = DEFAULT_FACTOR) -> float:
    """Share of ordered pairs (i, j), i != j, where run j slowed by `slowdown` is flagged vs run i."""
    _check_runs(runs)
    sides = [_Side.of(run) for run in runs]
    return _detection_rate(sides, slowdown, factor)


def _detection_rate(sides: list[_Side], slowdown: float, factor: float) -> float:
    slowed = [side.scaled(1.0 + slowdown) for side in sides]
    pairs = [(i, j) for i in range(len(sides)) for j in range(len(sides)) if i != j]
    hits = sum(_is_regression(sides[i], slowed[j], factor) for i, j in pairs)
    return hits / len(pairs)


def false_alarm_rate(runs: Runs, factor: float = DEFAULT_FACTOR) -> float:
    """Share of ordered pairs of unchanged runs that the comparison rule calls a regression."""
    return detection_rate(runs, 0.0, factor)


def statistical_mds(runs: Runs, factor: float = DEFAULT_FACTOR, *, rate: float = DETECTION_RATE,
                    grid: Sequence[float] = SLOWDOWN_GRID) -> float | None:
    """Smallest grid slowdown detected in >= `rate` of run pairs, there and at every larger point."""
    _check_runs(runs)
    sides = [_Side.of(run) for run in runs]
    best = None
    for s in sorted(grid, reverse=True):
        if _detection_rate(sides, s, factor) >= rate:
            best = s
        else:
            break
    return best


def minimum_detectable_slowdown(runs: Runs, factor: float = DEFAULT_FACTOR, *,
                                rate: float = DETECTION_RATE,
                                grid: Sequence[float] = SLOWDOWN_GRID) -> float | None:
    """The statistical MDS bounded below by the drift of run medians (see the module docstring)."""
    s = statistical_mds(runs, factor, rate=rate, grid=grid)
    return None if s is None else max(s, drift(runs))


@dataclass(frozen=True)
class ProbeNoise:
    """Repeated runs of one probe; every figure is derived from the raw samples."""

    name: str
    runs: tuple[tuple[float, ...], ...]  # per run, per-call seconds
    factor: float = DEFAULT_FACTOR

    def __post_init__(self) -> None:
        _check_runs(self.runs)

    @cached_property
    def medians(self) -> tuple[float, ...]:
        return run_medians(self.runs)

    @cached_property
    def relative_iqrs(self) -> tuple[float, ...]:
        return run_relative_iqrs(self.runs)

    @property
    def median(self) -> float:
        """Median of the run medians: the probe's typical time per call."""
        return stats.median(self.medians)

    @property
    def relative_iqr(self) -> float:
        """Median over runs of IQR/median: the typical noise inside one run."""
        return stats.median(self.relative_iqrs)

    @cached_property
    def cv_of_medians(self) -> float:
        return cv_of_medians(self.runs)

    @cached_property
    def drift(self) -> float:
        return drift(self.runs)

    @cached_property
    def false_alarm_rate(self) -> float:
        return false_alarm_rate(self.runs, self.factor)

    @cached_property
    def mds_significance(self) -> float | None:
        """The MDS with factor 1: what the samples alone can resolve."""
        return minimum_detectable_slowdown(self.runs, 1.0)

    @cached_property
    def mds(self) -> float | None:
        """The MDS with `factor`: what `torchperf compare` will actually report."""
        return minimum_detectable_slowdown(self.runs, self.factor)

    def figures(self) -> dict[str, Any]:
        return {
            "median_s": self.median,
            "relative_iqr": self.relative_iqr,
            "cv_of_medians": self.cv_of_medians,
            "drift": self.drift,
            "false_alarm_rate": self.false_alarm_rate,
            "mds_significance": self.mds_significance,
            "mds": self.mds,
        }

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "samples_per_run": [len(r) for r in self.runs],
                "runs": [list(r) for r in self.runs], **self.figures()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], factor: float) -> "ProbeNoise":
        return cls(str(data["name"]), tuple(tuple(float(x) for x in r) for r in data["runs"]), factor)


@dataclass(frozen=True)
class NoiseReport:
    probes: tuple[ProbeNoise, ...]
    factor: float = DEFAULT_FACTOR
    threads: int | None = None
    cpus: tuple[int, ...] | None = None
    taken_at: str = field(default="")  # ISO 8601 UTC
    torch: str | None = None  # the torch version that ran the probes (None: not recorded)

    def __post_init__(self) -> None:
        for probe in self.probes:
            if probe.factor != self.factor:
                raise ValueError(f"probe {probe.name!r} uses factor {probe.factor}, report {self.factor}")

    def probe(self, name: str) -> ProbeNoise:
        for p in self.probes:
            if p.name == name:
                return p
        raise KeyError(name)

    def mds_for_time(self, seconds: float) -> float | None:
        """The MDS of the probe whose typical call time is nearest (on a log scale) to `seconds`.

        Noise depends mostly on how long one call takes, so this is the figure to quote for a
        benchmark of that duration.
        """
        if not self.probes or seconds <= 0:
            return None
        nearest = min(self.probes, key=lambda p: abs(math.log(p.median / seconds)))
        return nearest.mds

    def speed_record(self) -> SpeedRecord:
        """The machine's speed as these probes read it (each probe's run medians), for the sidecars
        of the run that took them."""
        return SpeedRecord(self.taken_at, self.threads, self.torch, tuple((p.name, p.medians) for p in self.probes))

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": NOISE_FORMAT_VERSION,
            "taken_at": self.taken_at,
            "torch": self.torch,
            "factor": self.factor,
            "p_threshold": P_THRESHOLD,
            "detection_rate": DETECTION_RATE,
            "threads": self.threads,
            "cpus": list(self.cpus) if self.cpus is not None else None,
            "probes": [p.to_json() for p in self.probes],
        }

    @classmethod
    def from_json(cls, data: Any, *, source: str = "") -> "NoiseReport":
        """Load a saved report (figures are recomputed from the raw runs, not trusted); another
        format_version is refused by the one shared check (`source` names the file)."""
        check_format_version(data, "noise report", NOISE_FORMAT_VERSION, source=source,
                             fix="re-run `torchperf noise --save`")
        factor = float(data["factor"])
        cpus = data.get("cpus")
        return cls(
            probes=tuple(ProbeNoise.from_json(p, factor) for p in data["probes"]),
            factor=factor,
            threads=data.get("threads"),
            cpus=tuple(cpus) if cpus is not None else None,
            taken_at=str(data.get("taken_at", "")),
            torch=str(data["torch"]) if data.get("torch") else None,
        )


def format_mds(probes: Iterable[tuple[str, float | None]]) -> str:
    """"mm 256 9%, mm 2048 >100%": each probe's minimum detectable slowdown (None: over 100%)."""
    return ", ".join(f"{name} {'>100%' if mds is None else f'{mds:.0%}'}" for name, mds in probes)

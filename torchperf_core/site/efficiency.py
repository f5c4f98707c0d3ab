"""Efficiency: each result's achieved rate as a fraction of the machine's calibrated ceilings.

The ceilings are `machine.Ceilings`, read by the one calibration reader (`load_site` calls it);
this module only pairs them with results. The flags travel with every figure: a fraction above 100%
says its ceiling is stale, and a provisional calibration (taken while the machine was not quiet)
says so, in the same words `torchperf bench` prints (`render.format_ceiling_fraction`,
`render.format_calibration`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from torchperf_core.machine import CeilingFraction, Ceilings
from torchperf_core.render import format_calibration, format_ceiling_fraction
from torchperf_core.site.data import ResultPoint, version_key

# The pages' name for the machine's ceilings: the calibration file as its one reader returns it.
Calibration = Ceilings


@dataclass(frozen=True)
class EfficiencyRow:
    """One result with its rates as fractions of the calibrated ceilings (None without one)."""

    point: ResultPoint
    peak: CeilingFraction | None
    bandwidth: CeilingFraction | None

    @property
    def stale(self) -> bool:
        """True when a rate exceeds its ceiling: the calibration no longer describes the machine."""
        return any(f is not None and f.stale for f in (self.peak, self.bandwidth))

    @property
    def peak_text(self) -> str:
        return format_ceiling_fraction(self.peak, missing="")

    @property
    def bandwidth_text(self) -> str:
        return format_ceiling_fraction(self.bandwidth, missing="")


def efficiency_rows(points: Iterable[ResultPoint], calibration: Ceilings | None) -> list[EfficiencyRow]:
    """Results with a FLOP or byte model, by (torch release, benchmark, parameter set)."""
    rows = []
    for p in sorted(points, key=lambda p: (version_key(p.torch_version), p.benchmark, p.param_index)):
        if not p.ok or not (p.gflops or p.gbps):
            continue
        peak = calibration.peak_fraction(p.dtype, p.gflops) if calibration else None
        bandwidth = calibration.bandwidth_fraction(p.gbps) if calibration else None
        rows.append(EfficiencyRow(p, peak, bandwidth))
    return rows


def calibration_note(calibration: Ceilings | None) -> str:
    """When the ceilings were measured and whether they are provisional; "" without a calibration."""
    return format_calibration(calibration) if calibration is not None else ""

"""How quiet the machine was: the doctor's verdict and the noise figures stored with the results.

`torchperf doctor --save` and `torchperf noise --save` (both run by `torchperf run`) leave
`meta/<machine>/doctor.json` and `noise.json`. `compare` and the published site read them here, so a
reader knows whether a number came from a quiet or a noisy machine, and `compare` can say when a
reported change is smaller than the smallest slowdown this machine can honestly detect.

Unreadable files never stop a comparison: they are named in `problems` and left untouched.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from torchperf_core.doctor import DoctorReport
from torchperf_core.noise import NoiseReport


@dataclass(frozen=True)
class MachineCondition:
    machine: str
    doctor: DoctorReport | None
    noise: NoiseReport | None
    problems: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        """"quiet", "noisy" or "unchecked" (no doctor report saved)."""
        if self.doctor is None:
            return "unchecked"
        return "noisy" if self.doctor.warnings else "quiet"

    def mds_for_time(self, seconds: float | None) -> float | None:
        """Minimum detectable slowdown for a benchmark whose call takes `seconds`; None if unknown
        (or more than 100%: then `math.inf`)."""
        if self.noise is None or not seconds or seconds <= 0 or math.isnan(seconds):
            return None
        mds = self.noise.mds_for_time(seconds)
        return math.inf if mds is None else mds

    def summary(self) -> str:
        """One line for compare's output and the site."""
        parts = [f"machine {self.machine}: {self.verdict}"]
        if self.doctor is not None and self.doctor.warnings:
            parts.append("doctor warns: " + "; ".join(c.name for c in self.doctor.warnings))
        if self.noise is not None:
            figures = []
            for probe in self.noise.probes:
                mds = probe.mds
                figures.append(f"{probe.name} {'>100%' if mds is None else f'{mds:.0%}'}")
            parts.append("minimum detectable slowdown: " + ", ".join(figures))
        else:
            parts.append("noise not measured (`torchperf noise --save`)")
        return "; ".join(parts)


def _read(path: Path, kind: str, problems: list[str]):  # noqa: ANN202
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return (DoctorReport if kind == "doctor" else NoiseReport).from_json(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        problems.append(f"{path}: unreadable {kind} report ({str(exc).splitlines()[0][:120]}); left as is")
        return None


def load_condition(meta_dir: str | Path, machine: str) -> MachineCondition:
    base = Path(meta_dir) / machine
    problems: list[str] = []
    doctor = _read(base / "doctor.json", "doctor", problems)
    noise = _read(base / "noise.json", "noise", problems)
    return MachineCondition(machine, doctor, noise, tuple(problems))

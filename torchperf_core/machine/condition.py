"""How quiet the machine was: the doctor's verdict and the noise figures stored with the results.

`torchperf doctor --save` and `torchperf noise --save` (both run by `torchperf run`) leave
`meta/<machine>/doctor.json` and `noise.json`. `compare` and the published site read them here, so a
reader knows whether a number came from a quiet or a noisy machine, and `compare` can say when a
reported change is smaller than the smallest slowdown this machine can honestly detect.

Unreadable files never stop a comparison: they are named in `problems` and left untouched. A file of
a format_version this torchperf does not read is refused by `formats.check_format_version`, whose
message becomes the problem line as it is (the same words the CLI would print).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from torchperf_core.machine.doctor import DoctorReport
from torchperf_core.errors import TorchperfError
from torchperf_core.store import meta_path
from torchperf_core.machine.noise import NoiseReport


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
            from torchperf_core.machine.noise import format_mds

            parts.append("minimum detectable slowdown: " + format_mds((p.name, p.mds) for p in self.noise.probes))
        else:
            parts.append("noise not measured (`torchperf noise --save`)")
        return "; ".join(parts)


def _read(path: Path, kind: str, problems: list[str]):  # noqa: ANN202
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return (DoctorReport if kind == "doctor" else NoiseReport).from_json(data, source=str(path))
    except TorchperfError as exc:
        problems.append(str(exc))
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        problems.append(f"{path}: unreadable {kind} report ({str(exc).splitlines()[0][:120]}); left as is")
        return None


def load_condition(meta_dir: str | Path, machine: str) -> MachineCondition:
    problems: list[str] = []
    try:
        doctor_file, noise_file = (meta_path(name, machine, meta_dir) for name in ("doctor.json", "noise.json"))
    except TorchperfError:  # not a plain name (e.g. "../x" in a hostile results folder): nothing to read
        return MachineCondition(machine, None, None)
    doctor = _read(doctor_file, "doctor", problems)
    noise = _read(noise_file, "noise", problems)
    return MachineCondition(machine, doctor, noise, tuple(problems))

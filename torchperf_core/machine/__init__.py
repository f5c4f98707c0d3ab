"""The machine: how far its numbers can be trusted.

The doctor's read-only checks, the noise probes and the minimum detectable slowdown, the measured
ceilings (calibration), CPU affinity, and the condition stored with results and shown beside them.
"""

from torchperf_core.machine.calibration import CALIBRATION_FORMAT_VERSION, CeilingFraction, Ceilings, measure_ceilings
from torchperf_core.machine.calibration import recalibration_due
from torchperf_core.machine.calibration import default_path as calibration_path
from torchperf_core.machine.calibration import load as load_calibration
from torchperf_core.machine.calibration import save as save_calibration
from torchperf_core.machine.checks import NOISE_RUNS, NOISE_SAMPLES, PROBES, measure_noise, record_machine_condition
from torchperf_core.machine.condition import MachineCondition, load_condition
from torchperf_core.machine.doctor import DOCTOR_FORMAT_VERSION, Check, DoctorReport, run_checks
from torchperf_core.machine.noise import DEFAULT_FACTOR, NOISE_FORMAT_VERSION, NoiseReport, ProbeNoise, format_mds
from torchperf_core.machine.validate import run_validation

__all__ = [
    "CALIBRATION_FORMAT_VERSION", "CeilingFraction", "Ceilings", "Check", "DEFAULT_FACTOR", "DOCTOR_FORMAT_VERSION", "DoctorReport",
    "MachineCondition", "NOISE_FORMAT_VERSION", "NOISE_RUNS", "NOISE_SAMPLES", "NoiseReport", "PROBES", "ProbeNoise",
    "calibration_path", "format_mds", "load_calibration", "load_condition", "measure_ceilings", "measure_noise", "recalibration_due", "record_machine_condition", "run_checks",
    "run_validation", "save_calibration",
]  # fmt: skip

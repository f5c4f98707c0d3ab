"""Taking the machine's condition: the doctor's verdict, the noise probes, the ceilings.

`torchperf run` records all three next to the results before it benchmarks (`meta/<machine>/`), so
`compare` and the site can say whether a number came from a quiet or a noisy machine, how small a
change it can honestly detect, and how close each op runs to what this machine can do.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from torchperf_core.machine.noise import DEFAULT_FACTOR, NoiseReport, ProbeNoise

if TYPE_CHECKING:
    from torchperf_core.machine.doctor import DoctorReport

# Each probe's runs and samples a run: `torchperf run` takes them at its start (noise.json) and again
# before each later torch version (the machine's speed in that version's sidecar).
NOISE_RUNS, NOISE_SAMPLES = 3, 10

# (label, op, size): small / medium / large fp32 matmul and a memory-bound add of 16M floats.
PROBES = (
    ("mm 256", "mm", 256),
    ("mm 1024", "mm", 1024),
    ("mm 2048", "mm", 2048),
    ("add 4096x4096", "add", 4096),
)


def measure_noise(runs: int, samples: int, threads: int | None, factor: float = DEFAULT_FACTOR,
                  progress: Callable[[str], None] | None = None) -> NoiseReport:
    """Run every probe `runs` times with the engine; the report derives the figures."""
    from torchperf_core.engine import current_affinity
    from torchperf_core.engine import TimingOptions
    from torchperf_core.engine import measure
    from torchperf_core.engine import default_threads

    threads = threads or default_threads()
    options = TimingOptions(samples=samples, min_samples=samples)
    collected: dict[str, list[tuple[float, ...]]] = {label: [] for label, _, _ in PROBES}
    # Interleave: run r of every probe before run r+1 of any, so a slow drift of the machine's
    # speed shows up as run-to-run variation of every probe instead of biasing one.
    for r in range(runs):
        for label, op, size in PROBES:
            if progress:
                progress(f"noise run {r + 1}/{runs}: {label}")
            m = measure(op, size, "float32", "cpu", threads=threads, options=options, seed=r)
            collected[label].append(tuple(m.samples))
    probes = tuple(ProbeNoise(label, tuple(collected[label]), factor) for label, _, _ in PROBES)
    taken_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    import torch  # already imported by the engine's measure

    return NoiseReport(probes, factor, threads, current_affinity(), taken_at, torch.__version__)


def record_machine_condition(machine: str, meta_dir: Path, *, noise_runs: int = NOISE_RUNS,
                             noise_samples: int = NOISE_SAMPLES,
                             calibrate_if_missing: bool = True,
                             log: Callable[[str], None] = lambda _m: None,
                             doctor: "DoctorReport | None" = None,
                             calibration_sizes: Sequence[int] = (1024, 2048),
                             calibration_dtypes: Sequence[str] = ("float32", "bfloat16", "float64"),
                             calibration_copy_bytes: int = 256 << 20) -> list[str]:
    """Save doctor.json, noise.json and calibration.json (when absent or provisional); return
    warnings to show.

    `doctor` is the machine's condition when the caller has just taken it (default: taken here).
    A provisional calibration (taken on a machine that was not quiet) is re-taken by the first run
    that finds the machine quiet: a low ceiling would overstate every efficiency figure, and
    re-taking it on a busy machine would only cost minutes to get another provisional one.
    """
    from torchperf_core.errors import TorchperfError
    from torchperf_core.machine import calibration as calibrate
    from torchperf_core.machine.doctor import run_checks
    from torchperf_core.store import meta_path, write_json
    from torchperf_core.machine.noise import format_mds

    warnings: list[str] = []
    doctor = doctor if doctor is not None else run_checks()
    doctor_file = write_json(meta_path("doctor.json", machine, meta_dir), doctor.to_json())
    for check in doctor.warnings:
        warnings.append(f"doctor: {check.name}: {check.detail}")
    log(f"doctor: {doctor.worst} ({len(doctor.warnings)} warning(s)); saved {doctor_file}")
    if noise_runs >= 2:
        noise = measure_noise(noise_runs, noise_samples, None, progress=log)
        write_json(meta_path("noise.json", machine, meta_dir), noise.to_json())
        log(f"minimum detectable slowdown: {format_mds((p.name, p.mds) for p in noise.probes)}")
    cal = calibrate.default_path(machine, Path(meta_dir).parent)
    try:
        due = calibrate.recalibration_due(cal) if calibrate_if_missing else None
    except TorchperfError as exc:  # a damaged file is the user's to look at: named, left as is
        warnings.append(f"calibration: {exc}")
        due = None
    if due == "provisional" and doctor.worst == "WARN":
        # Re-taking it now would measure the same busy machine: keep it, say so, re-take when quiet.
        warnings.append("calibration: still provisional (taken while the machine was not quiet); the first "
                        "`torchperf run` on a quiet machine re-takes it, or run `torchperf calibrate` then")
        due = None
    if due is not None:
        log("calibrating this machine's ceilings (once; `torchperf calibrate` re-measures)" if due == "missing"
            else "re-taking the provisional calibration (it was taken while the machine was not quiet)")
        ceilings = calibrate.measure_ceilings(machine, "cpu", dtypes=calibration_dtypes, sizes=calibration_sizes,
                                              copy_bytes=calibration_copy_bytes, progress=log, doctor=doctor)
        calibrate.save(ceilings, cal)
        if ceilings.provisional:
            warnings.append(f"calibration: provisional, the machine was not quiet ({ceilings.provisional_reason}); "
                            "the first `torchperf run` on a quiet machine re-takes it")
    return warnings

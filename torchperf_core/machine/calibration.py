"""Machine ceilings: the peak this machine actually reaches, so results can be read as a fraction.

`torchperf calibrate` measures a large matmul per dtype (the compute ceiling) and a large copy (the
memory-bandwidth ceiling) with the same engine as every benchmark, and stores them as JSON:

    {
      "format_version": 2,
      "machine": "<asv machine name>",
      "device": "cpu",
      "threads": 2,
      "torch_version": "2.13.0+cpu",
      "measured_at": "2026-11-24T20:40:00Z",
      "peak_gflops": {"float32": 205.1, "bfloat16": 890.2, ...},   # best of the sizes tried
      "bandwidth_gbps": 40.3,                                       # copy: read + write bytes / s
      "method": {"matmul_sizes": [1024, 2048], "copy_bytes": 268435456},
      "provisional": false,                                         # taken on a machine that was not quiet
      "provisional_reason": ""
    }

by default at `meta/<machine>/calibration.json`. A measured ceiling, not a datasheet one: the
efficiency page then answers "how close to what this box can do", which is what a user can act on.

Two ways a ceiling lies, both said out loud rather than hidden:
- taken while other work competed for the machine (the doctor's worst check is WARN), it is too low:
  the file says `provisional`, and `torchperf run` re-takes it;
- a benchmark above 100% of it means the ceiling is stale (new torch, new BLAS, another clock):
  every fraction above 1 carries that flag (`CeilingFraction.stale`).

`load` is the one reader (`torchperf bench`, the site, `torchperf run`); callers that go on without
a calibration catch its TorchperfError and show the message as it is.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from torchperf_core.errors import TorchperfError
from torchperf_core.formats import check_format_version
from torchperf_core.machine.doctor import DoctorReport, run_checks

# History of calibration.json:
#   1 — first version.
#   2 — adds "provisional" (bool) and "provisional_reason" (str): the doctor's worst check was WARN
#       while it was taken. Version-1 files are still read, as not provisional (nothing was recorded).
CALIBRATION_FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)
_FIX = "re-run `torchperf calibrate`"

# A rate above this fraction of its ceiling means the ceiling no longer describes the machine.
STALE_ABOVE = 1.0
# A matmul this slow per call is a fallback path: calibration stops growing the size for that dtype.
SLOW_CALL_SECONDS = 0.5


@dataclass(frozen=True)
class CeilingFraction:
    """A measured rate as a fraction of a calibrated ceiling ("peak" or "bandwidth").

    Above 1 nothing is wrong with the measurement: the ceiling is stale (measured with an older
    torch or BLAS, on a busier machine), and whoever shows the number must say so.
    """

    value: float
    ceiling: str  # "peak" | "bandwidth"

    @property
    def stale(self) -> bool:
        return self.value > STALE_ABOVE


@dataclass(frozen=True)
class Ceilings:
    machine: str
    device: str
    threads: int
    torch_version: str
    measured_at: str
    peak_gflops: Mapping[str, float]
    bandwidth_gbps: float | None
    method: Mapping[str, Any] = field(default_factory=dict)
    provisional: bool = False  # taken while the machine was not quiet: likely too low
    provisional_reason: str = ""  # the doctor's warnings at the time

    def peak_for(self, dtype: str | None) -> float | None:
        """The compute ceiling for `dtype`; tf32 falls back to float32's when not measured itself."""
        if dtype is None:
            return None
        return self.peak_gflops.get("float32" if dtype == "tf32" and "tf32" not in self.peak_gflops else dtype)

    def fraction_of_peak(self, dtype: str | None, gflops: float | None) -> float | None:
        peak = self.peak_for(dtype)
        return gflops / peak if gflops and peak else None

    def fraction_of_bandwidth(self, gbps: float | None) -> float | None:
        return gbps / self.bandwidth_gbps if gbps and self.bandwidth_gbps else None

    def peak_fraction(self, dtype: str | None, gflops: float | None) -> CeilingFraction | None:
        value = self.fraction_of_peak(dtype, gflops)
        return None if value is None else CeilingFraction(value, "peak")

    def bandwidth_fraction(self, gbps: float | None) -> CeilingFraction | None:
        value = self.fraction_of_bandwidth(gbps)
        return None if value is None else CeilingFraction(value, "bandwidth")

    def to_json(self) -> dict[str, Any]:
        return {"format_version": CALIBRATION_FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: Any, source: str = "") -> "Ceilings":
        version = check_format_version(data, "calibration", READABLE_FORMAT_VERSIONS, source=source, fix=_FIX)
        where = f"{source}: " if source else ""
        try:
            provisional = data.get("provisional", False) if version >= 2 else False
            if version >= 2 and not isinstance(provisional, bool):
                raise ValueError(f"provisional is {provisional!r}, not true/false")
            return cls(
                machine=str(data["machine"]),
                device=str(data["device"]),
                threads=int(data["threads"]),
                torch_version=str(data["torch_version"]),
                measured_at=str(data["measured_at"]),
                peak_gflops={str(k): _ceiling(v, f"peak_gflops[{k!r}]") for k, v in dict(data["peak_gflops"]).items()},
                bandwidth_gbps=None if data.get("bandwidth_gbps") is None
                else _ceiling(data["bandwidth_gbps"], "bandwidth_gbps"),
                method=dict(data.get("method") or {}),
                provisional=provisional,
                provisional_reason=str(data.get("provisional_reason") or "") if provisional else "",
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise TorchperfError(f"{where}malformed calibration ({exc}); {_FIX}") from None


def _ceiling(value: Any, what: str) -> float:
    """A ceiling is a finite positive number; anything else would make every fraction a lie."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} is {value!r}, not a positive number")
    return float(value)


def provisional_from(doctor: DoctorReport) -> tuple[bool, str]:
    """(provisional, reason): a calibration is provisional when the doctor's worst check is WARN."""
    if doctor.worst != "WARN":
        return False, ""
    return True, "; ".join(f"{c.name}: {c.detail}" for c in doctor.warnings)


def default_path(machine: str | None = None, root: str | os.PathLike[str] = ".") -> Path:
    """`meta/<machine>/calibration.json` (machine: asv's default, this host's name)."""
    from torchperf_core.store import meta_path

    return meta_path("calibration.json", machine, Path(root) / "meta")


def load(path: str | os.PathLike[str]) -> Ceilings:
    """The one calibration reader: a TorchperfError naming the file for anything it cannot use
    (missing, not JSON, another format_version, a ceiling that is not a positive number)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TorchperfError(f"no calibration at {p}; run `torchperf calibrate` first") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TorchperfError(f"{p}: corrupt calibration file ({type(exc).__name__}); "
                             "it was left as is — move it away and re-run `torchperf calibrate`") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TorchperfError(f"{p}: corrupt calibration file ({exc.msg} at line {exc.lineno}); "
                             "it was left as is — move it away and re-run `torchperf calibrate`") from None
    except RecursionError:
        raise TorchperfError(f"{p}: corrupt calibration file (nested too deeply); "
                             "it was left as is — move it away and re-run `torchperf calibrate`") from None
    return Ceilings.from_json(data, str(p))


def recalibration_due(path: str | os.PathLike[str]) -> str | None:
    """Why `torchperf run` should (re)take the calibration at `path`: "missing", "provisional", or
    None when a settled one is there. An unreadable file raises (it is left for the user to look at)."""
    p = Path(path)
    if not p.exists():
        return "missing"
    return "provisional" if load(p).provisional else None


def save(ceilings: Ceilings, path: str | os.PathLike[str]) -> Path:
    """Write atomically (temp file + rename) so an interrupted run never leaves half a file."""
    from torchperf_core.store import write_json

    return write_json(Path(path), ceilings.to_json())


def measure_ceilings(
    machine: str,
    device: str = "cpu",
    *,
    threads: int | None = None,
    dtypes: Sequence[str] = ("float32", "bfloat16", "float16", "float64"),
    sizes: Sequence[int] = (1024, 2048),
    copy_bytes: int = 256 << 20,
    progress: Callable[[str], None] = lambda _msg: None,
    doctor: DoctorReport | None = None,
) -> Ceilings:
    """Best GFLOP/s over `sizes` per dtype (mm), and copy bandwidth for a `copy_bytes` buffer.

    `doctor` is the machine's condition just before measuring (taken now when not given): with a
    WARN in it the ceilings are stored as provisional, since competing work lowers every peak.
    """
    import torch

    from torchperf_core.engine import parse_device
    from torchperf_core.engine import TimingOptions, time_callable
    from torchperf_core.errors import UnsupportedCase
    from torchperf_core.engine import measure
    from torchperf_core.engine import default_threads, pinned_threads

    dev = parse_device(device)
    threads = threads or default_threads()
    provisional, reason = provisional_from(doctor if doctor is not None else run_checks())
    if provisional:
        progress(f"the machine is not quiet ({reason}): these ceilings are stored as provisional")
    options = TimingOptions(samples=7, min_samples=3, max_time=3.0)
    peaks: dict[str, float] = {}
    for dtype in dtypes:
        best = 0.0
        for n in sorted(sizes):
            try:
                m = measure("mm", n, dtype, dev, threads=threads, options=options)
            except UnsupportedCase:
                break
            progress(f"mm {n} {dtype}: {m.gflops:,.1f} GFLOP/s")
            best = max(best, m.gflops or 0.0)
            if m.median > SLOW_CALL_SECONDS:
                # A fallback kernel (bf16 without native support: 59 s per 2048² call on an AVX2
                # EPYC): a larger size would cost minutes and tell nothing the smaller one did not.
                progress(f"mm {n} {dtype} takes {m.median:.1f} s a call: larger sizes skipped")
                break
        if best:
            peaks[dtype] = _rounded(best)
    src = torch.empty(copy_bytes // 4, dtype=torch.float32, device=dev.torch()).uniform_()
    dst = torch.empty_like(src)
    with pinned_threads(threads):
        raw = time_callable(lambda: dst.copy_(src), device=dev, options=options)
    from torchperf_core.engine import stats

    bandwidth = 2 * copy_bytes / stats.median(raw.samples) / 1e9
    progress(f"copy {copy_bytes >> 20} MiB: {bandwidth:,.1f} GB/s")
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return Ceilings(
        machine=machine,
        device=str(dev),
        threads=threads,
        torch_version=str(torch.__version__),
        measured_at=now,
        peak_gflops=peaks,
        bandwidth_gbps=_rounded(bandwidth),
        method={"matmul_sizes": list(sizes), "copy_bytes": copy_bytes, "op": "mm"},
        provisional=provisional,
        provisional_reason=reason,
    )


def _rounded(value: float) -> float:
    """Four significant digits: a slow case (a tiny size, a busy machine) keeps a positive ceiling
    instead of rounding to 0.0, which the reader would refuse."""
    return float(f"{value:.4g}")

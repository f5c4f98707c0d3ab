"""Machine ceilings: the peak this machine actually reaches, so results can be read as a fraction.

`torchperf calibrate` measures a large matmul per dtype (the compute ceiling) and a large copy (the
memory-bandwidth ceiling) with the same engine as every benchmark, and stores them as JSON:

    {
      "format_version": 1,
      "machine": "<asv machine name>",
      "device": "cpu",
      "threads": 2,
      "torch_version": "2.13.0+cpu",
      "measured_at": "2026-11-24T20:40:00Z",
      "peak_gflops": {"float32": 205.1, "bfloat16": 890.2, ...},   # best of the sizes tried
      "bandwidth_gbps": 40.3,                                       # copy: read + write bytes / s
      "method": {"matmul_sizes": [1024, 2048], "copy_bytes": 268435456}
    }

by default at `meta/<machine>/calibration.json`. A measured ceiling, not a datasheet one: the
efficiency page then answers "how close to what this box can do", which is what a user can act on.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from torchperf_core.errors import TorchperfError

# History of calibration.json:
#   1 — first version.
CALIBRATION_FORMAT_VERSION = 1


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

    def fraction_of_peak(self, dtype: str, gflops: float | None) -> float | None:
        peak = self.peak_gflops.get("float32" if dtype == "tf32" and "tf32" not in self.peak_gflops else dtype)
        return gflops / peak if gflops and peak else None

    def fraction_of_bandwidth(self, gbps: float | None) -> float | None:
        return gbps / self.bandwidth_gbps if gbps and self.bandwidth_gbps else None

    def to_json(self) -> dict[str, Any]:
        return {"format_version": CALIBRATION_FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "calibration file") -> "Ceilings":
        if not isinstance(data, Mapping):
            raise TorchperfError(f"{source}: not a JSON object")
        version = data.get("format_version")
        if version != CALIBRATION_FORMAT_VERSION:
            raise TorchperfError(
                f"{source}: format_version {version!r} not supported (this torchperf reads "
                f"{CALIBRATION_FORMAT_VERSION}); re-run `torchperf calibrate`"
            )
        try:
            return cls(
                machine=str(data["machine"]),
                device=str(data["device"]),
                threads=int(data["threads"]),
                torch_version=str(data["torch_version"]),
                measured_at=str(data["measured_at"]),
                peak_gflops={str(k): float(v) for k, v in dict(data["peak_gflops"]).items()},
                bandwidth_gbps=None if data.get("bandwidth_gbps") is None else float(data["bandwidth_gbps"]),
                method=dict(data.get("method", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TorchperfError(f"{source}: malformed calibration ({exc}); re-run `torchperf calibrate`") from exc


def default_path(machine: str | None = None, root: str | os.PathLike[str] = ".") -> Path:
    """`meta/<machine>/calibration.json` (machine: asv's default, this host's name)."""
    from torchperf_core.store import meta_path

    return meta_path("calibration.json", machine, Path(root) / "meta")


def load(path: str | os.PathLike[str]) -> Ceilings:
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise TorchperfError(f"no calibration at {p}; run `torchperf calibrate` first") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TorchperfError(f"{p}: corrupt calibration file ({exc.msg} at line {exc.lineno}); "
                             "it was left as is — move it away and re-run `torchperf calibrate`") from None
    return Ceilings.from_json(data, str(p))


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
) -> Ceilings:
    """Best GFLOP/s over `sizes` per dtype (mm), and copy bandwidth for a `copy_bytes` buffer."""
    import torch

    from torchperf_core.engine import parse_device
    from torchperf_core.engine import TimingOptions, time_callable
    from torchperf_core.errors import UnsupportedCase
    from torchperf_core.engine import measure
    from torchperf_core.engine import default_threads, pinned_threads

    dev = parse_device(device)
    threads = threads or default_threads()
    options = TimingOptions(samples=7, min_samples=3, max_time=3.0)
    peaks: dict[str, float] = {}
    for dtype in dtypes:
        best = 0.0
        for n in sizes:
            try:
                m = measure("mm", n, dtype, dev, threads=threads, options=options)
            except UnsupportedCase:
                break
            progress(f"mm {n} {dtype}: {m.gflops:,.1f} GFLOP/s")
            best = max(best, m.gflops or 0.0)
        if best:
            peaks[dtype] = round(best, 2)
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
        bandwidth_gbps=round(bandwidth, 2),
        method={"matmul_sizes": list(sizes), "copy_bytes": copy_bytes, "op": "mm"},
    )

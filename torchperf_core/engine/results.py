"""Measurements as immutable values: what was run (`TaskSpec`) and its raw samples (`Measurement`).

Statistics are derived from the samples on demand by the pure functions in `stats`; nothing here
prints or imports torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from torchperf_core.engine import stats
from torchperf_core.engine.contention import Contention
from torchperf_core.formats import check_format_version

# History of the JSON written by Measurement.to_json:
#   1 — first version (spec, per-call samples, number, warmup_calls, flops, bytes_moved).
#   2 — "contention": how disturbed the samples were (engine.contention.Contention), or null.
RESULTS_FORMAT_VERSION = 2


@dataclass(frozen=True)
class TaskSpec:
    """Everything that determines what a measurement measured."""

    op: str
    shape: tuple[tuple[str, int], ...]
    dtype: str
    device: str
    layout: str = "contiguous"
    threads: int = 1
    precision: str = "highest"
    cold_l2: bool = False
    timing_mode: str = "sync"
    backward: bool = False

    def shape_text(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.shape)

    def label(self) -> str:
        extra = "" if self.layout == "contiguous" else f" {self.layout}"
        return f"{self.op}[{self.shape_text()}] {self.dtype}{extra} on {self.device}"


@dataclass(frozen=True)
class Measurement:
    """Raw samples of one task. `samples[i]` is seconds per call in sample i (= batch time / number)."""

    spec: TaskSpec
    samples: tuple[float, ...]
    number: int
    warmup_calls: int
    flops: float | None = None
    bytes_moved: float | None = None
    overhead: float | None = None  # measured cost of one clock read, seconds
    notes: tuple[str, ...] = field(default=())
    contention: Contention | None = None  # None: not watched

    def __post_init__(self) -> None:
        if not self.samples:
            raise ValueError("a Measurement needs at least one sample")
        if self.number < 1:
            raise ValueError("number must be >= 1")

    @cached_property
    def median(self) -> float:
        return stats.median(self.samples)

    @cached_property
    def iqr(self) -> float:
        return stats.iqr(self.samples)

    @cached_property
    def q25(self) -> float:
        return stats.quantile(self.samples, 0.25)

    @cached_property
    def q75(self) -> float:
        return stats.quantile(self.samples, 0.75)

    @cached_property
    def relative_iqr(self) -> float:
        return stats.relative_iqr(self.samples)

    @cached_property
    def ci99(self) -> tuple[float, float]:
        return stats.ci99_median(self.samples)

    @cached_property
    def noise_warning(self) -> str | None:
        return stats.noise_warning(self.samples)

    @property
    def gflops(self) -> float | None:
        """Achieved GFLOP/s at the median; None for ops without a FLOP model."""
        if not self.flops:
            return None
        return self.flops / self.median / 1e9

    @property
    def gbps(self) -> float | None:
        """Achieved GB/s (minimum bytes moved / median time)."""
        if not self.bytes_moved:
            return None
        return self.bytes_moved / self.median / 1e9

    def to_json(self) -> dict[str, Any]:
        spec = asdict(self.spec)
        spec["shape"] = [list(kv) for kv in self.spec.shape]
        lo, hi = self.ci99
        return {
            "format_version": RESULTS_FORMAT_VERSION,
            "spec": spec,
            "samples": list(self.samples),
            "number": self.number,
            "warmup_calls": self.warmup_calls,
            "flops": self.flops,
            "bytes_moved": self.bytes_moved,
            "overhead": self.overhead,
            "notes": list(self.notes),
            "contention": self.contention.to_json() if self.contention else None,
            # Derived, for readers that don't recompute; ignored by from_json.
            "stats": {
                "median": self.median,
                "q25": self.q25,
                "q75": self.q75,
                "ci99": [None if math.isinf(lo) else lo, None if math.isinf(hi) else hi],
                "gflops": self.gflops,
                "gbps": self.gbps,
            },
        }

    @classmethod
    def from_json(cls, data: Any, *, source: str = "") -> "Measurement":
        """Load `torchperf bench --json` output; another format_version is refused by the one shared
        check (`source` names the file). The derived "stats" block is ignored: it is recomputed."""
        check_format_version(data, "measurement", (1, RESULTS_FORMAT_VERSION), source=source,
                             fix="re-run `torchperf bench --json`")
        spec = dict(data["spec"])
        spec["shape"] = tuple((str(k), int(v)) for k, v in spec["shape"])
        return cls(
            spec=TaskSpec(**spec),
            samples=tuple(float(s) for s in data["samples"]),
            number=int(data["number"]),
            warmup_calls=int(data["warmup_calls"]),
            flops=data.get("flops"),
            bytes_moved=data.get("bytes_moved"),
            overhead=data.get("overhead"),
            notes=tuple(data.get("notes", ())),
            contention=Contention.from_json(data["contention"]) if data.get("contention") else None,
        )

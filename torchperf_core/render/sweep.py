"""`torchperf sweep`'s table: one operator over sizes, time and rates per size (strings only)."""

from __future__ import annotations

from typing import Sequence

from torchperf_core.engine import Measurement
from torchperf_core.render.text import format_rate, format_time, table


def render_sweep(sizes: Sequence[int], measurements: Sequence[Measurement], dtype: str) -> str:
    """A heading (op, the dtype as the user named it, device, threads) and one row per size.

    `dtype` is the user's spelling (e.g. tf32), which the measurement's spec may record differently.
    """
    spec = measurements[0].spec
    rows = [[str(n), format_time(m.median), f"{m.relative_iqr:.1%}", format_rate(m.gflops, "GFLOP/s"),
             format_rate(m.gbps, "GB/s")] for n, m in zip(sizes, measurements)]
    heading = f"{spec.op} {dtype} on {spec.device}, {spec.threads} threads"
    return heading + "\n" + table(["size", "median", "IQR/med", "GFLOP/s", "GB/s"], rows)

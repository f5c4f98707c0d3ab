"""The summary `torchperf run` prints: each case × torch version, its median, GFLOP/s and the ratio
to the oldest version.

The rows are taken by shape (SummaryRowLike), not by the run room's SummaryRow type: render sits
below run in the layers and must not import it.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from torchperf_core.render.text import format_rate, format_time, table


class SummaryRowLike(Protocol):
    """What the summary reads from a row (torchperf_core.run's SummaryRow has these fields)."""

    @property
    def benchmark(self) -> str: ...
    @property
    def params(self) -> str: ...
    @property
    def torch_version(self) -> str: ...
    @property
    def median(self) -> float | None: ...
    @property
    def gflops(self) -> float | None: ...
    @property
    def ratio(self) -> float | None: ...
    @property
    def status(self) -> str: ...
    @property
    def flavour(self) -> str | None: ...


def render_summary(rows: Sequence[SummaryRowLike], limit: int) -> str:
    """The table, in the rows' order (the run room sorts them, biggest slowdowns first), cut after
    `limit` cases (0: all) with a line saying how many were left out."""
    cases: list[tuple[str, str]] = []
    for row in rows:
        key = (row.benchmark, row.params)
        if key not in cases:
            cases.append(key)
    shown = cases if limit <= 0 else cases[:limit]
    keep = set(shown)
    body = [
        [f"{r.benchmark.split('.', 1)[-1]}{r.params}",
         r.torch_version + (f" ({r.flavour})" if r.flavour else ""),
         format_time(r.median, missing="—" if r.status == "ok" else r.status),
         format_rate(r.gflops, "GFLOP/s"), "—" if r.ratio is None else f"{r.ratio:.2f}"]
        for r in rows if (r.benchmark, r.params) in keep
    ]
    text = table(["benchmark (params)", "torch", "median", "GFLOP/s", "vs oldest"], body, "llrrr")
    if len(shown) < len(cases):
        text += f"\n… {len(cases) - len(shown)} more cases (--limit 0 shows all)"
    return text

"""The summary `torchperf run` prints: each case × torch version, its median, GFLOP/s, the ratio
to the oldest version and the verdict on that ratio (a bare ratio is not a finding: with one run per
version it may be the drift between runs, and a contended case may be another process).

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
    @property
    def verdict(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def contended(self) -> bool: ...


def render_verdict_counts(rows: Sequence[SummaryRowLike]) -> list[str]:
    """One line per later torch version: how many cases are slower, faster, same, unknown, contended
    against the oldest — the headline, printed before the table."""
    by_version: dict[str, dict[str, int]] = {}
    for r in rows:
        if r.verdict is not None:
            counts = by_version.setdefault(r.torch_version, {})
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
    order = ("slower", "failed", "faster", "fixed", "unknown", "contended", "same")
    lines = []
    for version, counts in by_version.items():
        parts = [f"{counts[v]} {v}" for v in order if counts.get(v)]
        parts += [f"{n} {v}" for v, n in sorted(counts.items()) if v not in order]
        lines.append(f"torch {version} vs oldest: " + ", ".join(parts))
    if any(r.verdict == "unknown" for r in rows):
        lines.append("unknown: beyond the factor in one run, but the drift between separate runs is not measured; "
                     "`torchperf run --rounds 3` (or `torchperf continuous --torch A B`, interleaved) decides them")
    if any(r.verdict == "contended" for r in rows):
        lines.append("contended: other processes disturbed the measurement; re-run on a quiet machine "
                     "(or at `--threads 1`)")
    return lines


def render_summary(rows: Sequence[SummaryRowLike], limit: int) -> str:
    """The table, in the rows' order (the run room ranks decided slowdowns first, then the undecided,
    then the unchanged), cut after `limit` cases (0: all) with a line saying how many were left out."""
    cases: list[tuple[str, str]] = []
    statuses: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        key = (row.benchmark, row.params)
        statuses.setdefault(key, set()).add(row.status)
        if key not in cases:
            cases.append(key)
    # A case skipped in every version has nothing to show: the skip lines below the table list it.
    everywhere = [k for k in cases if statuses[k] == {"skipped"}]
    cases = [k for k in cases if statuses[k] != {"skipped"}]
    shown = cases if limit <= 0 else cases[:limit]
    keep = set(shown)
    body = [
        [f"{r.benchmark.split('.', 1)[-1]}{r.params}",
         r.torch_version + (f" ({r.flavour})" if r.flavour else ""),
         format_time(r.median, missing="—" if r.status == "ok" else r.status),
         format_rate(r.gflops, "GFLOP/s"), "—" if r.ratio is None else f"{r.ratio:.2f}",
         r.verdict or ("contended" if r.contended else "")]
        for r in rows if (r.benchmark, r.params) in keep
    ]
    text = table(["benchmark (params)", "torch", "median", "GFLOP/s", "vs oldest", "verdict"], body, "llrrrl")
    if len(shown) < len(cases):
        text += f"\n… {len(cases) - len(shown)} more cases (--limit 0 shows all)"
    if everywhere:
        text += f"\n({len(everywhere)} case(s) skipped in every version are not listed: see the skip reasons)"
    return text

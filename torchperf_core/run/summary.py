"""Step 6 of `torchperf run`: the summary rows, one per case and torch version."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from torchperf_core.run.guard import failed_or_skipped
from torchperf_core.store import flavour_of, release_of, sidecar_for, torch_version_of, version_key


@dataclass(frozen=True)
class SummaryRow:
    """One benchmark case × torch version: median per call, GFLOP/s, ratio to the oldest version."""

    benchmark: str
    params: str
    torch_version: str  # the release (store.release_of): one version, whatever its build
    median: float | None
    gflops: float | None
    ratio: float | None
    status: str = "ok"  # "failed": the benchmark raised (asv stored null); "skipped": asv stored NaN
    flavour: str | None = None  # the build's local tag ("cpu", "cu130"), shown beside the version


def _results_rows(path: Path) -> Iterable[tuple[str, str, float | None]]:
    data = json.loads(path.read_text())
    columns = data.get("result_columns", [])
    for name, values in data.get("results", {}).items():
        entry = dict(zip(columns, values))
        results = entry.get("result")
        params = entry.get("params") or []
        if not isinstance(results, list):
            results = [results]
        combos = list(itertools.product(*params)) if params else [()]
        for combo, value in zip(combos, results):
            median = value if isinstance(value, (int, float)) and not math.isnan(value) else None
            yield name, "(" + ", ".join(combo) + ")", median


def summarize(results_files: Iterable[Path], benchmarks_json: Path, meta_dir: Path | None = None) -> list[SummaryRow]:
    """Rows for every case and torch version in `results_files`, the biggest slowdowns first.

    The torch version comes from the sidecar (which also covers `--existing` runs), else from the
    results file's requirements.
    """
    try:
        benchmarks = json.loads(benchmarks_json.read_text())
    except (OSError, ValueError):
        benchmarks = {}
    table: dict[tuple[str, str], dict[str, float | None]] = {}
    status: dict[tuple[tuple[str, str], str], str] = {}
    flavours: dict[str, str | None] = {}
    for path in results_files:
        side = sidecar_for(path, meta_dir)
        data = json.loads(path.read_text())
        recorded = (side.torch_version if side else None) or torch_version_of(
            data.get("requirements") or {}, data.get("params") or {})
        version = release_of(recorded) or "?"  # the one torch-version rule: 2.13.0+cpu is 2.13.0
        if flavour_of(recorded):
            flavours[version] = flavour_of(recorded)
        for name, params, median in _results_rows(path):
            table.setdefault((name, params), {})[version] = median
        for key, state in failed_or_skipped(path).items():
            status[(key, version)] = state
    rows: list[SummaryRow] = []
    worst: dict[tuple[str, str], float] = {}
    for (name, params), by_version in table.items():
        versions = sorted(by_version, key=version_key)
        base = by_version[versions[0]]
        flops = (benchmarks.get(name) or {}).get("flops")
        f = flops.get(params) if isinstance(flops, dict) else None
        for v in versions:
            med = by_version[v]
            ratio = (med / base) if (med and base) else None
            rows.append(SummaryRow(benchmark=name, params=params, torch_version=v, median=med,
                                   gflops=(f / med / 1e9) if (f and med) else None, ratio=ratio,
                                   status=status.get(((name, params), v), "ok"), flavour=flavours.get(v)))
            worst[(name, params)] = max(worst.get((name, params), 0.0), ratio or 0.0)
    rows.sort(key=lambda r: (-worst[(r.benchmark, r.params)], r.benchmark, r.params, version_key(r.torch_version)))
    return rows

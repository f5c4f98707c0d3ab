"""Step 6 of `torchperf run`: the summary rows, one per case and torch version, each later version
with its verdict against the oldest.

The verdict is the compare room's (`compare_versions`, i.e. `verdict.judge_separate`): the same
answer `torchperf compare --torch OLDEST V` and the site give, contended and unknown included. A run
measures each version in a separate asv run, so with one round a change beyond the factor is
*unknown* (the drift between runs is not measured); `--rounds 3` gives the replicates a decision
needs. Only decided slowdowns are ranked as slowdowns: decided ones first, then the undecided,
then the unchanged.

The same comparisons say when the machine itself ran at another speed while a later version was
measured than while the oldest was (`Comparison.speed_lines`: the noise probes `run` takes before
each version); `run` shows those lines at the top, with the machine's condition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from torchperf_core.compare import Source, compare_versions
from torchperf_core.errors import TorchperfError
from torchperf_core.store import CaseCondition, flavour_of, read_results_file, release_of, sidecar_for, version_key
from torchperf_core.verdict import CONTENDED, DEFAULT_FACTOR, FAILED, FASTER, FIXED, SAME, SLOWER, UNKNOWN


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
    verdict: str | None = None  # against the oldest version (None: the oldest itself, or no pair)
    reason: str | None = None  # why the verdict is unknown or contended
    contended: bool = False  # this version's own measurement was disturbed (also the oldest's)


# How a case ranks, by its worst verdict over the versions: decided changes first, then the undecided.
_RANK = {SLOWER: 0, FAILED: 0, FASTER: 1, FIXED: 1, CONTENDED: 2, UNKNOWN: 2, SAME: 3}


def _key(params: Iterable[tuple[str, str]]) -> str:
    """(("size", "256"), ("dtype", "'float32'")) -> "(256, 'float32')": asv's repr strings joined."""
    return "(" + ", ".join(v for _, v in params) + ")"


@dataclass(frozen=True)
class RunSummary:
    rows: tuple[SummaryRow, ...]
    speed_lines: tuple[str, ...] = ()  # compare's machine-speed line of each later version against the oldest


def summarize(results_files: Iterable[Path], benchmarks_json: Path, meta_dir: Path | None = None) -> list[SummaryRow]:
    """Rows for every case and torch version in `results_files`, the biggest slowdowns first."""
    return list(summarize_run(results_files, benchmarks_json, meta_dir).rows)


def summarize_run(results_files: Iterable[Path], benchmarks_json: Path, meta_dir: Path | None = None) -> RunSummary:
    """The rows of every case and torch version in `results_files`, the biggest slowdowns first, and
    the machine-speed lines of the same comparisons.

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
    contended: set[tuple[str, str, str]] = set()
    files = list(results_files)  # read twice below: a generator must not run dry
    commit = ""
    for path in files:
        side = sidecar_for(path, meta_dir)
        results = read_results_file(path, benchmarks=benchmarks)  # the store's one reader
        commit = commit or results.commit
        recorded = (side.torch_version if side else None) or results.torch_version
        version = release_of(recorded) or "?"  # the one torch-version rule: 2.13.0+cpu is 2.13.0
        if flavour_of(recorded):
            flavours[version] = flavour_of(recorded)
        for (name, params), sample in results.entries.items():
            key = (name, _key(params))
            table.setdefault(key, {})[version] = None if sample.is_missing else sample.value
            if sample.is_missing:  # None: it raised; NaN: setup said not here
                status[(key, version)] = "failed" if sample.value is None else "skipped"
        for name, by_key in (side.cases if side else {}).items():  # the sidecar read above, not again
            contended.update((name, params, version) for params, record in by_key.items()
                             if CaseCondition.from_record(record).contended)
    verdicts, speed_lines = _verdicts(files, commit, sorted({v for by in table.values() for v in by}, key=version_key),
                                      meta_dir)
    rows: list[SummaryRow] = []
    worst: dict[tuple[str, str], float] = {}
    rank: dict[tuple[str, str], int] = {}
    for (name, params), by_version in table.items():
        versions = sorted(by_version, key=version_key)
        base = by_version[versions[0]]
        flops = (benchmarks.get(name) or {}).get("flops")
        f = flops.get(params) if isinstance(flops, dict) else None
        for v in versions:
            med = by_version[v]
            ratio = (med / base) if (med and base) else None
            verdict, reason = verdicts.get((name, params, v), (None, None)) if v != versions[0] else (None, None)
            rows.append(SummaryRow(benchmark=name, params=params, torch_version=v, median=med,
                                   gflops=(f / med / 1e9) if (f and med) else None, ratio=ratio,
                                   status=status.get(((name, params), v), "ok"), flavour=flavours.get(v),
                                   verdict=verdict, reason=reason, contended=(name, params, v) in contended))
            key = (name, params)
            rank[key] = min(rank.get(key, 4), _RANK.get(verdict or "", 4))
            if verdict in (SLOWER, FAILED, FASTER, FIXED) or key not in worst:
                worst[key] = max(worst.get(key, 0.0), ratio or 0.0)
    rows.sort(key=lambda r: (rank[(r.benchmark, r.params)], -worst[(r.benchmark, r.params)], r.benchmark,
                             r.params, version_key(r.torch_version)))
    return RunSummary(tuple(rows), speed_lines)


def _verdicts(files: Sequence[Path], commit: str, versions: list[str], meta_dir: Path | None
              ) -> tuple[dict[tuple[str, str, str], tuple[str, str | None]], tuple[str, ...]]:
    """(benchmark, params, version) -> (verdict, reason) of each later version against the oldest,
    from the compare room, and those comparisons' machine-speed lines; nothing when the files hold
    one version or cannot be compared."""
    if len(versions) < 2 or not files:
        return {}, ()
    results_dir, machine = files[0].parent.parent, files[0].parent.name
    source = Source(results_dir, meta_dir=meta_dir)
    out: dict[tuple[str, str, str], tuple[str, str | None]] = {}
    speed: list[str] = []
    for version in versions[1:]:
        try:
            comparison = compare_versions(source, [versions[0], version], commit=commit,
                                          factor=DEFAULT_FACTOR, machine=machine)
        except TorchperfError:
            continue  # e.g. the environments do not pair: the table still shows the ratios
        for row in comparison.rows:
            out[(row.benchmark, _key(row.params), version)] = (row.verdict, row.reason)
        speed.extend(line for line in comparison.speed_lines if line not in speed)
    return out, tuple(speed)

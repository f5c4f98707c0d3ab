"""Torch version against version at one commit (asv cannot: asv#370, #789, #1394), and the matrix
of three or more versions, each against the first. Environments are paired by the rest of their
name; the verdicts are the same `judge` as commit against commit."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from torchperf_core.compare.comparisons import (
    Cell,
    Comparison,
    MatrixRow,
    Params,
    Side,
    Source,
    VersionMatrix,
    _build,
    _files_at,
)
from torchperf_core.compare.speed import speed_warnings
from torchperf_core.errors import TorchperfError
from torchperf_core.store import (
    ResultsFile,
    ResultsStore,
    resolve_revision,
    strip_torch_from_env_name,
    torch_version_for,
)
from torchperf_core.verdict import DEFAULT_FACTOR, ONLY_AFTER, ONLY_BEFORE, SAME


def _by_version(files: Iterable[ResultsFile], meta_dir: Path) -> dict[str, dict[str, ResultsFile]]:
    """torch version -> {environment key without torch -> results file}."""
    out: dict[str, dict[str, ResultsFile]] = {}
    for f in files:
        version = torch_version_for(f, meta_dir)
        if version:
            out.setdefault(version, {})[strip_torch_from_env_name(f.env_name, version)] = f
    return out


def _latest_commit_with(store: ResultsStore, machine: str, versions: Sequence[str], meta_dir: Path) -> str | None:
    latest = None
    for commit in store.commits(machine):
        have = _by_version(_files_at(store, machine, commit), meta_dir)
        if all(v in have for v in versions):
            latest = commit
    return latest


def _version_files(
    store: ResultsStore, source: Source, versions: Sequence[str], commit: str | None, machine: str | None
) -> tuple[str, str, dict[str, dict[str, ResultsFile]]]:
    if len(versions) < 2:
        raise TorchperfError("--torch needs at least two versions, e.g. --torch 2.13.0 2.14.1")
    if len(set(versions)) != len(versions):
        raise TorchperfError(f"--torch lists a version twice: {' '.join(versions)}")
    m = store.pick_machine(machine)
    known = sorted({v for v in (torch_version_for(f, source.meta) for f in store.files(m)) if v})
    for v in versions:
        if v not in known:
            raise TorchperfError(
                f"unknown torch version {v!r}: no results for it on machine {m!r}; versions with "
                f"results: {', '.join(known) or 'none'}"
            )
    if commit is None:
        found = _latest_commit_with(store, m, versions, source.meta)
        if found is None:
            raise TorchperfError(
                f"no commit has results for all of torch {', '.join(versions)} on machine {m!r}; "
                "run them at one commit (torchperf run --torch ...)"
            )
    else:
        found = resolve_revision(commit, source.repo, store.commits(m))
    have = _by_version(_files_at(store, m, found), source.meta)
    for v in versions:
        if v not in have:
            raise TorchperfError(
                f"no results for torch {v} at commit {found[:8]} on machine {m!r}; versions there: "
                f"{', '.join(sorted(have)) or 'none'}"
            )
    return m, found, have


def compare_versions(
    source: Source,
    versions: Sequence[str],
    *,
    commit: str | None = None,
    factor: float = DEFAULT_FACTOR,
    machine: str | None = None,
    allow_different_machines: bool = False,
) -> Comparison:
    """Torch `versions[0]` against `versions[1]` at one commit, pairing environments by the rest
    of their name (python, other matrix entries)."""
    store = ResultsStore(source.results_dir)
    m, found, b, a = _version_pair(store, source, versions, commit, machine)
    v1, v2 = versions
    return _build(
        store, source, "torch",
        Side(f"torch {v1}", found, m, v1), Side(f"torch {v2}", found, m, v2),
        b, a, factor, allow_different_machines,
    )  # fmt: skip


def version_speed_lines(source: Source, versions: Sequence[str], *, commit: str | None = None,
                        factor: float = DEFAULT_FACTOR, machine: str | None = None) -> tuple[str, ...]:
    """`compare_versions(...).speed_lines` without building the comparison's rows: the same pairing
    of environments and the same `speed_warnings`, for a caller that shows only those lines."""
    _m, _found, b, a = _version_pair(ResultsStore(source.results_dir), source, versions, commit, machine)
    v1, v2 = versions
    return tuple(speed_warnings(b, a, source.meta, factor, f"torch {v1}", f"torch {v2}"))


def _version_pair(
    store: ResultsStore, source: Source, versions: Sequence[str], commit: str | None, machine: str | None
) -> tuple[str, str, dict[str, ResultsFile], dict[str, ResultsFile]]:
    """(machine, commit, before's files, after's files), environments paired by key."""
    if len(versions) != 2:
        raise TorchperfError(
            f"--torch needs at least two versions, e.g. --torch 2.13.0 2.14.1 (got {' '.join(versions) or 'none'}); "
            "three or more make a matrix"
        )
    m, found, have = _version_files(store, source, versions, commit, machine)
    b, a = have[versions[0]], have[versions[1]]
    if len(b) == 1 and len(a) == 1 and set(b) != set(a):
        # One environment per side under different names (e.g. an asv `existing` environment
        # against a built one): they are the only possible pair.
        key = f"{next(iter(b))} | {next(iter(a))}"
        b, a = {key: next(iter(b.values()))}, {key: next(iter(a.values()))}
    return m, found, b, a


def compare_version_matrix(
    source: Source,
    versions: Sequence[str],
    *,
    commit: str | None = None,
    factor: float = DEFAULT_FACTOR,
    machine: str | None = None,
    allow_different_machines: bool = False,
) -> VersionMatrix:
    """Every version against the first, as one table (rows: benchmarks; columns: versions)."""
    store = ResultsStore(source.results_dir)
    m, found, _ = _version_files(store, source, versions, commit, machine)
    pairwise = tuple(
        compare_versions(
            source, [versions[0], v], commit=found, factor=factor, machine=m,
            allow_different_machines=allow_different_machines,
        )  # fmt: skip
        for v in versions[1:]
    )
    keys: dict[tuple[str, Params, str], None] = {}
    for c in pairwise:
        for r in c.rows:
            keys.setdefault((r.benchmark, r.params, r.env), None)
    index = [{(r.benchmark, r.params, r.env): r for r in c.rows} for c in pairwise]
    rows = []
    for key in sorted(keys):
        first = next((ix[key] for ix in index if key in ix), None)
        unit = first.unit if first else None
        base_value = next((ix[key].before for ix in index if key in ix and ix[key].before is not None), None)
        base_err = next((ix[key].before_err for ix in index if key in ix and ix[key].before is not None), None)
        cells = [Cell(base_value, base_err, 1.0 if base_value is not None else None, SAME if base_value is not None else ONLY_AFTER)]
        for ix in index:
            r = ix.get(key)
            if r is None:
                cells.append(Cell(None, None, None, ONLY_BEFORE))
            else:
                cells.append(Cell(r.after, r.after_err, r.ratio, r.verdict))
        rows.append(MatrixRow(key[0], key[1], key[2], unit, tuple(cells)))
    return VersionMatrix(found, m, tuple(versions), factor, tuple(rows), pairwise)

"""Compare asv results: commit against commit, or PyTorch version against version at one commit.

`asv compare` pairs two commits per environment; it cannot pair two *environments* at one commit
(asv#370, #789, #1394) and always exits 0, so it can neither answer "what does moving to torch 2.14
do here?" nor gate a pull request. This module does both with asv's own judgement: the decision of
`asv compare` (Mann–Whitney U on raw samples when there are enough, else non-overlapping 99%
confidence intervals, and the ratio beyond `factor`) is asv's `_is_result_better`, called here, not
re-implemented — a torchperf verdict and an `asv compare` mark can never disagree.

Then it says *why*: the fingerprint sidecars (`meta/<machine>/<results file stem>.json`) of the two
sides are diffed (BLAS/MKL/oneDNN versions, threads, precision flags, CPU capability), and for each
op that changed significantly the backend kernels recorded on each side are shown when they differ.

Pure logic: returns frozen values; rendering is `render_compare`'s job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from torchperf_core.asv_store import (
    ResultsFile,
    ResultsStore,
    Sample,
    flops_for,
    resolve_revision,
    strip_torch_from_env_name,
)
from torchperf_core.compare_why import (  # noqa: F401 - re-exported: part of compare's API
    EnvDiff,
    KernelChange,
    _kernels,
    env_diff,
    kernel_changes,
    kernel_keys_for,
)
from torchperf_core.errors import TorchperfError

# JSON output history:
#   1 — first version: mode, sides, factor, rows, fingerprint and kernel differences, warnings.
COMPARE_FORMAT_VERSION = 1

# asv's default --factor for compare/continuous.
from torchperf_core.noise import DEFAULT_FACTOR  # noqa: E402 - one default for compare, noise and the site

# Verdicts, with asv compare's mark for each.
SLOWER, FASTER, SAME = "slower", "faster", "same"
FAILED, FIXED = "failed", "fixed"  # the benchmark started / stopped failing
BOTH_FAILED, SKIPPED = "both failed", "skipped"  # nothing to compare
ONLY_BEFORE, ONLY_AFTER = "only before", "only after"  # one side lacks the benchmark/parameters
INCOMPARABLE = "incomparable"  # the benchmark's `version` changed between the sides
MARKS = {
    SLOWER: "+", FASTER: "-", FAILED: "!", FIXED: "*", INCOMPARABLE: "x",
    SAME: " ", BOTH_FAILED: " ", SKIPPED: " ", ONLY_BEFORE: " ", ONLY_AFTER: " ",
}  # fmt: skip
# Verdicts that fail the gate (exit 1): asv continuous counts these two as "worsened".
REGRESSION_VERDICTS = (SLOWER, FAILED)

Params = tuple[tuple[str, str], ...]


def parse_factor(text: str | float) -> float:
    """`--factor`: a finite float > 1 (asv: a change must exceed it to count)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise TorchperfError(f"malformed factor {text!r}; give a number > 1, e.g. 1.1") from None
    if not math.isfinite(value) or value <= 1.0:
        raise TorchperfError(f"malformed factor {text!r}; give a number > 1, e.g. 1.1")
    return value


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a commit (and environment set) or a torch version at a commit."""

    label: str  # "b8a3a8cb" or "torch 2.13.0"
    commit: str
    machine: str
    torch_version: str | None = None


@dataclass(frozen=True)
class Row:
    """One benchmark × parameter set × environment, paired across the two sides."""

    benchmark: str
    params: Params
    env: str  # the environment (commit mode) or the environment without its torch pin (torch mode)
    before: float | None  # asv's value (median for timings); None when missing, failed or skipped
    after: float | None
    before_err: float | None  # half the IQR, as asv shows "±"
    after_err: float | None
    ratio: float | None  # after / before
    significant: bool  # asv would mark it + or -
    beyond_factor_only: bool  # ratio beyond the factor but not statistically significant (asv "~")
    verdict: str
    unit: str | None
    gflops_before: float | None = None
    gflops_after: float | None = None

    @property
    def mark(self) -> str:
        return MARKS[self.verdict]

    @property
    def name(self) -> str:
        """asv's display name: `bench.Class.time_x(1024, 'float32')`."""
        if not self.params:
            return self.benchmark
        return f"{self.benchmark}({', '.join(v for _, v in self.params)})"

    @property
    def changed(self) -> bool:
        return self.verdict in (SLOWER, FASTER, FAILED, FIXED)


@dataclass(frozen=True)
class Comparison:
    mode: str  # "commits" | "torch"
    before: Side
    after: Side
    factor: float
    rows: tuple[Row, ...]
    env_diffs: tuple[EnvDiff, ...] = ()
    kernel_changes: tuple[KernelChange, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def regressions(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.verdict in REGRESSION_VERDICTS)

    @property
    def exit_code(self) -> int:
        """1 when any benchmark got significantly slower beyond the factor (or started failing)."""
        return 1 if self.regressions else 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r.verdict] = out.get(r.verdict, 0) + 1
        return out


@dataclass(frozen=True)
class Cell:
    value: float | None
    err: float | None
    ratio: float | None  # to the first version
    verdict: str  # against the first version

    @property
    def mark(self) -> str:
        return MARKS[self.verdict]


@dataclass(frozen=True)
class MatrixRow:
    benchmark: str
    params: Params
    env: str
    unit: str | None
    cells: tuple[Cell, ...]

    @property
    def name(self) -> str:
        if not self.params:
            return self.benchmark
        return f"{self.benchmark}({', '.join(v for _, v in self.params)})"


@dataclass(frozen=True)
class VersionMatrix:
    """Three or more torch versions at one commit: every version against the first."""

    commit: str
    machine: str
    versions: tuple[str, ...]
    factor: float
    rows: tuple[MatrixRow, ...]
    pairwise: tuple[Comparison, ...] = field(repr=False, default=())  # first vs each other version

    @property
    def exit_code(self) -> int:
        return 1 if any(c.exit_code for c in self.pairwise) else 0


# --------------------------------------------------------------------------------------------------
# Significance: asv's own decision, one pair at a time.


def judge(before: Sample | None, after: Sample | None, factor: float) -> tuple[str, bool]:
    """(verdict, beyond_factor_only) for one pair, with `asv compare`'s decision table.

    The statistics are asv's `_is_result_better` (Mann–Whitney U or 99% CI overlap, then the
    factor); only the bookkeeping around missing/failed/skipped results is restated here.
    """
    from asv.commands.compare import _is_result_better  # asv's private helper: pinned asv==0.6.6

    if before is None:
        return ONLY_AFTER, False
    if after is None:
        return ONLY_BEFORE, False
    t1, t2 = before.value, after.value
    if before.version is not None and after.version is not None and before.version != after.version:
        return INCOMPARABLE, False
    if t1 is not None and t2 is None:
        return FAILED, False
    if t1 is None and t2 is not None:
        return FIXED, False
    if t1 is None and t2 is None:
        return BOTH_FAILED, False
    if before.is_missing or after.is_missing:
        return SKIPPED, False
    ss1 = (before.stats, list(before.samples) if before.samples is not None else None)
    ss2 = (after.stats, list(after.samples) if after.samples is not None else None)
    if _is_result_better(t2, t1, ss2, ss1, factor):
        return FASTER, False
    if _is_result_better(t1, t2, ss1, ss2, factor):
        return SLOWER, False
    loose = _is_result_better(t1, t2, None, None, factor) or _is_result_better(t2, t1, None, None, factor)
    return SAME, bool(loose)


def _err(sample: Sample | None) -> float | None:
    from asv_runner.statistics import get_err

    if sample is None or sample.is_missing or not sample.stats or "q_25" not in sample.stats:
        return None
    return float(get_err(sample.value, sample.stats))


def _value(sample: Sample | None) -> float | None:
    return None if sample is None or sample.is_missing else float(sample.value)  # type: ignore[arg-type]


def _gflops(flops: float | None, seconds: float | None, unit: str | None) -> float | None:
    if flops is None or seconds is None or seconds <= 0 or unit != "seconds":
        return None
    return flops / seconds / 1e9


def pair_rows(
    before: Mapping[tuple[str, Params, str], Sample],
    after: Mapping[tuple[str, Params, str], Sample],
    benchmarks: Mapping[str, Any],
    factor: float,
) -> tuple[Row, ...]:
    """Pair by (benchmark, params, env); a key on one side only gives an "only before/after" row."""
    keys = sorted(set(before) | set(after))
    rows = []
    for key in keys:
        name, params, env = key
        b, a = before.get(key), after.get(key)
        verdict, loose = judge(b, a, factor)
        vb, va = _value(b), _value(a)
        ratio = va / vb if vb and va is not None and verdict not in (INCOMPARABLE,) else None
        meta = benchmarks.get(name, {})
        unit = meta.get("unit")
        flops = flops_for(meta, params)
        rows.append(
            Row(
                benchmark=name, params=params, env=env, before=vb, after=va,
                before_err=_err(b), after_err=_err(a), ratio=ratio,
                significant=verdict in (SLOWER, FASTER), beyond_factor_only=loose,
                verdict=verdict, unit=unit,
                gflops_before=_gflops(flops, vb, unit), gflops_after=_gflops(flops, va, unit),
            )  # fmt: skip
        )
    return tuple(rows)


# --------------------------------------------------------------------------------------------------
# Building comparisons.


@dataclass(frozen=True)
class Source:
    """Where results live: the asv results directory, its project repository and the sidecars."""

    results_dir: Path
    repo: Path | None = None
    meta_dir: Path | None = None  # default: `meta/` next to the results directory

    @property
    def meta(self) -> Path:
        return self.meta_dir if self.meta_dir is not None else self.results_dir.parent / "meta"


def _machine_check(
    store: ResultsStore, machine_b: str, machine_a: str, fps: Iterable[tuple[Any, Any]], allow: bool
) -> list[str]:
    """Refuse results from different machines (name or CPU model) unless allowed; else warnings."""
    problems = []
    if machine_b != machine_a:
        problems.append(f"machine {machine_b!r} vs {machine_a!r}")
    cpu_b = store.machine_info(machine_b).get("cpu")
    cpu_a = store.machine_info(machine_a).get("cpu")
    if cpu_b and cpu_a and cpu_b != cpu_a:
        problems.append(f"CPU {cpu_b!r} vs {cpu_a!r}")
    for fb, fa in fps:
        if fb is not None and fa is not None and fb.cpu.model and fa.cpu.model and fb.cpu.model != fa.cpu.model:
            text = f"CPU {fb.cpu.model!r} vs {fa.cpu.model!r}"
            if text not in problems:
                problems.append(text)
    if problems and not allow:
        raise TorchperfError(
            "results come from different machines (" + "; ".join(problems) + "); "
            "pass --allow-different-machines to compare them anyway"
        )
    return [f"different machines: {p}" for p in problems]


def _files_at(store: ResultsStore, machine: str, commit: str) -> list[ResultsFile]:
    return [f for f in store.files(machine) if f.commit == commit]


def compare_commits(
    source: Source,
    base: str,
    head: str,
    *,
    factor: float = DEFAULT_FACTOR,
    machine: str | None = None,
    machine_after: str | None = None,
    allow_different_machines: bool = False,
    envs: Sequence[str] | None = None,
) -> Comparison:
    """BASE against HEAD, per environment, with asv's significance rules."""
    store = ResultsStore(source.results_dir)
    m_b = store.pick_machine(machine)
    m_a = store.pick_machine(machine_after) if machine_after else m_b
    sides = []
    for rev, m in ((base, m_b), (head, m_a)):
        commit = resolve_revision(rev, source.repo, store.commits(m))
        files = _files_at(store, m, commit)
        if envs:
            files = [f for f in files if f.env_name in envs]
        if not files:
            have = ", ".join(c[:8] for c in store.commits(m)) or "none"
            raise TorchperfError(
                f"no results for revision {rev!r} ({commit[:8]}) on machine {m!r}; commits with "
                f"results: {have}"
            )
        sides.append((commit, m, files))
    (cb, mb, files_b), (ca, ma, files_a) = sides
    by_env_b = {f.env_name: f for f in files_b}
    by_env_a = {f.env_name: f for f in files_a}
    return _build(
        store, source, "commits",
        Side(cb[:8], cb, mb), Side(ca[:8], ca, ma),
        by_env_b, by_env_a, factor, allow_different_machines,
    )  # fmt: skip


def _build(
    store: ResultsStore,
    source: Source,
    mode: str,
    side_b: Side,
    side_a: Side,
    by_env_b: Mapping[str, ResultsFile],
    by_env_a: Mapping[str, ResultsFile],
    factor: float,
    allow: bool,
) -> Comparison:
    benchmarks = store.benchmarks()
    samples_b = {(n, p, env): s for env, f in by_env_b.items() for (n, p), s in f.entries.items()}
    samples_a = {(n, p, env): s for env, f in by_env_a.items() for (n, p), s in f.entries.items()}
    rows = pair_rows(samples_b, samples_a, benchmarks, factor)

    diffs, fps, kb, ka = [], [], {}, {}
    for env in sorted(set(by_env_b) & set(by_env_a)):
        d, fb, fa, kb[env], ka[env] = env_diff(env, by_env_b[env], by_env_a[env], source.meta, mode)
        diffs.append(d)
        fps.append((fb, fa))
    warnings = _machine_check(store, side_b.machine, side_a.machine, fps, allow)
    only_b = sorted(set(by_env_b) - set(by_env_a))
    only_a = sorted(set(by_env_a) - set(by_env_b))
    if only_b:
        warnings.append(f"environments only in {side_b.label}: {', '.join(only_b)}")
    if only_a:
        warnings.append(f"environments only in {side_a.label}: {', '.join(only_a)}")
    warnings.extend(noise_warnings(rows, source.meta, {side_b.machine, side_a.machine}))
    return Comparison(
        mode=mode, before=side_b, after=side_a, factor=factor, rows=rows,
        env_diffs=tuple(diffs), kernel_changes=kernel_changes(rows, kb, ka, benchmarks),
        warnings=tuple(warnings),
    )  # fmt: skip


def noise_warnings(rows: Sequence[Row], meta_dir: Path, machines: Iterable[str]) -> list[str]:
    """The machine's condition (doctor verdict, measured noise), and every significant change that
    is smaller than the smallest slowdown this machine can honestly detect at that call time."""
    from torchperf_core.machine_condition import load_condition

    out: list[str] = []
    conditions = [load_condition(meta_dir, m) for m in sorted(set(machines))]
    for cond in conditions:
        out.extend(cond.problems)
        if cond.doctor is not None or cond.noise is not None:
            out.append(cond.summary())
    cond = conditions[0] if conditions else None
    if cond is None or cond.noise is None:
        return out
    for r in rows:
        if not r.significant or r.ratio is None or r.unit != "seconds":
            continue
        mds = cond.mds_for_time(r.before)
        if mds is not None and abs(r.ratio - 1.0) < mds:
            limit = ">100%" if mds == float("inf") else f"{mds:.0%}"
            out.append(f"{r.benchmark} {_params_text(r.params)}: change {r.ratio - 1:+.0%} is below this machine's "
                       f"minimum detectable slowdown ({limit}) at that call time; confirm on a quieter machine")
    return out


def _params_text(params: Params) -> str:
    return "(" + ", ".join(str(v) for _k, v in params) + ")" if params else ""


def torch_version_for(f: ResultsFile, meta_dir: Path) -> str | None:
    """The torch version of a results file: asv's requirement pin, else the sidecar's record.

    asv `existing` environments record no requirement versions; `torchperf run --existing` puts the
    version in the sidecar instead. Its local part ("+cpu") is dropped so "2.13.0" matches.
    """
    if f.torch_version:
        return f.torch_version
    from torchperf_core.sidecar import sidecar_for

    sidecar = sidecar_for(f.path, meta_dir)
    if sidecar is None or not sidecar.torch_version:
        return None
    return str(sidecar.torch_version).split("+", 1)[0]


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
    if len(versions) != 2:
        raise TorchperfError(
            f"--torch needs at least two versions, e.g. --torch 2.13.0 2.14.1 (got {' '.join(versions) or 'none'}); "
            "three or more make a matrix"
        )
    store = ResultsStore(source.results_dir)
    m, found, have = _version_files(store, source, versions, commit, machine)
    v1, v2 = versions
    b, a = have[v1], have[v2]
    if len(b) == 1 and len(a) == 1 and set(b) != set(a):
        # One environment per side under different names (e.g. an asv `existing` environment
        # against a built one): they are the only possible pair.
        key = f"{next(iter(b))} | {next(iter(a))}"
        b, a = {key: next(iter(b.values()))}, {key: next(iter(a.values()))}
    return _build(
        store, source, "torch",
        Side(f"torch {v1}", found, m, v1), Side(f"torch {v2}", found, m, v2),
        b, a, factor, allow_different_machines,
    )  # fmt: skip


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

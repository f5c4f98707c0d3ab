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

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from torchperf_core.store import (
    CaseCondition,
    ResultsFile,
    ResultsStore,
    Sample,
    flops_for,
    case_conditions,
    resolve_revision,
    strip_torch_from_env_name,
)
from torchperf_core.compare.why import (  # noqa: F401 - re-exported: part of compare's API
    EnvDiff,
    IsaFinding,
    KernelChange,
    _kernels,
    env_diff,
    isa_findings,
    kernel_changes,
    kernel_keys_for,
)
from torchperf_core.compare.metrics import CountBeside, counts_beside
from torchperf_core.compare.speed import speed_warnings
from torchperf_core.errors import TorchperfError
from torchperf_core.verdict import COUNT_UNIT, DEFAULT_COUNT_TOLERANCE, judge_counts
from torchperf_core.verdict import (  # noqa: F401 - re-exported: the verdicts are part of compare's API
    CONTENDED,
    DEFAULT_FACTOR,
    FAILED,
    FASTER,
    FIXED,
    INCOMPARABLE,
    MARKS,
    ONLY_AFTER,
    ONLY_BEFORE,
    REGRESSION_VERDICTS,
    SAME,
    SLOWER,
    UNDECIDED_VERDICTS,
    UNKNOWN,
    judge,
    judge_separate,
    parse_factor,
)

# JSON output history:
#   1 — first version: mode, sides, factor, rows, fingerprint and kernel differences, warnings.
#   2 — issue 11: verdicts "unknown" and "contended"; per row runs_before/runs_after,
#       between_run_spread, between_run_ratio, between_run_ci, reason; top-level "headline" and
#       "undecided" (rows to re-measure or re-run on a quiet machine).
#       Issue 12 (additive, still 2): a wall-clock row paired with the instruction-count row of the
#       same case (compare.metrics) carries instr_row, instr_before, instr_after, instr_ratio,
#       instr_verdict, instr_mark and reading; rows without such a pair are unchanged.
COMPARE_FORMAT_VERSION = 2

Params = tuple[tuple[str, str], ...]


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
    runs_before: int = 1  # separate runs behind each side (the sidecar's run medians; else asv's one)
    runs_after: int = 1
    between_spread: float | None = None  # largest relative range of a side's run medians
    between_ratio: float | None = None  # geometric-mean ratio of the run medians (>= MIN_RUNS a side)
    between_ci: tuple[float, float] | None = None  # its 99% interval
    reason: str | None = None  # why the verdict is unknown or contended
    instructions: CountBeside | None = None  # the instruction-count row of the same case (compare.metrics)

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
    isa_findings: tuple[IsaFinding, ...] = ()  # changed cases also run at forced ISA levels (why.isa_findings)
    # The machine-speed lines among `warnings` (compare.speed): for a caller that shows only those,
    # e.g. `torchperf run`'s summary, which puts them at the top with the machine's condition.
    speed_lines: tuple[str, ...] = ()

    @property
    def regressions(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.verdict in REGRESSION_VERDICTS)

    @property
    def exit_code(self) -> int:
        """1 when any benchmark got significantly slower beyond the factor (or started failing).

        Unknown and contended rows never count: they are not evidence of a change, and a gate that
        failed on them would cry wolf on every busy or drifting machine (the text says so on top)."""
        return 1 if self.regressions else 0

    @property
    def undecided(self) -> tuple[Row, ...]:
        """Rows to re-measure (unknown) or re-run on a quiet machine (contended)."""
        return tuple(r for r in self.rows if r.verdict in UNDECIDED_VERDICTS)

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


def param_key(params: Params) -> str:
    """asv's parameter key, as the sidecars store it: "(1024, 'float32', 'cpu')"."""
    return "(" + ", ".join(v for _k, v in params) + ")"


def pair_rows(
    before: Mapping[tuple[str, Params, str], Sample],
    after: Mapping[tuple[str, Params, str], Sample],
    benchmarks: Mapping[str, Any],
    factor: float,
    conditions_before: Mapping[tuple[str, str, str], CaseCondition] | None = None,
    conditions_after: Mapping[tuple[str, str, str], CaseCondition] | None = None,
) -> tuple[Row, ...]:
    """Pair by (benchmark, params, env); a key on one side only gives an "only before/after" row.

    Timings are judged by `judge_separate` (asv's rule, the between-run replicates and contention
    from the sidecars: `conditions_*`, keyed (benchmark, param key, env); absent: one run, not known
    to be contended)."""
    keys = sorted(set(before) | set(after))
    rows = []
    for key in keys:
        name, params, env = key
        b, a = before.get(key), after.get(key)
        bench_meta = benchmarks.get(name, {})
        cb = (conditions_before or {}).get((name, param_key(params), env))
        ca = (conditions_after or {}).get((name, param_key(params), env))
        between = None
        reason = None
        if bench_meta.get("unit") == COUNT_UNIT:  # instruction counts: a tolerance, not a test (issue 12)
            verdict, loose = judge_counts(b, a, bench_meta.get("count_tolerance", DEFAULT_COUNT_TOLERANCE))
        else:
            j = judge_separate(
                b, a, factor,
                before_runs=cb.run_medians if cb else (), after_runs=ca.run_medians if ca else (),
                contended=(bool(cb and cb.contended), bool(ca and ca.contended)),
                before_times=cb.run_times if cb else (), after_times=ca.run_times if ca else (),
            )  # fmt: skip
            verdict, loose, between, reason = j.verdict, j.beyond_factor_only, j.between, j.reason
            if verdict == CONTENDED:
                causes = [c.cause for c in (cb, ca) if c is not None and c.contended and c.cause]
                reason = f"{reason} ({'; '.join(causes)})" if causes else reason
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
                runs_before=between.runs_before if between else 1, runs_after=between.runs_after if between else 1,
                between_spread=between.spread if between else None,
                between_ratio=between.ratio if between else None, between_ci=between.ci if between else None,
                reason=reason,
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
    conds_b = {(n, k, env): c for env, f in by_env_b.items() for (n, k), c in case_conditions(f.path, source.meta).items()}
    conds_a = {(n, k, env): c for env, f in by_env_a.items() for (n, k), c in case_conditions(f.path, source.meta).items()}
    rows = pair_rows(samples_b, samples_a, benchmarks, factor, conds_b, conds_a)
    rows = tuple(replace(r, instructions=c) if c else r for r, c in zip(rows, counts_beside(rows, benchmarks)))

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
    speed = tuple(speed_warnings(by_env_b, by_env_a, source.meta, factor, side_b.label, side_a.label))
    warnings.extend(speed)
    return Comparison(
        mode=mode, before=side_b, after=side_a, factor=factor, rows=rows,
        env_diffs=tuple(diffs), kernel_changes=kernel_changes(rows, kb, ka, benchmarks),
        warnings=tuple(warnings), isa_findings=isa_findings(rows, conds_b, conds_a), speed_lines=speed,
    )  # fmt: skip


def noise_warnings(rows: Sequence[Row], meta_dir: Path, machines: Iterable[str]) -> list[str]:
    """The machine's condition (doctor verdict, measured noise), and every significant change that
    is smaller than the smallest slowdown this machine can honestly detect at that call time."""
    from torchperf_core.machine import load_condition

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

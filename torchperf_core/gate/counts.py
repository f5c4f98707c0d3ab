"""The gate's instruction counts (`torchperf continuous --metric instructions`, issue 12 item 4).

A Callgrind count is deterministic (~0.04% between collections), so it needs no rounds and no
significance test: after the timing rounds, each side counts the curated set ONCE, with the side's
own interpreter in the side's own tree (as the worker runs: cwd and PYTHONPATH = the tree), by
running that tree's `benchmarks/bench_instructions.py` (`Instructions().setup_cache()`: one Callgrind
child for the whole set, ~3 min per side for the 14 curated cases on a 2-core machine). Each label is
judged by the one count rule, `verdict.judge_counts`, at the benchmark's `count_tolerance` as the
BASE side states it (a pull request cannot loosen the gate that judges it). A decided slower count
is a decided regression, exactly as a slower time is.

A tree without that module, a missing valgrind or a failed collection is a one-line note, never a
failure: the timing verdicts stand. A count shown beside the time row of the same case is paired by
`compare.counts_beside` (the rule `torchperf compare` uses), through a small row adapter.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from torchperf_core.compare import CountBeside, counts_beside
from torchperf_core.errors import TorchperfError
from torchperf_core.gate.rounds import COUNT_BENCHMARK, WORKER, CaseOutcome, GatePlan, GateReport, worker_env
from torchperf_core.gate.sides import GateSide
from torchperf_core.verdict import COUNT_UNIT, DEFAULT_COUNT_TOLERANCE, CountTolerance, judge_counts, parse_tolerance

COUNT_MODULE = "bench_instructions"
COLLECT_TIMEOUT = 3600.0  # the suite's own Callgrind child stops at Instructions.timeout (30 min)

# Run in the side's tree by the side's interpreter: standard library only (the tree may predate the
# gate). Answers one JSON object on stdout; the benchmarks' prints go to stderr.
_CHILD = r"""
import importlib, importlib.util, json, sys
from pathlib import Path

bench_dir, worker_path = Path(sys.argv[1]), sys.argv[2]
sys.path.insert(0, str(bench_dir.parent))
answer, sys.stdout = sys.stdout, sys.stderr
try:
    module = importlib.import_module(bench_dir.name + ".bench_instructions")
    method = module.Instructions.track_instructions
    cache = module.Instructions().setup_cache()
    out = {"counts": {label: float(c["value"]) for label, c in (cache or {}).items()},
           "tolerance": getattr(method, "count_tolerance", None), "version": getattr(method, "version", None)}
except Exception as exc:
    out = {"error": (str(exc).strip().splitlines() or [type(exc).__name__])[0]}
else:
    meta = {}
    try:  # the pairing keys (`op`, `param_names`, `cases`), found by the worker's own discovery
        spec = importlib.util.spec_from_file_location("_torchperf_gate_worker", worker_path)
        worker = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(worker)
        for (name, _key), (owner, is_class, attr, _combo) in worker._cases(bench_dir).items():
            target = getattr(owner, attr)
            op = getattr(target, "op", None) or (getattr(owner, "op", None) if is_class else None)
            meta[name] = {"op": op if isinstance(op, str) else None,
                          "param_names": [str(p) for p in getattr(owner if is_class else target, "param_names", [])],
                          "unit": getattr(target, "unit", None), "cases": getattr(target, "cases", None)}
    except Exception:
        meta = {}  # no pairing; the counts are still judged
    out["meta"] = json.loads(json.dumps(meta, default=lambda o: None))
answer.write(json.dumps(out) + "\n")
answer.flush()
"""


@dataclass(frozen=True)
class SideCounts:
    """One side's collection: label -> instructions per call, and what its benchmark declares."""

    counts: Mapping[str, float]
    tolerance: str | None
    version: str | None
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Count:
    """A count as the verdict's Judgeable: a value, the benchmark's version, no samples."""

    value: float | None
    version: str | None
    stats: Mapping[str, Any] | None = None
    samples: Sequence[float] | None = None
    is_missing: bool = False


def counts_env(side: GateSide, base_env: Mapping[str, str], plan: GatePlan) -> dict[str, str]:
    """The worker's environment for the side, with the suite's switch on (`TORCHPERF_METRICS`)."""
    env = worker_env(side, base_env, plan)
    metrics = [m.strip() for m in env.get("TORCHPERF_METRICS", "").split(",") if m.strip()]
    env["TORCHPERF_METRICS"] = ",".join(metrics if "instructions" in metrics else [*metrics, "instructions"])
    return env


def collect_side(side: GateSide, env: Mapping[str, str], *, timeout: float = COLLECT_TIMEOUT) -> SideCounts | str:
    """The side's counts, or the one-line note saying why there are none (never raises for that)."""
    if not (side.benchmark_dir / f"{COUNT_MODULE}.py").is_file():
        return f"no instruction-count benchmark in {side.label}"
    try:
        proc = subprocess.run([side.python, "-c", _CHILD, str(side.benchmark_dir), str(WORKER)], capture_output=True,
                              text=True, env=dict(env), cwd=str(side.benchmark_dir.parent), timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"no instruction counts for {side.label}: the collection ran past {timeout:.0f} s"
    lines = proc.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        tail = " | ".join(proc.stderr.strip().splitlines()[-2:]) or f"exit status {proc.returncode}"
        return f"no instruction counts for {side.label}: {tail}"
    if "error" in answer:
        return f"no instruction counts for {side.label}: {answer['error']}"  # e.g. the engine's valgrind hint
    if not answer.get("counts"):
        return f"no instruction counts for {side.label}: its Instructions.setup_cache() returned none"
    return SideCounts(answer["counts"], answer.get("tolerance"), answer.get("version"), answer.get("meta") or {})


def judge_sides(before: SideCounts, after: SideCounts) -> tuple[CaseOutcome, ...]:
    """One count case per label on either side, judged by `judge_counts` at the base's tolerance."""
    tol: CountTolerance = parse_tolerance(before.tolerance or after.tolerance or DEFAULT_COUNT_TOLERANCE)
    out = []
    for label in sorted(set(before.counts) | set(after.counts)):
        b, a = before.counts.get(label), after.counts.get(label)
        verdict, _ = judge_counts(_Count(b, before.version) if b is not None else None,
                                  _Count(a, after.version) if a is not None else None, tol)
        out.append(CaseOutcome(COUNT_BENCHMARK, f"({label!r})", verdict, None, b, a, 0, 0, unit=COUNT_UNIT,
                               tolerance=str(tol)))
    return tuple(out)


@dataclass(frozen=True)
class _PairRow:
    """A gate case in the shape `compare.counts_beside` reads (its PairedRow protocol)."""

    benchmark: str
    params: tuple[tuple[str, str], ...]
    env: str
    unit: str | None
    ratio: float | None
    verdict: str
    before: float | None
    after: float | None
    name: str


def key_values(key: str) -> tuple[str, ...] | None:
    """asv's parameter key "(1024, 'float32')" -> ("1024", "'float32'"): the values as written; None
    when the key is not Python source (an object's repr), so that row is simply not paired."""
    try:
        body = ast.parse(key, mode="eval").body
    except SyntaxError:
        return None
    parts = body.elts if isinstance(body, ast.Tuple) else [body]
    values = tuple(ast.get_source_segment(key, e) for e in parts)
    return None if any(v is None for v in values) else tuple(v for v in values if v is not None)


def _pair_row(c: CaseOutcome, meta: Mapping[str, Any]) -> _PairRow:
    values = key_values(c.key) or ()
    if c.unit == COUNT_UNIT:
        params = tuple((f"p{i}", v) for i, v in enumerate(values))
    else:
        names = (meta.get(c.benchmark) or {}).get("param_names") or []
        params = tuple(zip(names, values)) if len(names) == len(values) else ()
    return _PairRow(c.benchmark, params, "", c.unit, c.ratio, c.verdict, c.before, c.after, c.name)


def pair_counts(cases: Sequence[CaseOutcome], meta: Mapping[str, Any]) -> tuple[CaseOutcome, ...]:
    """Each time case with the count case of the same op and inputs beside it (compare's pairing)."""
    besides: Sequence[CountBeside | None] = counts_beside([_pair_row(c, meta) for c in cases], meta)
    return tuple(replace(c, instructions=b) if b is not None else c for c, b in zip(cases, besides))


def add_counts(report: GateReport, *, base_env: Mapping[str, str],
               progress: Callable[[str], None] = lambda line: None, timeout: float = COLLECT_TIMEOUT) -> GateReport:
    """The report with each side's counts judged and added as cases, or with the note saying why not."""
    sides = (report.before, report.after)
    missing = tuple(f"no instruction-count benchmark in {s.label}" for s in sides
                    if not (s.benchmark_dir / f"{COUNT_MODULE}.py").is_file())
    if missing:  # nothing to compare: spare the other side its minutes under valgrind
        return replace(report, notes=report.notes + missing)
    collected: list[SideCounts] = []
    for side in sides:
        progress(f"instruction counts of {side.label}: one Callgrind collection (~3 min for the curated set)")
        got = collect_side(side, counts_env(side, base_env, report.plan), timeout=timeout)
        if isinstance(got, str):
            return replace(report, notes=report.notes + (got,))
        collected.append(got)
    before, after = collected
    try:
        count_cases = judge_sides(before, after)
    except TorchperfError as exc:  # a malformed count_tolerance in the tree: say so, keep the timing verdicts
        return replace(report, notes=report.notes + (f"instruction counts not judged: {exc}",))
    pattern = re.compile(report.plan.bench) if report.plan.bench else None  # --bench selects counts too
    count_cases = tuple(c for c in count_cases if pattern is None or pattern.search(c.name))
    cases = pair_counts((*report.cases, *count_cases), {**before.meta, **after.meta})
    return replace(report, cases=cases)


__all__ = ["COLLECT_TIMEOUT", "COUNT_MODULE", "SideCounts", "add_counts", "collect_side", "counts_env", "judge_sides",
           "key_values", "pair_counts"]

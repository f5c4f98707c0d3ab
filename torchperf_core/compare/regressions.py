"""The current regressions over history, from the published site (`asv publish`).

asv's publisher runs its step detection (an L1 Potts fit weighted by each point's CI width) over
every graph and writes `html/regressions.json`:

    {"regressions": [[name, graph_path, graph_params, param_index, last_value, best_value,
                      [[rev_before | null, rev_after, value_before, value_after], ...]], ...]}

Revisions are positions in the linearized history; `html/index.json` maps them to commit hashes
(`revision_to_hash`). `rev_before` is null when the step is a single commit. `graph_params` holds
only the parameters with more than one value across the site; the full environment (machine,
python, torch, ...) is in the graph path, `graphs/<key>-<value>/.../<benchmark>.json`.

This module reads those two files (it never re-runs detection, so the steps are the site's), then
judges each step as `compare` judges a change: the results at the step's two ends go through
`comparisons.pair_rows`, the one place compare calls `verdict.judge_separate` (asv's rule, the
between-run replicates and the contention recorded in the sidecars). Only a decided slowdown is a
regression; an undecided step is "unknown" (re-measure) or "contended" (re-run on a quiet machine).
A step's two ends are separate runs, so the machine's own speed is compared between them as compare
compares it (`speed_warnings` on the noise probes each run stored): the step carries compare's
"machine speed: ..." line when the machine ran faster or slower at one end. Pure logic: frozen
values, no printing.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any, Mapping

from torchperf_core.compare.comparisons import Row, Source, pair_rows
from torchperf_core.compare.speed import speed_warnings
from torchperf_core.errors import TorchperfError
from torchperf_core.store import ISA_ENV, THREADS_ENV, ResultsFile, ResultsStore, case_conditions, torch_version_of
from torchperf_core.verdict import CONTENDED, REGRESSION_VERDICTS, UNKNOWN

# JSON output history:
#   1 — first version: site, regressions (benchmark, params, env, commit range, values, ratio).
#   2 — each step judged as `compare` does: factor, counts, steps (verdict, reason, runs per side,
#       between-run spread); exit_code counts decided regressions only.
#   3 — each jump's "machine_speed": compare's machine-speed line between the step's two ends (the
#       noise probes of the two runs differ beyond the factor), or null; "speed_lines": those lines,
#       each once.
REGRESSIONS_FORMAT_VERSION = 3

_ENV_PREFIX = "env-"  # asv's graph key for a matrix environment variable: env-NAME


@dataclass(frozen=True)
class Jump:
    """One step up in a benchmark's history."""

    commit_before: str | None  # the last commit before the step; None when the step is one commit
    commit_after: str  # the first commit after it
    before: float
    after: float
    # The commit whose results the step starts from: commit_before, or for a one-commit step the
    # revision before it in the site's history (where asv took `before` from). None: not in the index.
    base_commit: str | None = None

    @property
    def ratio(self) -> float | None:
        return self.after / self.before if self.before else None

    @property
    def commit_range(self) -> str:
        if self.commit_before is None:
            return self.commit_after[:8]
        return f"{self.commit_before[:8]}..{self.commit_after[:8]}"


@dataclass(frozen=True)
class Regression:
    benchmark: str
    params: str  # asv's parameter text, "(1024, 'float32')"; "" when not parameterized
    env: tuple[tuple[str, str], ...]  # (key, value) from the graph path, e.g. ("torch", "2.14.1")
    unit: str | None
    last: float  # latest value
    best: float  # best value since the first regression
    jumps: tuple[Jump, ...]
    # For links into asv's graph page (the site's regressions page): asv's `graph_params` (what
    # tells this graph from the others; None where the graph lacks the key) and the parameters
    # by name, from the site index ((("kind", "'slower'"), ("scale", "2")); () when not parameterized).
    graph_params: tuple[tuple[str, str | None], ...] = ()
    param_values: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return self.benchmark + self.params

    @property
    def env_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.env)

    @property
    def ratio(self) -> float | None:
        """Latest value against the best one: how much is still lost."""
        return self.last / self.best if self.best else None


@dataclass(frozen=True)
class Step:
    """One step the site lists, with compare's verdict on the results at its two ends."""

    regression: Regression
    jump: Jump
    verdict: str
    reason: str | None  # why it is unknown or contended (compare's words), or why it could not be judged
    row: Row | None  # compare's row behind the verdict; None when the results are missing
    # compare's "machine speed: ..." line when the machine itself ran faster or slower at one end of
    # the step than at the other (`speed_warnings`); None: the same speed, or not recorded
    speed: str | None = None

    @property
    def name(self) -> str:
        return self.regression.name


@dataclass(frozen=True)
class RegressionReport:
    project: str
    regressions: tuple[Regression, ...]  # as the site lists them
    steps: tuple[Step, ...] = ()  # every jump of every regression, judged (`judge_regressions`)
    factor: float | None = None  # None: not judged yet

    @property
    def decided(self) -> tuple[Step, ...]:
        """The regressions: steps compare decides are slower (or newly failing)."""
        return tuple(s for s in self.steps if s.verdict in REGRESSION_VERDICTS)

    @property
    def unknown(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.verdict == UNKNOWN)

    @property
    def contended(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.verdict == CONTENDED)

    @property
    def not_confirmed(self) -> tuple[Step, ...]:
        """Steps the site lists that compare's rule does not call slower (same, faster, ...)."""
        return tuple(s for s in self.steps if s.verdict not in (*REGRESSION_VERDICTS, UNKNOWN, CONTENDED))

    @property
    def speed_lines(self) -> tuple[str, ...]:
        """The steps' machine-speed lines, each once, in the steps' order."""
        return tuple(dict.fromkeys(s.speed for s in self.steps if s.speed))

    @property
    def exit_code(self) -> int:
        """As `compare`: 1 only for a decided regression; unknown and contended steps never count."""
        return 1 if self.decided else 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.steps:
            out[s.verdict] = out.get(s.verdict, 0) + 1
        return out


def _load(path: Path, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise TorchperfError(
            f"no published data: {str(path)!r} not found; run `torchperf publish` (or `asv publish`) first"
        ) from None
    except (OSError, ValueError) as exc:
        raise TorchperfError(f"corrupt {what} {str(path)!r}: {exc}") from None


def _graph_env(graph_path: str) -> tuple[tuple[str, str], ...]:
    """("branch", "main"), ("machine", "cmpbox"), ... from `graphs/branch-main/machine-cmpbox/...`.

    asv files an environment variable of the matrix under the key `env-NAME` (publish.py prefixes
    it against name collisions), so its part is `env-NAME-VALUE` (`env-NAME-null` for a run that
    did not set it): the key keeps the name, or two variables would read as one key "env"."""
    parts = graph_path.split("/")
    if parts and parts[0] == "graphs":
        parts = parts[1:]
    env = []
    for part in parts[:-1]:
        if part.startswith(_ENV_PREFIX) and len(part) > len(_ENV_PREFIX):
            name, _, value = part[len(_ENV_PREFIX):].partition("-")
            env.append((_ENV_PREFIX + name, value))  # value "": asv's part for a variable set to ""
            continue
        key, sep, value = part.partition("-")
        if sep:
            env.append((key, value))
    return tuple(env)


def _split_name(name: str) -> tuple[str, str]:
    if "(" in name:
        i = name.index("(")
        return name[:i], name[i:]
    return name, ""


def _number(x: Any, path: Path) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise TorchperfError(f"corrupt regressions file {str(path)!r}: value {x!r} is not a number")
    return float(x)


def load_regressions(html_dir: Path | str) -> RegressionReport:
    """Every regression the published site lists, most recent step first within a benchmark."""
    html = Path(html_dir)
    reg_path, index_path = html / "regressions.json", html / "index.json"
    data = _load(reg_path, "regressions file")
    index = _load(index_path, "site index")
    try:
        rev_to_hash = {int(k): str(v) for k, v in index["revision_to_hash"].items()}
        benchmarks: Mapping[str, Any] = index.get("benchmarks", {})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TorchperfError(f"corrupt site index {str(index_path)!r}: {exc!r}; re-run `torchperf publish`") from None
    try:
        entries = data["regressions"]
        iter(entries)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise TorchperfError(f"corrupt regressions file {str(reg_path)!r}: {exc!r}; re-run `torchperf publish`") from None

    def commit(rev: Any) -> str:
        try:
            return rev_to_hash[int(rev)]
        except (KeyError, TypeError, ValueError):
            raise TorchperfError(
                f"corrupt regressions file {str(reg_path)!r}: revision {rev!r} not in {str(index_path)!r}; "
                "re-run `torchperf publish`"
            ) from None

    out = []
    for entry in entries:
        try:
            name, graph_path, graph_params, idx, last_v, best_v, jumps = entry
        except (TypeError, ValueError):
            raise TorchperfError(f"corrupt regressions file {str(reg_path)!r}: entry {entry!r}") from None
        bench, params = _split_name(str(name))
        parsed = []
        for jump in jumps or []:
            try:
                rev1, rev2, v1, v2 = jump
            except (TypeError, ValueError):
                raise TorchperfError(f"corrupt regressions file {str(reg_path)!r}: jump {jump!r}") from None
            before_commit = None if rev1 is None else commit(rev1)
            parsed.append(
                Jump(before_commit, commit(rev2), _number(v1, reg_path), _number(v2, reg_path),
                     base_commit=before_commit or _previous(rev_to_hash, rev2))
            )
        out.append(
            Regression(
                benchmark=bench, params=params, env=_graph_env(str(graph_path)),
                unit=(benchmarks.get(bench) or {}).get("unit"),
                last=_number(last_v, reg_path), best=_number(best_v, reg_path), jumps=tuple(parsed),
                graph_params=tuple((str(k), None if v is None else str(v))
                                   for k, v in (graph_params.items() if isinstance(graph_params, dict) else ())),
                param_values=_param_values(benchmarks.get(bench), idx),
            )  # fmt: skip
        )
    out.sort(key=lambda r: (r.benchmark, r.params, r.env))
    return RegressionReport(project=str(index.get("project", "")), regressions=tuple(out))


def _param_values(info: Any, flat_index: Any) -> tuple[tuple[str, str], ...]:
    """The parameters of asv's flat index into the product of the benchmark's parameter values
    (the site index's `param_names` / `params`); () when there are none or the index is off."""
    if not isinstance(info, dict) or isinstance(flat_index, bool) or not isinstance(flat_index, int):
        return ()
    names = [str(n) for n in info.get("param_names") or []]
    combos = list(product(*[[str(v) for v in values] for values in info.get("params") or []]))
    if not names or not 0 <= flat_index < len(combos):
        return ()
    return tuple(zip(names, combos[flat_index]))


def _previous(rev_to_hash: Mapping[int, str], rev: Any) -> str | None:
    """The commit of the last revision before `rev` in the site's history (a one-commit step's start)."""
    earlier = [r for r in rev_to_hash if r < int(rev)]
    return rev_to_hash[max(earlier)] if earlier else None


def _files_for(store: ResultsStore, env: Mapping[str, str], commit: str) -> tuple[ResultsFile, ...]:
    """The results files of `commit` in the graph's environment: its machine, python and torch (the
    keys of the graph path that a results file records; branch is not one). The torch pin is read
    by the store's one rule, whichever key asv filed it under ("torch", or "pip+torch" as this
    project's asv.conf.json names it). Environment variables (`env-NAME` keys, see `_graph_env`)
    are matched on the environment name, where asv writes them as `-NAMEVALUE`; a file that sets
    one of the variables `run --threads` / `--isa` export is not the graph's when the graph says
    null or does not name that variable. More than one file left: environments these keys still do
    not tell apart, which the caller must not guess between."""
    machine = env.get("machine")
    if machine is None or machine not in store.machines():
        return ()
    torch = torch_version_of(env, {})
    wanted = {k[len(_ENV_PREFIX):]: v for k, v in env.items() if k.startswith(_ENV_PREFIX)}
    unset = {name for name, value in wanted.items() if value == "null"}
    unset |= {name for name in (THREADS_ENV, ISA_ENV) if name not in wanted}
    required = [name + value for name, value in wanted.items() if name not in unset]
    return tuple(f for f in store.files(machine)
                 if f.commit == commit and ("python" not in env or f.python == env["python"])
                 and (torch is None or f.torch_version == torch)
                 and all(_env_name_has(f.env_name, part) for part in required)
                 and not any(_env_name_sets(f.env_name, name) for name in unset))


def _env_name_has(env_name: str, part: str) -> bool:
    """asv's environment name (`environment.get_env_name`) joins its parts with "-", each variable
    as NAME+VALUE (`virtualenv-py3.11-torch2.13.0-TORCHPERF_ISAavx2`)."""
    return re.search(rf"-{re.escape(part)}(?:-|$)", env_name) is not None


def _env_name_sets(env_name: str, name: str) -> bool:
    return re.search(rf"-{re.escape(name)}[^-]*(?:-|$)", env_name) is not None


def _side(f: ResultsFile, source: Source, benchmark: str, env: str) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """One end's samples and sidecar case records, keyed as `pair_rows` takes them (env: one name
    for both ends, so the two ends pair even if asv named their environments differently)."""
    samples = {(n, p, env): s for (n, p), s in f.entries.items() if n == benchmark}
    conds = {(n, k, env): c for (n, k), c in case_conditions(f.path, source.meta).items() if n == benchmark}
    return samples, conds


def _judge_step(store: ResultsStore, source: Source, r: Regression, j: Jump, factor: float) -> Step:
    env = dict(r.env)
    found_b = _files_for(store, env, j.base_commit) if j.base_commit else ()
    found_a = _files_for(store, env, j.commit_after)
    several = [c[:8] for c, found in ((j.base_commit, found_b), (j.commit_after, found_a)) if c and len(found) > 1]
    if several:
        return Step(r, j, UNKNOWN, f"several results environments of {' and '.join(several)} match {r.env_text} "
                    "(environments its graph path does not tell apart): judge them with `torchperf compare`", None)
    fb, fa = (found[0] if found else None for found in (found_b, found_a))
    if fb is None or fa is None:
        missing = [(c[:8] if c else "the revision before the step") for c, f in ((j.base_commit, fb),
                                                                             (j.commit_after, fa)) if f is None]
        return Step(r, j, UNKNOWN, f"no results for {' and '.join(missing)} in {r.env_text}: re-measure", None)
    (sb, cb), (sa, ca) = (_side(f, source, r.benchmark, fa.env_name) for f in (fb, fa))
    rows = pair_rows(sb, sa, store.benchmarks(), factor, cb, ca)
    row = next((x for x in rows if x.name == r.name), None)
    # a one-commit step's row names only its commit: say which the other end is
    before = fb.commit[:8] if j.commit_before else f"{fb.commit[:8]} (the revision before the step)"
    speed = next(iter(speed_warnings({"": fb}, {"": fa}, source.meta, factor, before, fa.commit[:8])), None)
    if row is None:
        return Step(r, j, UNKNOWN, f"{r.name} not in the results of {j.commit_range}: re-measure", None, speed)
    return Step(r, j, row.verdict, row.reason, row, speed)


def judge_regressions(report: RegressionReport, source: Source, factor: float) -> RegressionReport:
    """Every step of every listed regression judged as `compare` would judge it (see the module
    docstring); the results are read only when there is a step to judge."""
    if not report.regressions:
        return RegressionReport(report.project, report.regressions, (), factor)
    store = ResultsStore(source.results_dir)
    steps = tuple(_judge_step(store, source, r, j, factor) for r in report.regressions for j in r.jumps)
    return RegressionReport(report.project, report.regressions, steps, factor)

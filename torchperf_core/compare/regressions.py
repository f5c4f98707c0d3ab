"""The current regressions over history, from the published site (`asv publish`).

asv's publisher runs its step detection (an L1 Potts fit weighted by each point's CI width) over
every graph and writes `html/regressions.json`:

    {"regressions": [[name, graph_path, graph_params, param_index, last_value, best_value,
                      [[rev_before | null, rev_after, value_before, value_after], ...]], ...]}

Revisions are positions in the linearized history; `html/index.json` maps them to commit hashes
(`revision_to_hash`). `rev_before` is null when the step is a single commit. `graph_params` holds
only the parameters with more than one value across the site; the full environment (machine,
python, torch, ...) is in the graph path, `graphs/<key>-<value>/.../<benchmark>.json`.

This module reads those two files only (it never re-runs detection, so its answer is the site's).
Pure logic: frozen values, no printing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from torchperf_core.errors import TorchperfError

# JSON output history:
#   1 — first version: site, regressions (benchmark, params, env, commit range, values, ratio).
REGRESSIONS_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Jump:
    """One step up in a benchmark's history."""

    commit_before: str | None  # the last commit before the step; None when the step is one commit
    commit_after: str  # the first commit after it
    before: float
    after: float

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
class RegressionReport:
    project: str
    regressions: tuple[Regression, ...]

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0


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
    """("branch", "main"), ("machine", "cmpbox"), ... from `graphs/branch-main/machine-cmpbox/...`."""
    parts = graph_path.split("/")
    if parts and parts[0] == "graphs":
        parts = parts[1:]
    env = []
    for part in parts[:-1]:
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
            name, graph_path, _graph_params, _idx, last_v, best_v, jumps = entry
        except (TypeError, ValueError):
            raise TorchperfError(f"corrupt regressions file {str(reg_path)!r}: entry {entry!r}") from None
        bench, params = _split_name(str(name))
        parsed = []
        for jump in jumps or []:
            try:
                rev1, rev2, v1, v2 = jump
            except (TypeError, ValueError):
                raise TorchperfError(f"corrupt regressions file {str(reg_path)!r}: jump {jump!r}") from None
            parsed.append(
                Jump(None if rev1 is None else commit(rev1), commit(rev2), _number(v1, reg_path), _number(v2, reg_path))
            )
        out.append(
            Regression(
                benchmark=bench, params=params, env=_graph_env(str(graph_path)),
                unit=(benchmarks.get(bench) or {}).get("unit"),
                last=_number(last_v, reg_path), best=_number(best_v, reg_path), jumps=tuple(parsed),
            )  # fmt: skip
        )
    out.sort(key=lambda r: (r.benchmark, r.params, r.env))
    return RegressionReport(project=str(index.get("project", "")), regressions=tuple(out))

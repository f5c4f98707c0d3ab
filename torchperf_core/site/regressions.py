"""asv's step-detected regressions as published (`html/regressions.json`), and links into asv's pages.

The same file `torchperf regressions` reads; here it is read tolerantly (a site still publishes when the
file is odd) and each step gets the fragment of asv's graph page (`index.html#<benchmark>?...`) that
shows it, built the way asv's own `format_hash_string` (asv.js) builds it.

asv's step detection sees one value per commit; whether a step is a decided change is `torchperf
compare`'s question (issue 11), so `judge_regressions` gives each step compare's verdict between the
two commits' results (the versions page's `change_between`, with the sidecars' run medians and
contention): the page ranks the decided slowdowns first and shows "unknown"/"contended" as such.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from itertools import product
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote

from torchperf_core.site.data import SiteData
from torchperf_core.site.versions import change_between


@dataclass(frozen=True)
class Regression:
    """One entry of asv's step-detected regressions, with a link into asv's graph page."""

    benchmark: str
    params: tuple[tuple[str, str], ...]
    graph_params: Mapping[str, str] = field(compare=False, hash=False)
    env: tuple[tuple[str, str], ...] = ()  # the graph's whole environment (machine, python, torch, ...)
    commit_before: str | None = None
    commit_after: str = ""
    before: float | None = None
    after: float | None = None
    unit: str = ""
    asv_hash: str = ""  # the part after '#' in asv's index.html
    verdict: str | None = field(default=None, compare=False)  # compare's, from judge_regressions; None: not judged
    reason: str | None = field(default=None, compare=False)  # why unknown or contended

    @property
    def ratio(self) -> float | None:
        if not self.before or self.after is None:
            return None
        return self.after / self.before





def load_regressions(html_dir: str | Path) -> list[Regression]:
    """asv's `regressions.json` with commit hashes and graph links resolved via `index.json`."""
    html = Path(html_dir)
    raw = _read_json(html / "regressions.json")
    index = _read_json(html / "index.json")
    if not isinstance(raw, dict) or not isinstance(index, dict):
        return []
    rev_to_hash = {str(k): str(v) for k, v in (index.get("revision_to_hash") or {}).items()}
    bench_index = index.get("benchmarks") or {}
    out = []
    for item in raw.get("regressions") or []:
        if not isinstance(item, list) or len(item) < 7 or not item[6]:
            continue
        name, graph_path, graph_params, flat_idx, _last, _best, jumps = item[:7]
        env = tuple(
            tuple(part.split("-", 1)) for part in str(graph_path).split("/")[1:-1] if "-" in part
        )
        base = re.sub(r"\(.*", "", str(name), flags=re.S)
        info = bench_index.get(base) or {}
        param_names = [str(n) for n in info.get("param_names", [])]
        param_values = [[str(v) for v in vs] for vs in info.get("params", [])]
        params: tuple[tuple[str, str], ...] = ()
        if flat_idx is not None and param_values:
            combos = list(product(*param_values))
            if 0 <= int(flat_idx) < len(combos):
                params = tuple(zip(param_names, combos[int(flat_idx)]))
        for jump in jumps:
            rev_a, rev_b, before, after = (list(jump) + [None] * 4)[:4]
            commit_a = rev_to_hash.get(str(rev_a)) if rev_a is not None else None
            commit_b = rev_to_hash.get(str(rev_b), "")
            # asv writes a missing value as "[none]" in its links (format_hash_string in asv.js)
            query: list[tuple[str, str]] = [
                (str(k), "[none]" if v is None else str(v)) for k, v in (graph_params or {}).items()
            ]
            query += [(f"p-{k}", v) for k, v in params]
            span = f"{commit_a[:8]}-{commit_b[:8]}" if commit_a else commit_b[:8]
            query.append(("commits", span))
            out.append(
                Regression(
                    benchmark=base,
                    params=params,
                    graph_params={str(k): str(v) for k, v in (graph_params or {}).items()},
                    env=env,  # type: ignore[arg-type]
                    commit_before=commit_a,
                    commit_after=commit_b,
                    before=_finite(before),
                    after=_finite(after),
                    unit=str(info.get("unit", "")),
                    asv_hash=asv_graph_hash(base, query),
                )
            )
    return out


def judge_regressions(regressions: Sequence[Regression], data: SiteData, factor: float) -> list[Regression]:
    """Each step with compare's verdict between its two commits (same machine, torch release and
    parameters); a step whose results cannot be found, or match several environments, stays None."""
    out = []
    for r in regressions:
        env = dict(r.env)
        machine = env.get("machine")
        torch = next((v for k, v in env.items() if k.endswith("torch")), None)
        commits = data.commits(machine) if machine else []
        before_commit = r.commit_before
        if before_commit is None and r.commit_after in commits and commits.index(r.commit_after) > 0:
            before_commit = commits[commits.index(r.commit_after) - 1]

        def point(commit: str | None) -> Any:
            found = [p for p in data.points if p.machine == machine and p.commit == commit and p.benchmark == r.benchmark
                     and p.params == r.params and (torch is None or p.torch_version == torch)]
            return found[0] if len(found) == 1 else None

        old, new = point(before_commit), point(r.commit_after)
        if old is None or new is None:
            out.append(r)
            continue
        change = change_between(old, new, factor, (data.condition(old), data.condition(new)))
        out.append(replace(r, verdict=change.verdict, reason=change.reason) if change else r)
    return out


def asv_graph_hash(benchmark: str, query: Iterable[tuple[str, str]]) -> str:
    """The fragment asv's index.html reads (`format_hash_string` in asv.js), percent-encoded."""
    parts = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    return quote(benchmark, safe="") + (f"?{parts}" if parts else "")


def graph_link_for(benchmark: str, machine: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """asv's graph fragment for a benchmark on one machine (every torch version), parameters selected."""
    return asv_graph_hash(benchmark, [("machine", machine), *((f"p-{k}", v) for k, v in params)])


def _read_json(path: Path) -> Any:
    """The file's JSON, or None when it is missing or unreadable (the page then lists nothing)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError, RecursionError):
        return None


def _finite(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None

"""The regressions page's rows: asv's step-detected regressions (`html/regressions.json`), each with
compare's verdict and a link into asv's graph page.

The steps and their verdicts are `torchperf regressions`' own: `compare.load_regressions` reads the
published steps and `compare.judge_regressions` judges each from the results at its two ends (the
same files, the same `pair_rows` rule, the same "unknown" when several environments match), so the
page and the CLI cannot disagree. This module only turns each judged step into a display row and
builds the fragment of asv's graph page (`index.html#<benchmark>?...`) that shows it, the way asv's
own `format_hash_string` (asv.js) builds it. A site still publishes when the published files are
odd: the page then lists nothing and the publisher reports the problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping
from urllib.parse import quote

from torchperf_core.compare import RegressionReport, Source, judge_regressions, load_regressions
from torchperf_core.errors import TorchperfError


@dataclass(frozen=True)
class Regression:
    """One step of asv's step-detected regressions as the page shows it, with a link into asv's graph page."""

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
    verdict: str | None = field(default=None, compare=False)  # compare's (`judge_regressions`); None: not judged
    reason: str | None = field(default=None, compare=False)  # why unknown or contended (compare's words)
    speed: str | None = field(default=None, compare=False)  # compare's machine-speed line between the step's ends

    @property
    def ratio(self) -> float | None:
        if not self.before or self.after is None:
            return None
        return self.after / self.before


def page_rows(report: RegressionReport) -> list[Regression]:
    """One row per judged step of `report` (`compare.judge_regressions`), verdict and reason as judged."""
    out = []
    for step in report.steps:
        r, j = step.regression, step.jump
        # asv writes a missing value as "[none]" in its links (format_hash_string in asv.js)
        query = [(k, "[none]" if v is None else v) for k, v in r.graph_params]
        query += [(f"p-{k}", v) for k, v in r.param_values]
        span = f"{j.commit_before[:8]}-{j.commit_after[:8]}" if j.commit_before else j.commit_after[:8]
        query.append(("commits", span))
        out.append(Regression(
            benchmark=r.benchmark, params=r.param_values, graph_params={k: str(v) for k, v in r.graph_params},
            env=r.env, commit_before=j.commit_before, commit_after=j.commit_after, before=j.before, after=j.after,
            unit=r.unit or "", asv_hash=asv_graph_hash(r.benchmark, query), verdict=step.verdict, reason=step.reason,
            speed=step.speed,
        ))  # fmt: skip
    return out


def judged_rows(html_dir: str | Path, source: Source, factor: float) -> tuple[list[Regression], tuple[str, ...]]:
    """The page's rows, judged as `torchperf regressions` judges them, and the problems that left
    the page empty (corrupt published files, no results: the CLI's one-line errors). No
    `regressions.json` at all (asv's site not published here, `publish_site(run_asv=False)`): no
    rows and nothing to report, as before asv publishes."""
    if not (Path(html_dir) / "regressions.json").is_file():
        return [], ()
    try:
        report = judge_regressions(load_regressions(html_dir), source, factor)
    except TorchperfError as exc:
        return [], (f"regressions page left empty: {exc}",)
    return page_rows(report), ()


def asv_graph_hash(benchmark: str, query: Iterable[tuple[str, str]]) -> str:
    """The fragment asv's index.html reads (`format_hash_string` in asv.js), percent-encoded."""
    parts = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    return quote(benchmark, safe="") + (f"?{parts}" if parts else "")


def graph_link_for(benchmark: str, machine: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """asv's graph fragment for a benchmark on one machine (every torch version), parameters selected."""
    return asv_graph_hash(benchmark, [("machine", machine), *((f"p-{k}", v) for k, v in params)])

"""Render the published regressions as text, GitHub-flavoured markdown or JSON (strings only)."""

from __future__ import annotations

import json
from typing import Any

from torchperf_core.compare import REGRESSIONS_FORMAT_VERSION, RegressionReport
from torchperf_core.render.text import table
from torchperf_core.render.compare import human


def _rows(report: RegressionReport) -> list[list[str]]:
    rows = []
    for r in report.regressions:
        for j in r.jumps:
            rows.append([
                r.benchmark, r.params or "", r.env_text, j.commit_range,
                human(j.before, r.unit), human(j.after, r.unit),
                f"{j.ratio:.2f}" if j.ratio is not None else "n/a",
            ])  # fmt: skip
    return rows


HEADERS = ["Benchmark", "Parameters", "Environment", "Commits", "Before", "After", "Ratio"]


def _title(report: RegressionReport) -> str:
    n = len(report.regressions)
    what = f"{n} regression" + ("" if n == 1 else "s")
    return f"{what} in the published history" + (f" of {report.project}" if report.project else "")


def render_text(report: RegressionReport) -> str:
    out = [f"torchperf regressions: {_title(report)}"]
    rows = _rows(report)
    if not rows:
        return "\n".join(out + ["no regressions"]) + "\n"
    out += ["", table(HEADERS, rows, "llllrrr")]
    return "\n".join(out) + "\n"


def render_markdown(report: RegressionReport) -> str:
    status = "❌" if report.regressions else "✅"
    out = [f"{status} **torchperf**: {_title(report)}"]
    rows = _rows(report)
    if rows:
        esc = lambda s: s.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")  # noqa: E731
        table = ["| " + " | ".join(HEADERS) + " |", "|---|---|---|---|---:|---:|---:|"]
        table += ["| " + " | ".join(esc(c) if c else " " for c in r) + " |" for r in rows]
        body = "\n".join(table)
        if len(rows) > 20:
            body = f"<details>\n<summary>{len(rows)} steps</summary>\n\n{body}\n\n</details>"
        out += ["", body]
    return "\n".join(out) + "\n"


def render_json(report: RegressionReport) -> str:
    data: dict[str, Any] = {
        "format_version": REGRESSIONS_FORMAT_VERSION,
        "project": report.project,
        "exit_code": report.exit_code,
        "regressions": [
            {
                "benchmark": r.benchmark,
                "params": r.params,
                "env": dict(r.env),
                "unit": r.unit,
                "last": r.last,
                "best": r.best,
                "ratio_last_to_best": r.ratio,
                "jumps": [
                    {
                        "commit_before": j.commit_before,
                        "commit_after": j.commit_after,
                        "commits": j.commit_range,
                        "before": j.before,
                        "after": j.after,
                        "ratio": j.ratio,
                    }
                    for j in r.jumps
                ],
            }
            for r in report.regressions
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render(report: RegressionReport, fmt: str) -> str:
    if fmt == "text":
        return render_text(report)
    if fmt == "markdown":
        return render_markdown(report)
    return render_json(report)

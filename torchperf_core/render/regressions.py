"""Render the published regressions, each step with compare's verdict, as text, GitHub-flavoured
markdown or JSON (strings only).

Decided slowdowns are the regressions; undecided steps are listed apart ("unknown — re-measure",
"contended — re-run on a quiet machine"), and steps compare's rule does not call slower last. A
step whose two runs found the machine itself at another speed carries compare's machine-speed line,
said on top as compare says it ("warning: machine speed: ..."). Numbers
and ratios use the comparison's formatters (`human`, `ratio_text`, `between_text`).
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from torchperf_core.compare import REGRESSIONS_FORMAT_VERSION, RegressionReport, RegressionStep
from torchperf_core.render.compare import between_text, human, ratio_text
from torchperf_core.render.text import md_escape, md_table, plural, table, undecided_headline

HEADERS = ["Verdict", "Benchmark", "Parameters", "Environment", "Commits", "Before", "After", "Ratio", "Runs", "Why"]
_ALIGN = "lllllrrrrl"


def _cells(s: RegressionStep) -> list[str]:
    r, j = s.regression, s.jump
    return [
        s.verdict, r.benchmark, r.params or "", r.env_text, j.commit_range,
        human(j.before, r.unit), human(j.after, r.unit),
        ratio_text(j.ratio, s.row.beyond_factor_only if s.row is not None else False),
        between_text(s.row) if s.row is not None else "—", s.reason or "",
    ]  # fmt: skip


def _sections(report: RegressionReport) -> list[tuple[str, tuple[RegressionStep, ...]]]:
    out = [
        ("Regressions (decided slower)", report.decided),
        ("Unknown — re-measure", report.unknown),
        ("Contended — re-run on a quiet machine", report.contended),
        ("Listed by the site, not slower by compare's rule", report.not_confirmed),
    ]
    return [(title, steps) for title, steps in out if steps]


def _title(report: RegressionReport) -> str:
    what = plural(len(report.decided), "regression")
    head = f"{what} in the published history" + (f" of {report.project}" if report.project else "")
    if report.steps:
        factor = f", factor {report.factor:g}" if report.factor is not None else ""
        head += f" ({plural(len(report.steps), 'step')} listed by the site, judged as compare does{factor})"
    return head


def headline(report: RegressionReport) -> str | None:
    """Said on top when steps are undecided: they are neither regressions nor unchanged, and the
    exit status does not count them (as `compare` says it)."""
    return undecided_headline(len(report.unknown), len(report.contended), report.exit_code, "step", "regressions")


def render_text(report: RegressionReport) -> str:
    out = [f"torchperf regressions: {_title(report)}"]
    if not report.steps:
        return "\n".join(out + ["no regressions"]) + "\n"
    top = headline(report)
    out += [top] if top else []
    out += [f"warning: {line}" for line in report.speed_lines]
    for title, steps in _sections(report):
        out += ["", f"{title}:", "", table(HEADERS, [_cells(s) for s in steps], _ALIGN)]
    out += ["", "Runs: separate runs before/after, ± half the largest relative range of a side's run medians; "
            "~ beyond the factor but not significant; exit 1 only for decided regressions"]
    return "\n".join(out) + "\n"


def _md_table(rows: Sequence[Sequence[str]]) -> str:
    body = md_table(HEADERS, rows, _ALIGN)
    if len(rows) > 20:
        body = f"<details>\n<summary>{len(rows)} steps</summary>\n\n{body}\n\n</details>"
    return body


def render_markdown(report: RegressionReport) -> str:
    status = "❌" if report.exit_code else ("⚠️" if report.unknown or report.contended else "✅")
    out = [f"{status} **torchperf**: {md_escape(_title(report))}"]
    top = headline(report)
    if top:
        out += ["", f"**{md_escape(top)}**"]
    if report.speed_lines:
        out += [""] + [f"> ⚠️ {md_escape(line)}" for line in report.speed_lines]
    for title, steps in _sections(report):
        out += ["", f"**{md_escape(title)}**", "", _md_table([_cells(s) for s in steps])]
    return "\n".join(out) + "\n"


def _step_json(s: RegressionStep | None) -> dict[str, Any]:
    if s is None:
        return {"verdict": None, "reason": None, "runs_before": None, "runs_after": None, "between_run_spread": None,
                "machine_speed": None}
    row = s.row
    return {
        "verdict": s.verdict,
        "reason": s.reason,
        "runs_before": row.runs_before if row else None,
        "runs_after": row.runs_after if row else None,
        "between_run_spread": row.between_spread if row else None,
        "machine_speed": s.speed,
    }


def render_json(report: RegressionReport) -> str:
    steps = {(s.regression, s.jump): s for s in report.steps}
    data: dict[str, Any] = {
        "format_version": REGRESSIONS_FORMAT_VERSION,
        "project": report.project,
        "factor": report.factor,
        "exit_code": report.exit_code,
        "headline": headline(report),
        "summary": dict(sorted(report.counts().items())),
        "speed_lines": list(report.speed_lines),
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
                        "base_commit": j.base_commit,
                        "before": j.before,
                        "after": j.after,
                        "ratio": j.ratio,
                        **_step_json(steps.get((r, j))),
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

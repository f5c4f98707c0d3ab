"""The gate's report: text (a table with verdict, ratio, CI, rounds and between-round spread) or JSON.

Formatters only: every verdict, ratio and interval comes from `rounds.run_gate` / `verdict`.
"""

from __future__ import annotations

import json
from typing import Any

from torchperf_core.gate.rounds import CaseOutcome, GateReport
from torchperf_core.render import format_time, table
from torchperf_core.verdict import (
    CONTENDED,
    EQUIVALENCE_ALPHA,
    FAMILY_ALPHA,
    FASTER,
    MARKS,
    SAME,
    SLOWER,
    UNDECIDED_VERDICTS,
    UNKNOWN,
)

# JSON output history:
#   1 — first version: sides, plan, alpha, counts, cases with verdict, ratio, CI, rounds, spread.
GATE_FORMAT_VERSION = 1

_ORDER = {SLOWER: 0, UNKNOWN: 1, CONTENDED: 2, FASTER: 3}


def _ci(c: CaseOutcome) -> str:
    j = c.judgement
    return f"{j.ci[0]:.3f}–{j.ci[1]:.3f}" if j is not None and j.ci is not None else "—"


def _spread(c: CaseOutcome) -> str:
    j = c.judgement
    return f"±{j.spread:.1%}" if j is not None and j.spread is not None else "—"


def _ratio(c: CaseOutcome) -> str:
    j = c.judgement
    return f"{j.ratio:.3f}" if j is not None and j.ratio is not None else "n/a"


def _time(x: float | None) -> str:
    return "n/a" if x is None else format_time(x)


def headline(r: GateReport) -> str:
    """The first line: the decision, and what is left undecided (issue 11: said at the top)."""
    counts = r.counts()
    undecided = sum(counts.get(v, 0) for v in UNDECIDED_VERDICTS)
    if r.exit_code:
        parts = [f"{counts[SLOWER]} slower"] if counts.get(SLOWER) else []
        parts += [f"{counts['failed']} newly failing"] if counts.get("failed") else []
        head = "REGRESSION: " + ", ".join(parts)
    else:
        head = "no decided regression"
    if undecided:
        head += (f"; {counts.get(UNKNOWN, 0)} unknown (re-measure) and {counts.get(CONTENDED, 0)} contended "
                 "(re-run on a quiet machine): not counted as unchanged")
    return head


def render_text(r: GateReport) -> str:
    rows = sorted(r.cases, key=lambda c: (_ORDER.get(c.verdict, 9), c.name))
    out = [
        f"torchperf continuous: {headline(r)}",
        f"{r.before.label} → {r.after.label}: {len(r.cases)} case(s), {r.rounds} round(s), {r.seconds:.0f} s; "
        f"factor {r.plan.factor:g}; per-case alpha {r.alpha:.2g} (family-wise {FAMILY_ALPHA:.0%} over cases and "
        f"{r.plan.looks} looks); same = {1 - 2 * EQUIVALENCE_ALPHA:.0%} CI inside the factor"
        + ("; budget spent" if r.budget_spent else ""),
        "",
    ]
    body = [[MARKS.get(c.verdict, " "), c.verdict, _time(c.before), _time(c.after), _ratio(c), _ci(c), str(c.rounds)
             + (f" (+{c.contended_rounds} disturbed)" if c.contended_rounds else ""), _spread(c), c.name] for c in rows]
    out.append(table(["", "Verdict", "Before", "After", "Ratio", "CI", "Rounds", "Spread", "Benchmark (Parameter)"],
                     body, "llrrrrrrl"))
    notes = [f"  {c.name}: {c.reason}" for c in rows if c.reason and c.verdict not in (SAME,)]
    if notes:
        out += ["", "Notes:"] + notes
    out += ["", "+ slower, - faster (decided), ? unknown: re-measure, c contended: re-run on a quiet machine; "
            "Spread: standard deviation of the per-round log ratios; exit 1 only for decided regressions"]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(r: GateReport) -> str:
    """The pull-request comment: the decision first, the undecided cases next, every case folded."""
    rows = sorted(r.cases, key=lambda c: (_ORDER.get(c.verdict, 9), c.name))
    status = "❌" if r.exit_code else ("⚠️" if any(c.verdict in UNDECIDED_VERDICTS for c in r.cases) else "✅")
    head = ["| | Verdict | Before | After | Ratio | CI | Rounds | Spread | Benchmark (Parameter) |",
            "|:-:|---|---:|---:|---:|---:|---:|---:|---|"]
    body = [f"| {MARKS.get(c.verdict, ' ')} | {c.verdict} | {_time(c.before)} | {_time(c.after)} | {_ratio(c)} | "
            f"{_ci(c)} | {c.rounds} | {_spread(c)} | `{_md(c.name)}` |" for c in rows]
    out = [f"{status} **torchperf continuous**: {_md(headline(r))}", "",
           f"{_md(r.before.label)} → {_md(r.after.label)}: {len(r.cases)} case(s), {r.rounds} round(s), "
           f"{r.seconds:.0f} s; factor {r.plan.factor:g}; per-case alpha {r.alpha:.2g} (family-wise "
           f"{FAMILY_ALPHA:.0%})" + ("; budget spent" if r.budget_spent else "")]
    changed = [line for c, line in zip(rows, body) if c.verdict != SAME]
    if changed:
        out += ["", *head, *changed]
    out += ["", "<details>", f"<summary>All {len(rows)} case(s)</summary>", "", *head, *body, "", "</details>"]
    notes = [f"- `{_md(c.name)}`: {_md(c.reason)}" for c in rows if c.reason and c.verdict != SAME]
    if notes:
        out += ["", *notes]
    return "\n".join(out) + "\n"


def report_to_json(r: GateReport) -> dict[str, Any]:
    def side(s: Any) -> dict[str, Any]:
        return {"label": s.label, "commit": s.commit, "torch_version": s.torch_version, "python": s.python}

    return {
        "format_version": GATE_FORMAT_VERSION,
        "kind": "gate",
        "before": side(r.before),
        "after": side(r.after),
        "factor": r.plan.factor,
        "alpha_per_case": r.alpha,
        "family_alpha": FAMILY_ALPHA,
        "looks": r.plan.looks,
        "rounds": r.rounds,
        "seconds": round(r.seconds, 1),
        "budget_spent": r.budget_spent,
        "exit_code": r.exit_code,
        "headline": headline(r),
        "summary": dict(sorted(r.counts().items())),
        "cases": [
            {
                "benchmark": c.benchmark,
                "key": c.key,
                "verdict": c.verdict,
                "before": c.before,
                "after": c.after,
                "ratio": c.judgement.ratio if c.judgement else None,
                "ci": list(c.judgement.ci) if c.judgement and c.judgement.ci else None,
                "p": c.judgement.p if c.judgement else None,
                "rounds": c.rounds,
                "contended_rounds": c.contended_rounds,
                "between_round_spread": c.judgement.spread if c.judgement else None,
                "reason": c.reason,
            }
            for c in sorted(r.cases, key=lambda c: c.name)
        ],
    }


def render(r: GateReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report_to_json(r), indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return render_markdown(r)
    return render_text(r)

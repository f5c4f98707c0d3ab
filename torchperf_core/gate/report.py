"""The gate's report as data: the JSON document (versioned here, next to the result it records) and
the choice of output format. The text and markdown are rendered by `render` (render/gate.py);
every verdict, ratio and interval comes from `rounds.run_gate` / `verdict`.
"""

from __future__ import annotations

import json
from typing import Any

from torchperf_core.gate.rounds import TIME_UNIT, CaseOutcome, GateReport
from torchperf_core.render import gate_headline, render_gate_markdown, render_gate_text
from torchperf_core.verdict import PairedJudgement

# JSON output history:
#   1 — first version: sides, plan, alpha, counts, cases with verdict, ratio, CI, rounds, spread.
#       Optional keys, present only with `--metric instructions` (issue 12; readers of 1 ignore them):
#       "notes"; on count cases "unit": "instructions" and "tolerance"; on time cases "instructions".
#       "out_of_reach": true on an unknown case no longer re-measured because its spread between
#       rounds put any decision out of reach by --max-rounds (verdict.out_of_reach; absent otherwise).
#       "p_signed_rank" (exact Wilcoxon p, where the test had a share of alpha), "robust_ratio"
#       (Hodges-Lehmann) and "decided_by" ("paired t-test" / "signed-rank test", on slower/faster)
#       on judged time cases; "ratio" is the deciding test's estimate.
#       "per_round" on a case with clean rounds: each round's number, which side ran first
#       ("before" / "after") and the two medians, in the order they ran (what the verdict rests on).
#       "interleave": "sample" (the sides took turns sample by sample) or "case" (each side's whole
#       measurement in turn); absent from reports written before sample pacing, which ran by case.
#       "budget_share": "even" or "nearest" (--budget-share: which undecided cases the budget's rounds
#       went to); absent from reports written before the choice, which shared them evenly.
#       "budget": the --budget in seconds (null without one); absent from reports written before it.
GATE_FORMAT_VERSION = 1


def report_to_json(r: GateReport) -> dict[str, Any]:
    def side(s: Any) -> dict[str, Any]:
        return {"label": s.label, "commit": s.commit, "torch_version": s.torch_version, "python": s.python}

    def extra(c: CaseOutcome) -> dict[str, Any]:
        """The count fields: a count case's unit and tolerance, a time case's paired count."""
        if c.unit != TIME_UNIT:
            return {"unit": c.unit, "tolerance": c.tolerance}
        b = c.instructions
        if b is None:
            return {}
        return {"instructions": {"case": b.name, "before": b.before, "after": b.after, "ratio": b.ratio,
                                 "verdict": b.verdict, "reading": b.reading}}

    return {
        "format_version": GATE_FORMAT_VERSION,
        "kind": "gate",
        "before": side(r.before),
        "after": side(r.after),
        "factor": r.plan.factor,
        "alpha_per_case": r.alpha,
        "family_alpha": r.plan.family_alpha,
        "looks": r.plan.looks,
        "rounds": r.rounds,
        "seconds": round(r.seconds, 1),
        "budget": r.plan.budget,
        "budget_spent": r.budget_spent,
        "interleave": r.interleave,
        "budget_share": r.plan.budget_share,
        "exit_code": r.exit_code,
        "headline": gate_headline(r),
        "summary": dict(sorted(r.counts().items())),
        "cases": [
            {
                "benchmark": c.benchmark,
                "key": c.key,
                "verdict": c.verdict,
                "before": c.before,
                "after": c.after,
                "ratio": c.ratio,
                "ci": list(c.judgement.ci) if c.judgement and c.judgement.ci else None,
                "p": c.judgement.p if c.judgement else None,
                "rounds": c.rounds,
                "contended_rounds": c.contended_rounds,
                "between_round_spread": c.judgement.spread if c.judgement else None,
                "reason": c.reason,
                **({"out_of_reach": True} if c.out_of_reach else {}),
                **(_robust(c.judgement) if c.judgement else {}),
                **extra(c),
                **({"per_round": [{"round": p.round, "first": ("before", "after")[p.first], "before": p.before,
                                   "after": p.after} for p in c.per_round]} if c.per_round else {}),
            }
            for c in sorted(r.cases, key=lambda c: c.name)
        ],
        **({"notes": list(r.notes)} if r.notes else {}),
    }


def _robust(j: PairedJudgement) -> dict[str, Any]:
    return {"p_signed_rank": j.rank_p, "robust_ratio": j.robust_ratio, "decided_by": j.decided_by}


def report_output(r: GateReport, fmt: str) -> str:
    """The report in `fmt` (text, markdown or json): the one place the CLI's --format is honoured."""
    if fmt == "json":
        return json.dumps(report_to_json(r), indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return render_gate_markdown(r)
    return render_gate_text(r)

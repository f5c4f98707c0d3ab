"""The gate's (`torchperf continuous`) report as text or as a pull-request comment (markdown).

Strings only: every verdict, ratio, interval and count comes from the gate (`gate.rounds.run_gate`,
judged by `verdict.judge_paired`). The report is taken by shape (GateReportLike, GateCaseLike), not
by the gate room's GateReport type: render sits below the gate in the layers and must not import it.
Numbers are formatted by the helpers the comparison uses (`format_time`, `ratio_text`, `md_escape`),
so a ratio or a time reads the same in `compare` and in `continuous`.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence

from torchperf_core.compare import CountBeside
from torchperf_core.render.blas import format_count
from torchperf_core.render.compare import ratio_text
from torchperf_core.render.compare_metrics import HEADERS as BESIDE_HEADERS
from torchperf_core.render.compare_metrics import LEGEND as BESIDE_LEGEND
from torchperf_core.render.compare_metrics import READING_TEXT
from torchperf_core.render.text import format_error_rate, format_interval, format_seconds, format_time, md_escape, md_table, table
from torchperf_core.verdict import (
    CONTENDED,
    COUNT_UNIT,
    EQUIVALENCE_ALPHA,
    FASTER,
    MARKS,
    SAME,
    SLOWER,
    UNDECIDED_VERDICTS,
    UNKNOWN,
    PairedJudgement,
    signed_rank_rounds,
)

# Display order: decided slowdowns first, then what to re-measure, then the rest.
_ORDER = {SLOWER: 0, UNKNOWN: 1, CONTENDED: 2, FASTER: 3}


class GateSideLike(Protocol):
    @property
    def label(self) -> str: ...


class GatePlanLike(Protocol):
    @property
    def factor(self) -> float: ...
    @property
    def looks(self) -> int: ...
    @property
    def budget(self) -> float | None: ...
    @property
    def budget_share(self) -> str: ...
    @property
    def family_alpha(self) -> float: ...


class GateCaseLike(Protocol):
    """What the report reads from a case (torchperf_core.gate's CaseOutcome has these fields)."""

    @property
    def name(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def judgement(self) -> PairedJudgement | None: ...
    @property
    def before(self) -> float | None: ...
    @property
    def after(self) -> float | None: ...
    @property
    def rounds(self) -> int: ...
    @property
    def contended_rounds(self) -> int: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def unit(self) -> str: ...  # "seconds", or verdict.COUNT_UNIT for an instruction-count case
    @property
    def ratio(self) -> float | None: ...
    @property
    def tolerance(self) -> str | None: ...
    @property
    def instructions(self) -> CountBeside | None: ...


class GateReportLike(Protocol):
    """What the report reads from the gate's result (torchperf_core.gate's GateReport)."""

    @property
    def before(self) -> GateSideLike: ...
    @property
    def after(self) -> GateSideLike: ...
    @property
    def plan(self) -> GatePlanLike: ...
    @property
    def alpha(self) -> float: ...
    @property
    def cases(self) -> Sequence[GateCaseLike]: ...
    @property
    def rounds(self) -> int: ...
    @property
    def seconds(self) -> float: ...
    @property
    def budget_spent(self) -> bool: ...
    @property
    def exit_code(self) -> int: ...
    @property
    def notes(self) -> tuple[str, ...]: ...
    @property
    def interleave(self) -> str: ...
    def counts(self) -> dict[str, int]: ...


def _ci(c: GateCaseLike) -> str:
    j = c.judgement
    return format_interval(j.ci if j is not None else None)


def _spread(c: GateCaseLike) -> str:
    j = c.judgement
    return f"±{j.spread:.1%}" if j is not None and j.spread is not None else "—"


def _ratio(c: GateCaseLike) -> str:
    """Three decimals: the paired rounds resolve ratios finer than one run per side does."""
    return ratio_text(c.judgement.ratio if c.judgement is not None else None, False, digits=3)


def _tests(alpha: float) -> str:
    """Which test decides a change: the t-test, joined by the signed-rank test (alpha shared) from the
    rounds where it could reject (`verdict.alpha_shares`)."""
    if not 0.0 < alpha < 1.0:
        return ""
    return f"; changes: paired t-test, and from {signed_rank_rounds(alpha)} rounds the signed-rank test (alpha shared)"


def _interleaved(r: GateReportLike) -> str:
    """How the rounds took turns between the sides (gate.pairs.INTERLEAVES)."""
    return "; sides alternated sample by sample" if r.interleave == "sample" else "; sides alternated case by case"


def _budget(r: GateReportLike) -> str:
    """The --budget the rounds ran under, how it was shared (gate.budget.BUDGET_RULES) and whether it ended the run."""
    plan = r.plan
    # the flag as given (33.5 stays 33.5, 1e9 prints without an exponent), not rounded as seconds left are
    given = f"; --budget {plan.budget:.12g} s (--budget-share {plan.budget_share})" if plan.budget is not None else ""
    return given + ("; budget spent" if r.budget_spent else "")


def _run_line(r: GateReportLike, escape: Callable[[str], str], full: bool) -> str:
    """The line under the headline: the sides, the cases, rounds and time they took, the rules they were judged
    by, how the sides took turns and the budget. The pull-request comment (`full` False) leaves out the
    family's looks and the rule for same, to stay short."""
    family = f"family-wise {format_error_rate(r.plan.family_alpha)}" + (f" over cases and {r.plan.looks} looks" if full else "")
    same = f"; same = {1 - 2 * EQUIVALENCE_ALPHA:.0%} CI inside the factor" if full else ""
    return (f"{escape(r.before.label)} → {escape(r.after.label)}: {len(r.cases)} case(s), {r.rounds} round(s), "
            f"{format_seconds(r.seconds)}; factor {r.plan.factor:g}; per-case alpha {r.alpha:.2g} ({family})"
            f"{_tests(r.alpha)}{same}" + escape(_interleaved(r) + _budget(r)))


def _time(x: float | None) -> str:
    return format_time(x, missing="n/a")


def _ranked(r: GateReportLike, unit: str | None = None) -> list[GateCaseLike]:
    """The time cases (unit None) or the count cases (COUNT_UNIT), regressions first."""
    rows = [c for c in r.cases if (c.unit == COUNT_UNIT) == (unit == COUNT_UNIT)]
    return sorted(rows, key=lambda c: (_ORDER.get(c.verdict, 9), c.name))


def _count(x: float | None) -> str:
    return format_count(x) if x is not None else "n/a"


def _beside(c: GateCaseLike) -> list[str]:
    """The count of the same case beside a time row (compare's two columns); "—" without one."""
    b = c.instructions
    return ["—", "—"] if b is None else [ratio_text(b.ratio, False, digits=3), b.verdict]


def _has_beside(rows: Sequence[GateCaseLike]) -> bool:
    return any(c.instructions is not None for c in rows)


def _tolerances(rows: Sequence[GateCaseLike]) -> str:
    return ", ".join(sorted({c.tolerance for c in rows if c.tolerance})) or "n/a"


def _count_lines(r: GateReportLike, rows: Sequence[GateCaseLike]) -> list[str]:
    """The reading of each paired time row, then the report's notes (why a metric has no rows)."""
    out = [f"{c.name}: time {_ratio(c)} {c.verdict}, instructions {ratio_text(c.instructions.ratio, False, digits=3)} "
           f"{c.instructions.verdict} → {READING_TEXT[c.instructions.reading]}"
           for c in rows if c.instructions is not None and c.instructions.reading]
    return out + list(r.notes)


def _md_name(name: str) -> str:
    return f"`{name}`"  # md_table escapes the cell


def _time_table(rows: Sequence[GateCaseLike], beside: bool,
                name: Callable[[str], str]) -> tuple[list[str], list[list[str]], str]:
    """Headers, cells and alignment of the time cases' table: one shape for the text report and the
    pull-request comment (`name` writes the benchmark's cell: plain, or escaped in backticks)."""
    headers = ["", "Verdict", "Before", "After", "Ratio", *(BESIDE_HEADERS if beside else ()), "CI", "Rounds",
               "Spread", "Benchmark (Parameter)"]
    cells = [[MARKS.get(c.verdict, " "), c.verdict, _time(c.before), _time(c.after), _ratio(c)]
             + (_beside(c) if beside else [])
             + [_ci(c), str(c.rounds) + (f" (+{c.contended_rounds} disturbed)" if c.contended_rounds else ""),
                _spread(c), name(c.name)] for c in rows]
    return headers, cells, "clrrr" + ("rl" if beside else "") + "rrrl"


def _count_table(counted: Sequence[GateCaseLike], name: Callable[[str], str]) -> tuple[list[str], list[list[str]], str]:
    """The instruction-count cases' table (text and markdown alike)."""
    cells = [[MARKS.get(c.verdict, " "), c.verdict, _count(c.before), _count(c.after),
              ratio_text(c.ratio, False, digits=3), name(c.name)] for c in counted]
    return ["", "Verdict", "Before", "After", "Ratio", "Benchmark (Parameter)"], cells, "clrrrl"


def gate_headline(r: GateReportLike) -> str:
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


def render_gate_text(r: GateReportLike) -> str:
    rows = _ranked(r)
    out = [
        f"torchperf continuous: {gate_headline(r)}",
        _run_line(r, str, full=True),
        "",
    ]
    beside = _has_beside(rows)
    headers, body, align = _time_table(rows, beside, str)
    out.append(table(headers, body, align.replace("c", "l")))
    counted = _ranked(r, COUNT_UNIT)
    if counted:
        out += ["", f"Instruction counts ({COUNT_UNIT} per call, counted once per side under valgrind; same within "
                    f"{_tolerances(counted)} of before):",
                table(*_count_table(counted, str)[:2], "llrrrl")]
    notes = [f"  {c.name}: {c.reason}" for c in rows if c.reason and c.verdict != SAME]
    notes += [f"  {line}" for line in _count_lines(r, rows)]
    if notes:
        out += ["", "Notes:"] + notes
    out += ["", "+ slower, - faster (decided), ? unknown: re-measure, c contended: re-run on a quiet machine; "
            "Ratio: geometric mean of the per-round ratios (Hodges-Lehmann where the signed-rank test decided); "
            "Spread: standard deviation of the per-round log ratios; exit 1 only for decided regressions"]
    if beside:
        out.append(BESIDE_LEGEND)
    return "\n".join(out) + "\n"


def render_gate_markdown(r: GateReportLike) -> str:
    """The pull-request comment: the decision first, the undecided cases next, every case folded."""
    rows = _ranked(r)
    status = "❌" if r.exit_code else ("⚠️" if any(c.verdict in UNDECIDED_VERDICTS for c in r.cases) else "✅")
    beside = _has_beside(rows)
    headers, cells, align = _time_table(rows, beside, _md_name)
    body = md_table(headers, cells, align).split("\n")[2:]
    head = md_table(headers, [], align).split("\n")
    out = [f"{status} **torchperf continuous**: {md_escape(gate_headline(r))}", "",
           _run_line(r, md_escape, full=False)]
    changed = [line for c, line in zip(rows, body) if c.verdict != SAME]
    if changed:
        out += ["", *head, *changed]
    out += ["", "<details>", f"<summary>All {len(rows)} case(s)</summary>", "", *head, *body, "", "</details>"]
    counted = _ranked(r, COUNT_UNIT)
    if counted:
        out += ["", f"**Instruction counts** ({COUNT_UNIT} per call, counted once per side under valgrind; same "
                    f"within {_tolerances(counted)} of before)", "",
                md_table(*_count_table(counted, _md_name))]
    notes = [f"- `{md_escape(c.name)}`: {md_escape(c.reason)}" for c in rows if c.reason and c.verdict != SAME]
    notes += [f"- {md_escape(line)}" for line in _count_lines(r, rows)]
    if notes:
        out += ["", *notes]
    return "\n".join(out) + "\n"

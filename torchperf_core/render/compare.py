"""Render comparisons as text, GitHub-flavoured markdown (a pull-request comment) or JSON.

Formatters return strings and never compute statistics: every verdict, ratio and GFLOP/s figure
comes from `compare`. Output carries no timestamps or absolute paths, so it is reproducible from the
same results (and testable against golden files).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any, Sequence

from torchperf_core.compare import (
    COMPARE_FORMAT_VERSION,
    CONTENDED,
    FAILED,
    FASTER,
    FIXED,
    INCOMPARABLE,
    ONLY_AFTER,
    ONLY_BEFORE,
    SAME,
    SLOWER,
    UNKNOWN,
    Comparison,
    Row,
)
from torchperf_core.render.compare_metrics import HEADERS as BESIDE_HEADERS, LEGEND as BESIDE_LEGEND
from torchperf_core.render.compare_metrics import TITLE as BESIDE_TITLE
from torchperf_core.render.compare_metrics import beside_cells, beside_json, has_beside, reading_lines
from torchperf_core.render.compare_isa import TITLE as ISA_TITLE, isa_lines
from torchperf_core.render.text import md_escape, md_table, plural, table, undecided_headline

FORMATS = ("text", "markdown", "json")

# Section order when split (asv compare --split): the worst news first.
_SECTIONS = (
    ("Benchmarks that have got worse", (SLOWER, FAILED)),
    ("Benchmarks that have improved", (FASTER, FIXED)),
    ("Benchmarks that are not comparable", (INCOMPARABLE,)),
    ("Benchmarks to re-run on a quiet machine (contended)", (CONTENDED,)),
    ("Benchmarks not decided: re-measure (unknown)", (UNKNOWN,)),
    ("Benchmarks that have stayed the same", None),
)


def human(value: float | None, unit: str | None, err: float | None = None) -> str:
    """asv's own number formatting ("2.00±0.01ms"); "n/a" for missing, failed or skipped."""
    from asv.util import human_value

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return human_value(value, unit or "", err=err)


def ratio_text(row_ratio: float | None, loose: bool, digits: int = 2) -> str:
    """The one ratio format ("1.50", "~1.12", "n/a"); the gate's paired rounds show 3 digits."""
    if row_ratio is None:
        return "n/a"
    return ("~" if loose else "") + f"{row_ratio:.{digits}f}"


def gflops_text(before: float | None, after: float | None) -> str:
    if before is None and after is None:
        return "—"
    fmt = lambda x: "—" if x is None else f"{x:.1f}"  # noqa: E731
    return f"{fmt(before)} → {fmt(after)}"


def summary_line(c: Comparison) -> str:
    counts = c.counts()
    parts = []
    if counts.get(SLOWER):
        parts.append(f"{counts[SLOWER]} slower")
    if counts.get(FAILED):
        parts.append(f"{counts[FAILED]} newly failing")
    if counts.get(FASTER):
        parts.append(f"{counts[FASTER]} faster")
    if counts.get(FIXED):
        parts.append(f"{counts[FIXED]} fixed")
    same = counts.get(SAME, 0)
    parts.append(f"{same} unchanged")
    if counts.get(UNKNOWN):
        parts.append(f"{counts[UNKNOWN]} unknown (re-measure)")
    if counts.get(CONTENDED):
        parts.append(f"{counts[CONTENDED]} contended (re-run on a quiet machine)")
    if counts.get(INCOMPARABLE):
        parts.append(f"{counts[INCOMPARABLE]} not comparable")
    one_side = counts.get(ONLY_BEFORE, 0) + counts.get(ONLY_AFTER, 0)
    if one_side:
        parts.append(f"{one_side} on one side only")
    rest = len(c.rows) - sum(counts.get(k, 0) for k in (SLOWER, FAILED, FASTER, FIXED, SAME, INCOMPARABLE, ONLY_BEFORE,
                                                        ONLY_AFTER, UNKNOWN, CONTENDED))
    if rest:
        parts.append(f"{rest} skipped or failed on both sides")
    return ", ".join(parts)


def headline(c: Comparison) -> str | None:
    """The line shown on top when cases are undecided: they are neither regressions nor unchanged,
    and the exit status does not count them (issue 11: said at the top, not only at the bottom)."""
    counts = c.counts()
    return undecided_headline(counts.get(UNKNOWN, 0), counts.get(CONTENDED, 0), c.exit_code, "case", "changes")


def between_text(row: Row) -> str:
    """Runs behind each side and, with two or more, the spread between them: '1/1', '3/3 ±4.1%'."""
    if not row.runs_before or not row.runs_after:
        return "—"  # one side has no result: nothing was compared
    runs = f"{row.runs_before}/{row.runs_after}"
    if row.between_spread is None:
        return runs
    return f"{runs} ±{row.between_spread / 2:.1%}"


def _title(c: Comparison) -> str:
    where = f"machine {c.before.machine}"
    if c.after.machine != c.before.machine:
        where = f"machines {c.before.machine} → {c.after.machine}"
    if c.mode == "torch":
        return f"{c.before.label} → {c.after.label} at commit {c.before.commit[:8]} ({where}, factor {c.factor:g})"
    return f"{c.before.label} → {c.after.label} ({where}, factor {c.factor:g})"


def _cells(row: Row, show_env: bool, beside: bool = False) -> list[str]:
    """`beside`: the instruction-count columns after "Ratio" (issue 12; only when some row has a pair)."""
    cells = [
        row.mark,
        human(row.before, row.unit, row.before_err),
        human(row.after, row.unit, row.after_err),
        ratio_text(row.ratio, row.beyond_factor_only),
        between_text(row),
        gflops_text(row.gflops_before, row.gflops_after),
        row.name,
    ]
    if beside:
        cells[4:4] = beside_cells(row)
    if show_env:
        cells.append(row.env)
    return cells


def _headers(c: Comparison, show_env: bool) -> list[str]:
    h = ["", f"Before [{c.before.label}]", f"After [{c.after.label}]", "Ratio", "Runs", "GFLOP/s", "Benchmark (Parameter)"]
    if has_beside(c.rows):
        h[4:4] = BESIDE_HEADERS
    if show_env:
        h.append("Environment")
    return h


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Mark, before, after, ratio (instr ratio) and runs columns right-aligned (numbers), the rest left."""
    align = "lrrrrlr" if BESIDE_HEADERS[0] in headers else "lrrrr"
    return table(headers, [[str(c) for c in r] for r in rows], align + "l" * (len(headers) - len(align)))


def _sections(c: Comparison, split: bool) -> list[tuple[str, tuple[Row, ...]]]:
    if not split:
        return [("", c.rows)]
    out = []
    taken: set[int] = set()
    for title, verdicts in _SECTIONS:
        if verdicts is None:
            rows = tuple(r for i, r in enumerate(c.rows) if i not in taken)
        else:
            rows = tuple(r for i, r in enumerate(c.rows) if r.verdict in verdicts)
            taken.update(i for i, r in enumerate(c.rows) if r.verdict in verdicts)
        if rows:
            out.append((title, rows))
    return out


def _show_env(c: Comparison) -> bool:
    return len({r.env for r in c.rows}) > 1 or c.mode == "commits"


def _why_lines(c: Comparison) -> list[str]:
    """Plain lines (no markup) explaining the differences; shared by text and markdown."""
    lines: list[str] = []
    for d in c.env_diffs:
        if d.missing:
            lines.append(f"[{d.env}] fingerprint unavailable: {'; '.join(d.missing)}")
            continue
        if not d.fields:
            lines.append(f"[{d.env}] environments identical (fingerprint)")
            continue
        lines.append(f"[{d.env}] {plural(len(d.fields), 'fingerprint difference')} (! = timings not directly comparable):")
        for path, before, after, key in d.fields:
            lines.append(f"  {'!' if key else ' '} {path}: {before} → {after}")
    return lines


def _kernel_lines(c: Comparison) -> list[str]:
    lines = []
    for k in c.kernel_changes:
        before = ", ".join(k.before) or "(none recorded)"
        after = ", ".join(k.after) or "(none recorded)"
        flag = ""
        if k.after_reference and not k.before_reference:
            flag = "  ← REFERENCE kernel (ref:any) after: expect a large slowdown"
        elif k.before_reference and not k.after_reference:
            flag = "  ← left the REFERENCE kernel"
        lines.append(f"{k.kernel} ({', '.join(k.benchmarks)}): {before} → {after}{flag}")
    return lines


def _shown(c: Comparison, only_changed: bool) -> Comparison:
    """The rows to display; the summary line is always taken from all of them."""
    if not only_changed:
        return c
    return replace(c, rows=tuple(r for r in c.rows if r.changed or r.verdict in (INCOMPARABLE, UNKNOWN, CONTENDED)))


def _undecided_lines(c: Comparison) -> list[str]:
    """The contended cases under "re-run on a quiet machine", the unknown ones under "re-measure"."""
    out: list[str] = []
    for verdict, title in ((CONTENDED, "Re-run on a quiet machine (contended)"), (UNKNOWN, "Re-measure (unknown)")):
        rows = [r for r in c.rows if r.verdict == verdict]
        if rows:
            out += ["", f"{title}:"] + [f"  {r.name}" + (f" [{r.env}]" if _show_env(c) else "")
                                        + (f": {r.reason}" if r.reason else "") for r in rows]
    return out


def render_text(c: Comparison, *, split: bool = False, only_changed: bool = False) -> str:
    top = headline(c)
    out = [f"torchperf compare: {_title(c)}"] + ([top] if top else []) + [summary_line(c)]
    c = _shown(c, only_changed)
    show_env = _show_env(c)
    for w in c.warnings:
        out.append(f"warning: {w}")
    for title, rows in _sections(c, split):
        out.append("")
        if title:
            out += [title + ":", ""]
        if rows:
            out.append(_text_table(_headers(c, show_env), [_cells(r, show_env, has_beside(c.rows)) for r in rows]))
    if not c.rows:
        out += ["", "(no benchmarks to show)"]
    out += _undecided_lines(c)
    readings = reading_lines(c.rows, show_env)
    if readings:
        out += ["", f"{BESIDE_TITLE}:"] + ["  " + line for line in readings]
    why = _why_lines(c)
    if why:
        out += ["", "Why: environment differences"]
        out += ["  " + line for line in why]
    kernels = _kernel_lines(c)
    if kernels:
        out += ["", "Kernels of ops that changed:"]
        out += ["  " + line for line in kernels]
    if c.isa_findings:
        out += ["", f"{ISA_TITLE}:"] + ["  " + line for line in isa_lines(c)]
    out.append("")
    out.append(_legend())
    if has_beside(c.rows):
        out.append(BESIDE_LEGEND)
    return "\n".join(out) + "\n"


def _legend() -> str:
    return (
        "+ slower, - faster (significant by asv's rules and beyond the factor), ! started failing, "
        "* stopped failing, x benchmark version changed, ~ beyond the factor but not significant, "
        "? unknown (one run per side, or not decided between runs): re-measure, c contended: re-run on a quiet "
        "machine; Runs: separate runs before/after, ± half the largest relative range of a side's run medians"
    )


# --------------------------------------------------------------------------------------------------
# Markdown (GitHub-flavoured): summary line first, long parts folded.

_MD_ROWS_UNFOLDED = 20


def _md_mark(mark: str) -> str:
    return {"+": "🔴 +", "-": "🟢 -", "!": "🔴 !", "*": "🟢 *", "x": "x", "?": "🟡 ?", "c": "🟠 c"}.get(mark, mark)


def _md_rows(c: Comparison, rows: Sequence[Row], show_env: bool) -> str:
    cells = []
    beside = has_beside(c.rows)
    for r in rows:
        row = _cells(r, show_env, beside)
        row[0] = _md_mark(row[0])
        name = len(row) - (2 if show_env else 1)
        row[name] = f"`{row[name]}`"
        cells.append(row)
    headers = _headers(c, show_env)
    return md_table(headers, cells, "crrrrlr" + "l" * (len(headers) - 7) if beside else None)


def _details(summary: str, body: str) -> str:
    return f"<details>\n<summary>{summary}</summary>\n\n{body}\n\n</details>"


def render_markdown(c: Comparison, *, split: bool = False, only_changed: bool = False) -> str:
    summary = summary_line(c)
    c_all, c = c, _shown(c, only_changed)
    show_env = _show_env(c)
    status = "❌" if c.exit_code else ("⚠️" if c_all.undecided else "✅")
    verdict = (
        f"{plural(len(c.regressions), 'benchmark')} got significantly slower"
        if c.regressions
        else "no significant regression"
    )
    top = headline(c_all)
    out = [f"{status} **torchperf**: {verdict} — {md_escape(summary)}", ""]
    if top:
        out += [f"**{md_escape(top)}**", ""]
    out.append(f"{md_escape(_title(c))}")
    for w in c.warnings:
        out += ["", f"> ⚠️ {md_escape(w)}"]
    changed = tuple(r for r in c.rows if r.changed or r.verdict in (INCOMPARABLE, CONTENDED, UNKNOWN))
    if split:
        for title, rows in _sections(c, True):
            table = _md_rows(c, rows, show_env)
            if len(rows) > _MD_ROWS_UNFOLDED or title.endswith("the same"):
                out += ["", _details(f"{title} ({len(rows)})", table)]
            else:
                out += ["", f"**{title}**", "", table]
    else:
        if changed:
            out += ["", "**Changed**", "", _md_rows(c, changed, show_env)]
        if c.rows and not only_changed:
            out += ["", _details(f"All {plural(len(c.rows), 'benchmark')}", _md_rows(c, c.rows, show_env))]
        elif not changed:
            out += ["", "_No benchmarks to show._"]
    why = _why_lines(c_all)
    warnings = list(dict.fromkeys(w for d in c_all.env_diffs for w in d.warnings))
    if warnings:
        out += [""] + [f"> ⚠️ {md_escape(w)}" for w in warnings]
    kernels = _kernel_lines(c)
    if kernels:
        out += ["", "**Kernels of ops that changed**", ""] + [f"- {md_escape(k)}" for k in kernels]
    if c.isa_findings:
        out += ["", f"**{ISA_TITLE}**", ""] + [f"- {md_escape(line)}" for line in isa_lines(c)]
    readings = reading_lines(c.rows, show_env)
    if readings:
        out += ["", f"**{BESIDE_TITLE}**", ""] + [f"- {md_escape(line)}" for line in readings]
    if why:
        out += ["", _details("Why: environment differences", "```\n" + "\n".join(why) + "\n```")]
    out += ["", f"<sub>{md_escape(_legend())}</sub>"]
    if has_beside(c.rows):
        out += [f"<sub>{md_escape(BESIDE_LEGEND)}</sub>"]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------
# JSON


def _num(x: float | None) -> float | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return x


def comparison_to_json(c: Comparison) -> dict[str, Any]:
    def side(s: Any) -> dict[str, Any]:
        return {"label": s.label, "commit": s.commit, "machine": s.machine, "torch_version": s.torch_version}

    return {
        "format_version": COMPARE_FORMAT_VERSION,
        "kind": "comparison",
        "mode": c.mode,
        "before": side(c.before),
        "after": side(c.after),
        "factor": c.factor,
        "exit_code": c.exit_code,
        "headline": headline(c),
        "summary": dict(sorted(c.counts().items())),
        "undecided": [r.name + (f" [{r.env}]" if _show_env(c) else "") for r in c.undecided],
        "rows": [
            {
                "benchmark": r.benchmark,
                "params": {k: v for k, v in r.params},
                "name": r.name,
                "env": r.env,
                "unit": r.unit,
                "before": _num(r.before),
                "after": _num(r.after),
                "before_err": _num(r.before_err),
                "after_err": _num(r.after_err),
                "ratio": _num(r.ratio),
                "significant": r.significant,
                "beyond_factor_only": r.beyond_factor_only,
                "verdict": r.verdict,
                "mark": r.mark,
                "gflops_before": _num(r.gflops_before),
                "gflops_after": _num(r.gflops_after),
                "runs_before": r.runs_before,
                "runs_after": r.runs_after,
                "between_run_spread": _num(r.between_spread),
                "between_run_ratio": _num(r.between_ratio),
                "between_run_ci": [_num(r.between_ci[0]), _num(r.between_ci[1])] if r.between_ci else None,
                "reason": r.reason,
                **beside_json(r, _num),
            }
            for r in c.rows
        ],
        "env_diffs": [
            {
                "env": d.env,
                "fields": [{"path": p, "before": b, "after": a, "key_field": k} for p, b, a, k in d.fields],
                "warnings": list(d.warnings),
                "missing_sidecars": list(d.missing),
            }
            for d in c.env_diffs
        ],
        "kernel_changes": [
            {
                "kernel": k.kernel,
                "benchmarks": list(k.benchmarks),
                "before": list(k.before),
                "after": list(k.after),
                "before_reference": k.before_reference,
                "after_reference": k.after_reference,
            }
            for k in c.kernel_changes
        ],
        "warnings": list(c.warnings),
    }


def render_json(c: Comparison, *, only_changed: bool = False) -> str:
    data = comparison_to_json(c)
    if only_changed:
        data["rows"] = comparison_to_json(_shown(c, True))["rows"]
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def render(c: Comparison, fmt: str, *, split: bool = False, only_changed: bool = False) -> str:
    if fmt == "text":
        return render_text(c, split=split, only_changed=only_changed)
    if fmt == "markdown":
        return render_markdown(c, split=split, only_changed=only_changed)
    return render_json(c, only_changed=only_changed)

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
    FAILED,
    FASTER,
    FIXED,
    INCOMPARABLE,
    ONLY_AFTER,
    ONLY_BEFORE,
    SAME,
    SLOWER,
    Comparison,
    Row,
    VersionMatrix,
)
from torchperf_core.render.text import table

FORMATS = ("text", "markdown", "json")

# Section order when split (asv compare --split): the worst news first.
_SECTIONS = (
    ("Benchmarks that have got worse", (SLOWER, FAILED)),
    ("Benchmarks that have improved", (FASTER, FIXED)),
    ("Benchmarks that are not comparable", (INCOMPARABLE,)),
    ("Benchmarks that have stayed the same", None),
)


def human(value: float | None, unit: str | None, err: float | None = None) -> str:
    """asv's own number formatting ("2.00±0.01ms"); "n/a" for missing, failed or skipped."""
    from asv.util import human_value

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return human_value(value, unit or "", err=err)


def ratio_text(row_ratio: float | None, loose: bool) -> str:
    if row_ratio is None:
        return "n/a"
    return ("~" if loose else "") + f"{row_ratio:.2f}"


def gflops_text(before: float | None, after: float | None) -> str:
    if before is None and after is None:
        return "—"
    fmt = lambda x: "—" if x is None else f"{x:.1f}"  # noqa: E731
    return f"{fmt(before)} → {fmt(after)}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


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
    if counts.get(INCOMPARABLE):
        parts.append(f"{counts[INCOMPARABLE]} not comparable")
    one_side = counts.get(ONLY_BEFORE, 0) + counts.get(ONLY_AFTER, 0)
    if one_side:
        parts.append(f"{one_side} on one side only")
    rest = len(c.rows) - sum(counts.get(k, 0) for k in (SLOWER, FAILED, FASTER, FIXED, SAME, INCOMPARABLE, ONLY_BEFORE, ONLY_AFTER))
    if rest:
        parts.append(f"{rest} skipped or failed on both sides")
    return ", ".join(parts)


def _title(c: Comparison) -> str:
    where = f"machine {c.before.machine}"
    if c.after.machine != c.before.machine:
        where = f"machines {c.before.machine} → {c.after.machine}"
    if c.mode == "torch":
        return f"{c.before.label} → {c.after.label} at commit {c.before.commit[:8]} ({where}, factor {c.factor:g})"
    return f"{c.before.label} → {c.after.label} ({where}, factor {c.factor:g})"


def _cells(row: Row, show_env: bool) -> list[str]:
    cells = [
        row.mark,
        human(row.before, row.unit, row.before_err),
        human(row.after, row.unit, row.after_err),
        ratio_text(row.ratio, row.beyond_factor_only),
        gflops_text(row.gflops_before, row.gflops_after),
        row.name,
    ]
    if show_env:
        cells.append(row.env)
    return cells


def _headers(c: Comparison, show_env: bool) -> list[str]:
    h = ["", f"Before [{c.before.label}]", f"After [{c.after.label}]", "Ratio", "GFLOP/s", "Benchmark (Parameter)"]
    if show_env:
        h.append("Environment")
    return h


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Mark, before, after and ratio columns right-aligned (numbers), the rest left."""
    return table(headers, [[str(c) for c in r] for r in rows], "lrrr" + "l" * (len(headers) - 4))


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
        lines.append(f"[{d.env}] {_plural(len(d.fields), 'fingerprint difference')} (! = timings not directly comparable):")
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
    return replace(c, rows=tuple(r for r in c.rows if r.changed or r.verdict == INCOMPARABLE))


def render_text(c: Comparison, *, split: bool = False, only_changed: bool = False) -> str:
    out = [f"torchperf compare: {_title(c)}", summary_line(c)]
    c = _shown(c, only_changed)
    show_env = _show_env(c)
    for w in c.warnings:
        out.append(f"warning: {w}")
    for title, rows in _sections(c, split):
        out.append("")
        if title:
            out += [title + ":", ""]
        if rows:
            out.append(_text_table(_headers(c, show_env), [_cells(r, show_env) for r in rows]))
    if not c.rows:
        out += ["", "(no benchmarks to show)"]
    why = _why_lines(c)
    if why:
        out += ["", "Why: environment differences"]
        out += ["  " + line for line in why]
    kernels = _kernel_lines(c)
    if kernels:
        out += ["", "Kernels of ops that changed:"]
        out += ["  " + line for line in kernels]
    out.append("")
    out.append(_legend())
    return "\n".join(out) + "\n"


def _legend() -> str:
    return (
        "+ slower, - faster (significant by asv's rules and beyond the factor), ! started failing, "
        "* stopped failing, x benchmark version changed, ~ beyond the factor but not significant"
    )


# --------------------------------------------------------------------------------------------------
# Markdown (GitHub-flavoured): summary line first, long parts folded.

_MD_ROWS_UNFOLDED = 20


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str | None = None) -> str:
    """`align`: one letter per column, l/r/c (default: the comparison table's c r r r l l l)."""
    align = align or "crrr" + "l" * max(0, len(headers) - 4)
    head = "| " + " | ".join(_md_escape(h) or " " for h in headers) + " |"
    rule = {"l": "---", "r": "---:", "c": ":-:"}
    align = "|" + "|".join(rule[a] for a in align) + "|"
    body = ["| " + " | ".join(_md_escape(str(x)) if str(x).strip() else " " for x in r) + " |" for r in rows]
    return "\n".join([head, align] + body)


def _md_mark(mark: str) -> str:
    return {"+": "🔴 +", "-": "🟢 -", "!": "🔴 !", "*": "🟢 *", "x": "x"}.get(mark, mark)


def _md_rows(c: Comparison, rows: Sequence[Row], show_env: bool) -> str:
    cells = []
    for r in rows:
        row = _cells(r, show_env)
        row[0] = _md_mark(row[0])
        row[5] = f"`{row[5]}`"
        cells.append(row)
    return _md_table(_headers(c, show_env), cells)


def _details(summary: str, body: str) -> str:
    return f"<details>\n<summary>{summary}</summary>\n\n{body}\n\n</details>"


def render_markdown(c: Comparison, *, split: bool = False, only_changed: bool = False) -> str:
    summary = summary_line(c)
    c_all, c = c, _shown(c, only_changed)
    show_env = _show_env(c)
    status = "❌" if c.exit_code else "✅"
    verdict = (
        f"{_plural(len(c.regressions), 'benchmark')} got significantly slower"
        if c.regressions
        else "no significant regression"
    )
    out = [
        f"{status} **torchperf**: {verdict} — {_md_escape(summary)}",
        "",
        f"{_md_escape(_title(c))}",
    ]
    for w in c.warnings:
        out += ["", f"> ⚠️ {_md_escape(w)}"]
    changed = tuple(r for r in c.rows if r.changed or r.verdict == INCOMPARABLE)
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
            out += ["", _details(f"All {_plural(len(c.rows), 'benchmark')}", _md_rows(c, c.rows, show_env))]
        elif not changed:
            out += ["", "_No benchmarks to show._"]
    why = _why_lines(c_all)
    warnings = list(dict.fromkeys(w for d in c_all.env_diffs for w in d.warnings))
    if warnings:
        out += [""] + [f"> ⚠️ {_md_escape(w)}" for w in warnings]
    kernels = _kernel_lines(c)
    if kernels:
        out += ["", "**Kernels of ops that changed**", ""] + [f"- {_md_escape(k)}" for k in kernels]
    if why:
        out += ["", _details("Why: environment differences", "```\n" + "\n".join(why) + "\n```")]
    out += ["", f"<sub>{_md_escape(_legend())}</sub>"]
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
        "summary": dict(sorted(c.counts().items())),
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


# --------------------------------------------------------------------------------------------------
# Version matrix (three or more torch versions)


def _matrix_cells(m: VersionMatrix) -> tuple[list[str], list[list[str]]]:
    show_env = len({r.env for r in m.rows}) > 1
    headers = ["Benchmark (Parameter)"] + (["Environment"] if show_env else []) + [f"torch {v}" for v in m.versions]
    rows = []
    for r in m.rows:
        cells = [r.name] + ([r.env] if show_env else [])
        for i, cell in enumerate(r.cells):
            text = human(cell.value, r.unit)
            if i > 0 and cell.ratio is not None:
                text += f" ({cell.ratio:.2f}{(' ' + cell.mark) if cell.mark.strip() else ''})"
            elif i > 0 and cell.mark.strip():
                text += f" ({cell.mark})"
            cells.append(text)
        rows.append(cells)
    return headers, rows


def _matrix_title(m: VersionMatrix) -> str:
    return (
        f"torch {' vs '.join(m.versions)} at commit {m.commit[:8]} (machine {m.machine}, factor {m.factor:g}); "
        f"cells: median (ratio to torch {m.versions[0]}, mark)"
    )


def render_matrix(m: VersionMatrix, fmt: str) -> str:
    headers, rows = _matrix_cells(m)
    if fmt == "json":
        data = {
            "format_version": COMPARE_FORMAT_VERSION,
            "kind": "version_matrix",
            "commit": m.commit,
            "machine": m.machine,
            "versions": list(m.versions),
            "factor": m.factor,
            "exit_code": m.exit_code,
            "rows": [
                {
                    "benchmark": r.benchmark,
                    "params": {k: v for k, v in r.params},
                    "name": r.name,
                    "env": r.env,
                    "unit": r.unit,
                    "cells": [
                        {"torch": v, "value": _num(c.value), "err": _num(c.err), "ratio": _num(c.ratio), "verdict": c.verdict}
                        for v, c in zip(m.versions, r.cells)
                    ],
                }
                for r in m.rows
            ],
            "pairwise": [comparison_to_json(c) for c in m.pairwise],
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    why = []
    for c in m.pairwise:
        lines = _why_lines(c)
        kernels = _kernel_lines(c)
        if lines or kernels:
            why.append((f"{c.before.label} → {c.after.label}", lines, kernels))
    regressions = sum(len(c.regressions) for c in m.pairwise)
    if fmt == "markdown":
        status = "❌" if m.exit_code else "✅"
        out = [
            f"{status} **torchperf**: {regressions} significant slowdown(s) against torch {m.versions[0]}",
            "",
            _md_escape(_matrix_title(m)),
            "",
        ]
        body = _md_table(headers, [[f"`{r[0]}`"] + r[1:] for r in rows], "l" * (len(headers) - len(m.versions)) + "r" * len(m.versions))
        out.append(_details(f"{_plural(len(rows), 'benchmark')}", body) if len(rows) > _MD_ROWS_UNFOLDED else body)
        for title, lines, kernels in why:
            text = "```\n" + "\n".join(lines + kernels) + "\n```"
            out += ["", _details(f"Why: {_md_escape(title)}", text)]
        out += ["", f"<sub>{_md_escape(_legend())}</sub>"]
        return "\n".join(out) + "\n"
    out = [f"torchperf compare: {_matrix_title(m)}", f"{regressions} significant slowdown(s) against torch {m.versions[0]}", ""]
    out.append(table(headers, rows, "l" * len(headers)))
    for title, lines, kernels in why:
        out += ["", f"Why ({title}):"] + ["  " + x for x in lines]
        if kernels:
            out += ["  Kernels of ops that changed:"] + ["    " + k for k in kernels]
    out += ["", _legend()]
    return "\n".join(out) + "\n"

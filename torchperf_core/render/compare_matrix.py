"""Render the version matrix (three or more torch versions at one commit): every version's value
beside the first's, with the ratio and `compare`'s mark. Split from `render.compare`, whose cell
formatting and legend it shares."""

from __future__ import annotations

import json

from torchperf_core.compare import COMPARE_FORMAT_VERSION, VersionMatrix
from torchperf_core.render.compare import (
    _details,
    _kernel_lines,
    _legend,
    _MD_ROWS_UNFOLDED,
    _num,
    _why_lines,
    comparison_to_json,
    human,
)
from torchperf_core.render.text import md_escape, md_table, plural, table


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
    undecided = sum(len(c.undecided) for c in m.pairwise)
    tally = f"{regressions} significant slowdown(s) against torch {m.versions[0]}" + (
        f"; {undecided} undecided (? unknown: re-measure, c contended: re-run on a quiet machine; not counted as changes)"
        if undecided else "")
    if fmt == "markdown":
        status = "❌" if m.exit_code else ("⚠️" if undecided else "✅")
        out = [
            f"{status} **torchperf**: {md_escape(tally)}",
            "",
            md_escape(_matrix_title(m)),
            "",
        ]
        body = md_table(headers, [[f"`{r[0]}`"] + r[1:] for r in rows], "l" * (len(headers) - len(m.versions)) + "r" * len(m.versions))
        out.append(_details(f"{plural(len(rows), 'benchmark')}", body) if len(rows) > _MD_ROWS_UNFOLDED else body)
        for title, lines, kernels in why:
            text = "```\n" + "\n".join(lines + kernels) + "\n```"
            out += ["", _details(f"Why: {md_escape(title)}", text)]
        out += ["", f"<sub>{md_escape(_legend())}</sub>"]
        return "\n".join(out) + "\n"
    out = [f"torchperf compare: {_matrix_title(m)}", tally, ""]
    out.append(table(headers, rows, "l" * len(headers)))
    for title, lines, kernels in why:
        out += ["", f"Why ({title}):"] + ["  " + x for x in lines]
        if kernels:
            out += ["  Kernels of ops that changed:"] + ["    " + k for k in kernels]
    out += ["", _legend()]
    return "\n".join(out) + "\n"

"""Render `compare --machines A B` as text, markdown or JSON: strings only, every figure computed in
`compare.compare_machines` (ratios and verdicts by the one rule, fractions by the calibration)."""

from __future__ import annotations

import json
from typing import Any, Sequence

from torchperf_core.compare import MARKS, MachineComparison, MachineRow
from torchperf_core.render.bench import format_calibration, format_ceiling_fraction
from torchperf_core.render.compare import human, ratio_text
from torchperf_core.render.text import format_rate, md_table, table

# JSON output history:
#   1 — first version: commit, torch version, machines (hardware, calibration), rows, differences.
MACHINES_FORMAT_VERSION = 1


def _cells(m: MachineRow, show_env: bool) -> list[str]:
    r = m.row
    cells = [MARKS[r.verdict], r.name]
    if show_env:
        cells.append(r.env)
    cells += [human(r.before, r.unit, r.before_err), human(r.after, r.unit, r.after_err),
              ratio_text(r.ratio, r.beyond_factor_only),
              format_rate(r.gflops_before, "GFLOP/s") if r.gflops_before else "—",
              format_rate(r.gflops_after, "GFLOP/s") if r.gflops_after else "—",
              format_ceiling_fraction(m.peak_a), format_ceiling_fraction(m.peak_b)]
    return cells


def _headers(c: MachineComparison, show_env: bool) -> list[str]:
    a, b = c.a.machine, c.b.machine
    return ["", "benchmark", *(["environment"] if show_env else []), a, b, f"ratio {b}/{a}",
            f"GFLOP/s {a}", f"GFLOP/s {b}", f"of {a}'s peak", f"of {b}'s peak"]


def _calibration(side: Any) -> str:
    return format_calibration(side.ceilings) if side.ceilings is not None else side.calibration_note


def _why(c: MachineComparison) -> list[str]:
    lines = [f"  {key}: {a} | {b}" for key, a, b in c.hardware_differences]
    for d in c.env_diffs:
        lines += [f"  {path}: {before} | {after}" for path, before, after, _key in d.fields]
        lines += [f"  fingerprint missing: {m}" for m in d.missing]
    return lines


def render_text(c: MachineComparison) -> str:
    show_env = len({m.row.env for m in c.rows}) > 1
    out = [f"machines {c.a.machine} vs {c.b.machine} at {c.commit[:8]}, torch {c.torch_version} "
           f"(ratio {c.b.machine}/{c.a.machine}; factor {c.factor:g})",
           f"  {c.a.machine}: {_calibration(c.a)}", f"  {c.b.machine}: {_calibration(c.b)}", "",
           table(_headers(c, show_env), [_cells(m, show_env) for m in c.rows],
                 "ll" + ("l" if show_env else "") + "r" * 7)]
    why = _why(c)
    out += ["", f"What differs ({c.a.machine} | {c.b.machine}):", *(why or ["  nothing recorded differs"])]
    if c.warnings:
        out += ["", "Notes:", *(f"  {w}" for w in c.warnings)]
    return "\n".join(out) + "\n"


def render_markdown(c: MachineComparison) -> str:
    show_env = len({m.row.env for m in c.rows}) > 1
    out = [f"### {c.a.machine} vs {c.b.machine} at `{c.commit[:8]}`, torch {c.torch_version}", "",
           f"- {c.a.machine}: {_calibration(c.a)}", f"- {c.b.machine}: {_calibration(c.b)}", "",
           md_table(_headers(c, show_env), [_cells(m, show_env) for m in c.rows], "l" * len(_headers(c, show_env)))]
    why = _why(c)
    if why:
        out += ["", f"**What differs** ({c.a.machine} \\| {c.b.machine}):", "", *(f"-{w[1:]}" for w in why)]
    if c.warnings:
        out += ["", *(f"> {w}" for w in c.warnings)]
    return "\n".join(out) + "\n"


def _side_json(side: Any) -> dict[str, Any]:
    return {"machine": side.machine, "hardware": dict(side.hardware),
            "peak_gflops": dict(side.ceilings.peak_gflops) if side.ceilings is not None else None,
            "calibration": _calibration(side)}


def to_json(c: MachineComparison) -> dict[str, Any]:
    return {
        "format_version": MACHINES_FORMAT_VERSION, "mode": "machines", "commit": c.commit,
        "torch_version": c.torch_version, "factor": c.factor, "a": _side_json(c.a), "b": _side_json(c.b),
        "rows": [{"benchmark": m.row.benchmark, "params": [list(p) for p in m.row.params], "env": m.row.env,
                  "a": m.row.before, "b": m.row.after, "ratio": m.row.ratio, "verdict": m.row.verdict,
                  "unit": m.row.unit, "gflops_a": m.row.gflops_before, "gflops_b": m.row.gflops_after,
                  "peak_fraction_a": m.peak_a.value if m.peak_a else None,
                  "peak_fraction_b": m.peak_b.value if m.peak_b else None} for m in c.rows],
        "hardware_differences": [list(d) for d in c.hardware_differences],
        "fingerprint_differences": [{"env": d.env, "fields": [list(f[:3]) for f in d.fields], "missing": list(d.missing)}
                                    for d in c.env_diffs],
        "warnings": list(c.warnings),
    }  # fmt: skip


def render_machines(c: MachineComparison, fmt: str = "text") -> str:
    """`fmt`: text, markdown or json."""
    if fmt == "json":
        return json.dumps(to_json(c), indent=2, allow_nan=False) + "\n"
    return render_markdown(c) if fmt == "markdown" else render_text(c)

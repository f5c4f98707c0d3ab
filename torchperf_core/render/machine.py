"""The machine's condition as text: the doctor's table, the noise table, the validation table.

Strings only: the figures (MDS, drift, false alarms) are computed in torchperf_core.machine; this
module only lays them out, with the same number formatters as every other table.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from torchperf_core.engine import format_cpu_list
from torchperf_core.machine import DoctorReport, NoiseReport
from torchperf_core.render.text import format_time, table


def render_doctor(report: DoctorReport) -> str:
    """A table: status, check, detail; then the suggested commands for warnings and infos.

    The advice is printed, never run: changing governors or SMT needs root and is the owner's call.
    """
    width = max((len(c.name) for c in report.checks), default=5)
    lines = [f"{c.status:<4}  {c.name:<{width}}  {c.detail}" for c in report.checks]
    advice = [c for c in report.checks if c.advice and c.status != "OK"]
    if advice:
        lines.append("")
        lines.append("To improve (not run by torchperf):")
        lines.extend(f"  {c.name:<{width}}  {c.advice}" for c in advice)
    lines.append("")
    n_warn = len(report.warnings)
    lines.append(f"{n_warn} warning(s)" if n_warn else "no warnings")
    return "\n".join(lines)


def _pct(fraction: float | None) -> str:
    # None is the machine room's "more than 100%": nothing on the slowdown grid was detectable.
    return ">100%" if fraction is None else f"{fraction:.1%}"


def render_noise(report: NoiseReport) -> str:
    """One row per probe (its time per call, noise inside and between runs, the MDS with and without
    the compare factor), then how the figures were taken and how to read them."""
    headers = ["probe", "median", "IQR/median", "CV medians", "drift", "false alarms",
               f"MDS x{report.factor:g}", "MDS x1"]
    rows = [[p.name, format_time(p.median), _pct(p.relative_iqr), _pct(p.cv_of_medians), _pct(p.drift),
             _pct(p.false_alarm_rate), _pct(p.mds), _pct(p.mds_significance)] for p in report.probes]
    n_runs = len(report.probes[0].runs) if report.probes else 0
    cpus = format_cpu_list(report.cpus) if report.cpus else "all"
    return "\n".join([
        table(headers, rows),
        "",
        f"{n_runs} runs per probe, threads {report.threads}, CPUs {cpus}.",
        f"MDS: smallest slowdown `torchperf compare --factor {report.factor:g}` flags in >= 90% of run "
        "pairs (and never below the drift between runs); MDS x1 is the same without the factor.",
        "A reported change below the MDS of a benchmark of similar duration may be noise.",
    ])  # fmt: skip


class ValidationCase(Protocol):
    """One case of `torchperf validate` (machine.run_validation returns these), read by shape."""

    @property
    def label(self) -> str: ...
    @property
    def torchperf(self) -> float: ...
    @property
    def reference(self) -> float: ...
    @property
    def reference_name(self) -> str: ...
    @property
    def ratio(self) -> float: ...
    @property
    def target(self) -> float: ...
    @property
    def ok(self) -> bool: ...


def render_validation(cases: Sequence[ValidationCase], torch_version: str, threads: int) -> str:
    """torchperf's median against the reference's, per case, with the ratio and its allowed band.

    Times stay in µs with two decimals on every row (not format_time's unit per value) so that the
    two columns of a row, and the rows, compare at a glance.
    """
    rows = [[c.label, f"{c.torchperf * 1e6:,.2f} µs", f"{c.reference * 1e6:,.2f} µs", c.reference_name,
             f"{c.ratio:.3f}", f"±{c.target:.0%}", "ok" if c.ok else "OUTSIDE"] for c in cases]
    heading = f"torch {torch_version}, cpu, {threads} threads"
    return heading + "\n" + table(["case", "torchperf", "reference", "reference is", "ratio", "target", ""], rows,
                                  "lrrlrrl")

"""Rendering: text, markdown and JSON for the CLI. Strings only: nothing here computes a statistic,
reads a file or prints."""

from torchperf_core.machine import format_mds
from torchperf_core.render.bisect import render_bisect_progress, render_bisect_report
from torchperf_core.render.bench import (
    format_calibration,
    format_ceiling_fraction,
    format_contention_headline,
    render_ceilings,
    render_measurement,
    render_op_list,
)
from torchperf_core.render.blas import format_count, render_blas, render_counts
from torchperf_core.render.compare import render as render_comparison
from torchperf_core.render.compare_matrix import render_matrix
from torchperf_core.render.env import render_fingerprint, render_kernels
from torchperf_core.render.gate import GateCaseLike, GateReportLike, gate_headline, render_gate_markdown, render_gate_text
from torchperf_core.render.machine import ValidationCase, render_doctor, render_noise, render_validation
from torchperf_core.render.machines import render_machines
from torchperf_core.render.regressions import render as render_regressions
from torchperf_core.render.summary import SummaryRowLike, render_summary, render_verdict_counts
from torchperf_core.render.sweep import render_sweep
from torchperf_core.render.text import format_error_rate, format_interval, format_percent, format_rate, format_seconds, format_time, table

__all__ = [
    "format_contention_headline", "render_verdict_counts",
    "format_error_rate", "format_interval", "format_mds", "format_percent", "format_rate", "format_seconds", "format_time",
    "render_comparison", "render_fingerprint", "render_kernels", "render_matrix", "render_regressions", "table",
    "SummaryRowLike", "ValidationCase", "render_doctor", "render_noise", "render_summary", "render_sweep",
    "render_validation",
    "format_calibration", "format_ceiling_fraction", "render_measurement",
    "render_bisect_progress", "render_bisect_report",
    "format_count", "render_blas", "render_ceilings", "render_op_list", "render_counts",
    "render_machines",
    "GateCaseLike", "GateReportLike", "gate_headline", "render_gate_markdown", "render_gate_text",
]  # fmt: skip

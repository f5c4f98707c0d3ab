"""Text for the BLAS side-by-side report and for instruction counts. Strings only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from torchperf_core.render.text import format_time, table

if TYPE_CHECKING:
    from torchperf_core.compare import BlasReport
    from torchperf_core.engine import InstructionCount


def render_blas(report: "BlasReport") -> str:
    """One row per size and dtype: each backend's median and kernel, and torch ÷ numpy."""
    rows = []
    for r in report.rows():
        def cell(backend: str) -> str:
            c = r.cells.get(backend)
            return f"{format_time(c.median)} [{c.kernel}]" if c else "—"

        ratio = r.ratio()
        no_dnn = r.ratio("torch-no-onednn", "numpy")
        rows.append([f"{r.dtype} {r.size}²", cell("torch"), cell("numpy"), cell("torch-no-onednn"),
                     f"{ratio:.2f}" if ratio is not None else "—", f"{no_dnn:.2f}" if no_dnn is not None else "—"])
    head = [
        f"BLAS backends side by side: torch {report.torch_version} [{report.torch_blas}] vs numpy "
        f"{report.numpy_version} [{report.numpy_blas or 'no BLAS seen by threadpoolctl'}]",
        f"{report.threads} thread(s) each, {report.rounds} interleaved rounds; time ratio below 1: torch faster",
    ]
    body = table(["case", "torch (own path)", "numpy.matmul", "torch, oneDNN off", "torch÷numpy", "no-oneDNN÷numpy"],
                 rows, "llllrr")
    return "\n".join(head) + "\n" + body


def format_count(value: float) -> str:
    """11650.3 -> "11,650"; 4.02e6 -> "4,020,113" (instructions per call, to the unit)."""
    return f"{value:,.0f}"


def render_counts(counts: "Sequence[InstructionCount]") -> str:
    """One line per case: per-call count, A/A spread over repeats, and the ISA it describes."""
    rows = [[c.case.label, format_count(c.value), f"{c.spread:.3%}", str(len(c.per_call)), c.isa_label()]
            for c in counts]
    out = table(["case", "instructions/call", "spread", "repeats", "kernel ISA (under valgrind)"], rows, "lrrrl")
    notes = sorted({c.note for c in counts if c.note})
    kernels = [f"  {c.case.label}: {', '.join(_kernel_names(c.verbose_lines)) or 'native ATen (no MKL/oneDNN call)'}"
               for c in counts]
    tail = ["kernels under valgrind:", *kernels]
    if counts:
        tail.append(f"collected with {counts[0].valgrind or 'valgrind'} --tool=callgrind, 1 thread, by {counts[0].python}")
    return "\n".join([out, *tail, *(f"note: {n}" for n in notes)])


def _kernel_names(lines: Sequence[str]) -> list[str]:
    from torchperf_core.env import parse_verbose_output

    backends, _ = parse_verbose_output(lines)
    return list(backends)

"""The BLAS section of the machines page: per machine, each saved `torchperf blas` report as a table
(size, dtype, each backend's median and the kernel it ran, torch ÷ numpy), the libraries, their
versions and the thread count in its caption.

The reports are read through the one reader (`compare.load_blas_report`) from the files the store
names (`meta/<machine>/blas-<torch version>.json`); one it refuses becomes a note in the section
and a line in the publish problems, in the reader's own words. Text is escaped by the page's
template (autoescape), like every other value on the site.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from torchperf_core.compare import BlasReport, load_blas_report
from torchperf_core.errors import TorchperfError
from torchperf_core.render import format_time
from torchperf_core.store import blas_report_files


@dataclass(frozen=True)
class BlasTableRow:
    size: str
    dtype: str
    torch: str
    torch_kernel: str
    numpy: str
    numpy_kernel: str
    no_onednn: str
    no_onednn_kernel: str
    ratio: str  # torch ÷ numpy


@dataclass(frozen=True)
class BlasTable:
    machine: str
    torch_version: str
    caption: str
    note: str  # the reader's message when the file could not be used ("" when it could)
    rows: Sequence[BlasTableRow]


def blas_table(machine: str, report: BlasReport) -> BlasTable:
    """One report as display strings (pure): times as the CLI shows them, the ratio to 2 decimals."""
    rows = []
    for r in report.rows():
        def time(backend: str) -> str:
            c = r.cells.get(backend)
            return format_time(c.median) if c else "—"

        def kernel(backend: str) -> str:
            c = r.cells.get(backend)
            return c.kernel if c else "—"

        ratio = r.ratio()
        rows.append(BlasTableRow(str(r.size), r.dtype, time("torch"), kernel("torch"), time("numpy"), kernel("numpy"),
                                 time("torch-no-onednn"), kernel("torch-no-onednn"),
                                 f"{ratio:.2f}" if ratio is not None else "—"))
    caption = (f"torch {report.torch_version} [{report.torch_blas}] vs numpy {report.numpy_version} "
               f"[{report.numpy_blas or 'no BLAS seen by threadpoolctl'}]; {report.threads} thread(s) each, "
               f"{report.rounds} interleaved round(s); torch÷numpy below 1: torch faster")
    return BlasTable(machine, report.torch_version, caption, "", tuple(rows))


def load_blas_tables(meta_dir: Path, machines: Sequence[str]) -> tuple[tuple[BlasTable, ...], tuple[str, ...]]:
    """(tables, problems): every saved BLAS report of every machine, machines by name, then by file."""
    tables, problems = [], []
    for machine in sorted(machines):
        for path in blas_report_files(machine, meta_dir):
            try:
                tables.append(blas_table(machine, load_blas_report(path)))
            except TorchperfError as exc:
                tables.append(BlasTable(machine, path.stem.removeprefix("blas-"), "", str(exc), ()))
                problems.append(f"{exc} (BLAS table not shown for {machine})")
    return tuple(tables), tuple(problems)

"""The machines page (`html/torchperf/machines.html`): every machine with results, its hardware, its
condition and calibration, and the ratio table of each machine against a reference machine.

The ratios are `compare.compare_machines` (the CLI's `compare --machines`): the same pairing, the
same verdict rule, the same fractions of each machine's own calibrated peak, so the page and the
command cannot disagree. asv's own pages (and its machine selector) are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from torchperf_core.errors import TorchperfError
from torchperf_core.render import format_calibration, format_ceiling_fraction
from torchperf_core.site.pages import PageContext, _params_label, _render, format_rate, format_value


@dataclass(frozen=True)
class _MachineCard:
    machine: str
    hardware: Sequence[tuple[str, str]]
    condition: str
    calibration: str


@dataclass(frozen=True)
class _RatioRow:
    benchmark: str
    params: str
    reference: str
    other: str
    ratio: str
    verdict: str
    gflops: str
    peaks: str


@dataclass(frozen=True)
class _RatioTable:
    machine: str
    heading: str
    note: str  # why there is no table ("" when there is)
    rows: Sequence[_RatioRow]
    differences: Sequence[tuple[str, str, str]]


def _card(machine: str, info: Mapping[str, Any], condition: Any, calibration: Any) -> _MachineCard:
    from torchperf_core.compare import MACHINE_HARDWARE_KEYS

    hardware = [(k, str(info[k])) for k in MACHINE_HARDWARE_KEYS if info.get(k) not in (None, "")]
    return _MachineCard(machine, hardware, condition.summary() if condition is not None else "",
                        format_calibration(calibration) if calibration is not None else "not calibrated")


def _table(source: Any, store: Any, reference: str, machine: str) -> _RatioTable:
    from torchperf_core.compare import MARKS, compare_machines

    try:
        c = compare_machines(source, reference, machine, store=store)
    except TorchperfError as exc:
        return _RatioTable(machine, f"{machine} against {reference}", str(exc), (), ())
    rows = []
    for m in c.rows:
        r = m.row
        gflops = " / ".join(format_rate(g, "GFLOP/s") or "–" for g in (r.gflops_before, r.gflops_after))
        peaks = " / ".join(format_ceiling_fraction(f, missing="–") for f in (m.peak_a, m.peak_b))
        rows.append(_RatioRow(r.benchmark, _params_label(r.params), format_value(r.before, r.unit or ""),
                              format_value(r.after, r.unit or ""), f"{r.ratio:.3g}" if r.ratio else "n/a",
                              f"{MARKS[r.verdict]} {r.verdict}".strip(), gflops if r.gflops_before else "",
                              peaks if (m.peak_a or m.peak_b) else ""))
    heading = f"{machine} against {reference} at {c.commit[:8]}, torch {c.torch_version}"
    diffs = list(c.hardware_differences)
    diffs += [(path, before, after) for d in c.env_diffs for path, before, after, _key in d.fields
              if not path.startswith("torch.")]
    return _RatioTable(machine, heading, "", rows, diffs)


def render_machines_page(ctx: PageContext, results_dir: Path, meta_dir: Path, machines: Sequence[str],
                         conditions: Mapping[str, Any], calibrations: Mapping[str, Any],
                         reference: str | None = None, blas: Sequence[Any] = ()) -> str:
    """The page; `blas`: site.blas's tables. Every machine can be the reference: the page's machine
    selector picks it (the tables against each reference are one `section.machine`, the selector's
    unit), `reference` (default: the first machine by name) comes first; without script all show."""
    from torchperf_core.compare import Source
    from torchperf_core.store import ResultsStore

    ordered = sorted(machines)
    store = ResultsStore(results_dir)
    cards = [_card(m, store.machine_info(m), conditions.get(m), calibrations.get(m)) for m in ordered]
    reference = reference if reference in ordered else (ordered[0] if ordered else None)
    refs = [reference, *(m for m in ordered if m != reference)] if reference else []
    source = Source(results_dir=results_dir, meta_dir=meta_dir)
    # N x (N-1) tables from one store: each machine's results files are read once, not per pair
    groups = [(ref, [_table(source, store, ref, m) for m in ordered if m != ref]) for ref in refs]
    return _render(ctx, "machines.html", refs, cards=cards, reference=reference or "", groups=groups,
                   blas=list(blas))

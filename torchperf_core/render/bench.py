"""`torchperf bench`'s text, and the words for a fraction of a calibrated ceiling.

The fraction wording lives here once so that `torchperf bench` and the efficiency page say the same
thing: a figure above 100% of a ceiling is never printed without saying the ceiling is stale, and a
provisional calibration (taken on a machine that was not quiet) says so wherever it is used.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

from torchperf_core.render.text import format_percent, format_rate, format_time, table

if TYPE_CHECKING:
    from torchperf_core.catalog import OpDef
    from torchperf_core.engine import Contention, Measurement
    from torchperf_core.machine import CeilingFraction, Ceilings

STALE_NOTE = "ceiling stale: re-run `torchperf calibrate`"


def format_ceiling_fraction(fraction: "CeilingFraction | None", missing: str = "—") -> str:
    """"50% of peak"; "182% of peak (ceiling stale: re-run `torchperf calibrate`)" above 100%."""
    if fraction is None:
        return missing
    text = f"{format_percent(fraction.value)} of {fraction.ceiling}"
    return f"{text} ({STALE_NOTE})" if fraction.stale else text


def format_calibration(ceilings: "Ceilings") -> str:
    """When the ceilings were measured, and whether they are provisional (and why)."""
    text = f"calibrated {ceilings.measured_at}"
    if ceilings.provisional:
        why = f": {ceilings.provisional_reason}" if ceilings.provisional_reason else ""
        text += (f" (provisional: the machine was not quiet{why}; re-run `torchperf calibrate` on a quiet "
                 "machine, or let `torchperf run` re-take it)")
    return text


def render_measurement(m: "Measurement", ceilings: "Ceilings | None" = None) -> str:
    """`torchperf bench`'s table: median, IQR, CI, rates, fractions of the calibrated ceilings."""
    lo, hi = m.ci99
    ci = "unbounded with this few samples" if math.isinf(lo) or math.isinf(hi) else f"{format_time(lo)} .. {format_time(hi)}"
    lines = [
        *format_contention_headline(m.contention),
        m.spec.label(),
        f"  median     {format_time(m.median)}   (IQR {format_time(m.iqr)}, {m.relative_iqr:.1%} of median)",
        f"  99% CI     {ci}",
        f"  GFLOP/s    {format_rate(m.gflops, 'GFLOP/s')}",
        f"  GB/s       {format_rate(m.gbps, 'GB/s')}",
    ]
    if ceilings is not None:
        compute = format_ceiling_fraction(ceilings.peak_fraction(m.spec.dtype, m.gflops))
        memory = format_ceiling_fraction(ceilings.bandwidth_fraction(m.gbps))
        lines.append(f"  of peak    compute {compute}; memory {memory}")
        lines.append(f"  ceilings   {format_calibration(ceilings)}")
    else:
        lines.append("  of peak    unknown (run `torchperf calibrate`)")
    lines.append(f"  samples    {len(m.samples)} × {m.number} call(s), after {m.warmup_calls} warmup calls; "
                 f"threads {m.spec.threads}, precision {m.spec.precision}, timing {m.spec.timing_mode}"
                 f"{', cold L2' if m.spec.cold_l2 else ''}")
    if m.contention is not None and m.contention.disturbed and not m.contention.contended:
        lines.append(f"  retaken    {m.contention.cause}: those samples were set aside and retaken")
    if m.noise_warning:
        lines.append(f"  warning    {m.noise_warning}")
    lines += [f"  note       {n}" for n in m.notes]
    return "\n".join(lines)


def format_contention_headline(contention: "Contention | None") -> list[str]:
    """The line that goes first when a measurement could not get enough undisturbed samples."""
    if contention is None or not contention.contended:
        return []
    return [f"CONTENDED: {contention.cause}. These numbers are not trustworthy: re-run on a quiet machine "
            "(or at 1 thread, `--threads 1`, which a shared machine disturbs far less)."]


def render_op_list(ops: "Sequence[OpDef]") -> str:
    """`bench --list`: every catalog op with its family and the shape it takes for size n."""
    return table(["op", "family", "shape for size n"], [[o.name, o.family, o.summary] for o in ops], "lll")


def render_ceilings(ceilings: "Ceilings", machine: str) -> str:
    """`torchperf calibrate`'s table: the measured peak of each dtype and the copy bandwidth."""
    rows = [[d, f"{g:,.1f} GFLOP/s"] for d, g in ceilings.peak_gflops.items()]
    rows.append(["copy bandwidth", f"{ceilings.bandwidth_gbps:,.1f} GB/s"])
    return (f"ceilings of {machine} ({ceilings.device}, {ceilings.threads} threads, torch {ceilings.torch_version})\n"
            + table(["ceiling", "measured"], rows))

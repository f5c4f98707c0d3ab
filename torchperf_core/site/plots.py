"""Figures with matplotlib (Agg): scaling curves, the version comparison and the roofline.

The same figures are written as PNG/SVG by `torchperf plot` and embedded (SVG) in the published
pages, so a number on a page and a line in a report always come from one drawing routine. Inputs are
`site_data` values; nothing here reads files or computes statistics beyond arranging points.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path
from typing import Iterable, Sequence

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from torchperf_core.site.data import ResultPoint, SiteData, display_value, version_key
from torchperf_core.site.efficiency import Calibration
from torchperf_core.site.versions import VersionRow, version_rows

# Deterministic SVG ids and no timestamps: pages rebuilt from the same results are identical.
matplotlib.rcParams["svg.hashsalt"] = "torchperf"
matplotlib.rcParams["svg.fonttype"] = "path"
_SAVE_METADATA = {"svg": {"Date": None, "Creator": "torchperf"}, "png": {"Software": "torchperf"}}

SLOWER_COLOR = "#c62828"
FASTER_COLOR = "#2e7d32"


def _tight(fig: Figure) -> None:
    """Tighten the margins where they fit; a figure whose legend or labels leave no room keeps its
    default margins (still drawn in full) without matplotlib's warning in the main job's output."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Tight layout not applied", category=UserWarning)
        fig.tight_layout()


def figure_name(kind: str, *parts: str) -> str:
    """A file name for a figure: a readable slug of `parts` reduced to [A-Za-z0-9_-] plus a hash.

    Results may hold any text (a benchmark or machine name with `/`, `..`, quotes), so the name
    keeps only safe characters; the hash keeps names that slug alike apart.
    """
    digest = hashlib.sha1("\x00".join(parts).encode("utf-8")).hexdigest()[:10]
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", "_".join(p[:40] for p in parts)).strip("_")[:80]
    return f"{kind}-{slug}-{digest}" if slug else f"{kind}-{digest}"


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, object]:
    """A figure on the Agg canvas, outside pyplot: no global backend or figure registry is touched,
    so the module is safe to import in a notebook or a server."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, ncols)


def to_png(fig: Figure) -> bytes:
    """PNG bytes of a figure (for notebooks: `IPython.display.Image(to_png(fig))`)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata=_SAVE_METADATA["png"])
    return buffer.getvalue()


def save(fig: Figure, stem: Path, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write `fig` as `<stem>.<fmt>` for each format, close it, and return the paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        fig.savefig(path, format=fmt, dpi=110, bbox_inches="tight", metadata=_SAVE_METADATA.get(fmt))
        paths.append(path)
    return paths


def _seconds_axis_label(points: Iterable[ResultPoint]) -> str:
    units = {p.unit for p in points}
    return "median time (s, 99% CI)" if units == {"seconds"} else "median (" + ", ".join(sorted(units)) + ")"


def versions_figure(rows: Sequence[VersionRow], title: str) -> Figure:
    """One benchmark across torch versions: a line per parameter set, 99% CI bars, changes marked."""
    fig, ax = _figure(6.4, 3.6)
    versions: list[str] = sorted({v for row in rows for v in row.versions}, key=version_key)
    xpos = {v: i for i, v in enumerate(versions)}
    all_points = [p for row in rows for p in row.points if p is not None and p.ok]
    varying = {k for row in rows for k, _ in row.params if len({dict(r.params).get(k) for r in rows}) > 1}
    for row in rows:
        xs, ys, lo, hi = [], [], [], []
        for version, point in zip(row.versions, row.points):
            if point is None or not point.ok:
                continue
            xs.append(xpos[version])
            ys.append(point.value)
            ci = point.ci_99 or (point.value, point.value)
            lo.append(max(point.value - ci[0], 0.0))
            hi.append(max(ci[1] - point.value, 0.0))
        label = ", ".join(display_value(v) for k, v in row.params if k in varying) or "value"
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=label)
        for i, change in enumerate(row.changes):
            new = row.points[i + 1]
            if change is None or new is None or change.mark not in ("slower", "faster"):
                continue
            color = SLOWER_COLOR if change.mark == "slower" else FASTER_COLOR
            ax.plot([xpos[row.versions[i + 1]]], [new.value], marker="^" if change.mark == "slower" else "v",
                    markersize=12, markerfacecolor="none", markeredgecolor=color, markeredgewidth=2)
    ax.set_xticks(range(len(versions)), [f"torch {v}" if v else "unknown" for v in versions])
    ax.set_xlim(-0.5, len(versions) - 0.5)
    if all_points and all(p.value > 0 for p in all_points):
        ax.set_yscale("log")
    ax.set_ylabel(_seconds_axis_label(all_points))
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if len(rows) <= 12:
        ax.legend(fontsize=7, loc="best")
    _tight(fig)
    return fig


def size_param(points: Sequence[ResultPoint]) -> str | None:
    """The parameter that scaling curves put on the x axis: `size`/`n`, else the first numeric one."""
    if not points:
        return None
    names = [k for k, _ in points[0].params]
    for preferred in ("size", "n", "numel", "length"):
        if preferred in names:
            return preferred
    for name in names:
        values = {p.param(name) for p in points}
        if len(values) > 1 and all(_as_float(v) is not None for v in values):
            return name
    return None


def _as_float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def scaling_figure(points: Sequence[ResultPoint], size_name: str, title: str) -> Figure:
    """Time and GFLOP/s (or GB/s) against size: one line per torch version and other parameters."""
    fig, (ax_time, ax_rate) = _figure(9.6, 3.6, 2)
    lines: dict[tuple[str, str], list[ResultPoint]] = {}
    names = [k for k, _ in points[0].params] if points else []
    varying = {k for k in names if k != size_name and len({p.param(k) for p in points}) > 1}
    for p in points:
        if not p.ok:
            continue
        others = ", ".join(f"{k}={display_value(v)}" for k, v in p.params if k in varying)
        lines.setdefault((p.torch_version, others), []).append(p)
    use_flops = any(p.gflops for p in points)
    # colour = torch version, line style = the other parameters: versions compare at a glance
    versions = sorted({v for v, _ in lines}, key=version_key)
    others_all = sorted({o for _, o in lines})
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":", "-."]
    for (version, others), pts in sorted(lines.items(), key=lambda kv: (version_key(kv[0][0]), kv[0][1])):
        style = {"color": colors[versions.index(version) % len(colors)],
                 "linestyle": styles[others_all.index(others) % len(styles)]}
        pts = sorted(pts, key=lambda p: _as_float(p.param(size_name)) or 0.0)
        xs = [_as_float(p.param(size_name)) for p in pts]
        label = f"torch {version}" + (f" ({others})" if others else "")
        ax_time.plot(xs, [p.value for p in pts], marker="o", label=label, **style)
        rates = [(p.gflops if use_flops else p.gbps) for p in pts]
        ax_rate.plot([x for x, r in zip(xs, rates) if r], [r for r in rates if r], marker="o", label=label, **style)
    for ax in (ax_time, ax_rate):
        ax.set_xscale("log", base=2)
        ax.set_xlabel(size_name)
        ax.grid(True, which="both", alpha=0.3)
    ax_time.set_yscale("log")
    ax_time.set_ylabel(_seconds_axis_label(points).replace(", 99% CI", ""))
    ax_rate.set_ylabel("GFLOP/s" if use_flops else "GB/s")
    if ax_rate.get_legend_handles_labels()[0]:
        ax_rate.legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=10)
    _tight(fig)
    return fig


def roofline_figure(points: Sequence[ResultPoint], calibration: Calibration | None, title: str) -> Figure:
    """Achieved GFLOP/s against arithmetic intensity, under the machine's calibrated roofs."""
    fig, ax = _figure(6.4, 4.2)
    usable = [p for p in points if p.gflops and p.intensity]
    xs = [p.intensity for p in usable]
    lo = min(xs + [0.1]) / 2
    hi = max(xs + [100.0]) * 2
    if calibration is not None and calibration.bandwidth_gbps:
        dtypes = sorted({p.dtype for p in usable if p.dtype in calibration.peak_gflops}) or sorted(
            calibration.peak_gflops
        )
        import numpy as np

        grid = np.logspace(np.log10(lo), np.log10(hi), 200)
        for dtype in dtypes:
            peak = calibration.peak_gflops[dtype]
            ax.plot(grid, np.minimum(peak, calibration.bandwidth_gbps * grid), linestyle="--", linewidth=1,
                    label=f"roof {dtype}: {peak:g} GFLOP/s, {calibration.bandwidth_gbps:g} GB/s")
    groups: dict[str, list[ResultPoint]] = {}
    for p in usable:
        groups.setdefault(p.benchmark.split(".")[-2] if "." in p.benchmark else p.benchmark, []).append(p)
    markers = "osD^v<>ph*"
    for i, (name, pts) in enumerate(sorted(groups.items())):
        ax.scatter([p.intensity for p in pts], [p.gflops for p in pts], marker=markers[i % len(markers)],
                   label=name, zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("achieved GFLOP/s")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if not usable:
        ax.text(0.5, 0.5, "no results with FLOP and byte counts", transform=ax.transAxes, ha="center")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="lower right")
    _tight(fig)
    return fig


def write_all(data: SiteData, out_dir: Path, *, commit: str | None = None,
              machines: Sequence[str] | None = None, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Every figure `torchperf plot` makes: per machine at `commit` (default: its latest)."""
    written: list[Path] = []
    for machine in machines or data.machines:
        at = commit or data.latest_commit(machine)
        if at is None:
            continue
        rows = version_rows(data, machine, at)
        for bench in sorted({r.benchmark for r in rows}):
            bench_rows = [r for r in rows if r.benchmark == bench]
            title = f"{bench} on {machine} @ {at[:8]}"
            written += save(versions_figure(bench_rows, title), out_dir / figure_name("versions", machine, at[:8], bench), formats)
            pts = [p for p in data.points_at(machine, at) if p.benchmark == bench]
            size = size_param(pts)
            if size:
                written += save(scaling_figure(pts, size, title), out_dir / figure_name("scaling", machine, at[:8], bench), formats)
        for version in data.versions(machine, at):
            pts = [p for p in data.points_at(machine, at) if p.torch_version == version]
            fig = roofline_figure(pts, data.calibrations.get(machine), f"roofline: {machine}, torch {version}")
            written += save(fig, out_dir / figure_name("roofline", machine, at[:8], version), formats)
    return written

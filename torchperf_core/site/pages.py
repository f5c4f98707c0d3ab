"""HTML for torchperf's pages in the published site (`html/torchperf/*.html`).

Renderers only: they take `site_data` values and figure file names and return strings. Every piece
of text that comes from results, sidecars or configuration (benchmark, parameter and machine names,
fingerprint values) goes through `_e` (html.escape) after the publisher's redaction, and never
becomes part of a file path. The pages are static: a few lines of inline script switch the machine
shown; without script every machine is shown. No network at view time; works from `file://`.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torchperf_core.machine import MachineCondition

from torchperf_core import render
from torchperf_core.site.data import (
    Calibration,
    Change,
    EnvDiff,
    Environment,

    ResultPoint,
    VersionRow,
    display_value,
    kernel_table,
    publishable_fingerprint,
    version_key,
)
from torchperf_core.site.regressions import Regression

PAGES = (
    ("versions.html", "Across PyTorch versions"),
    ("efficiency.html", "Efficiency"),
    ("environment.html", "Environment"),
    ("regressions.html", "Regressions"),
)

Redact = Callable[[str], str]


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True)
class PageContext:
    """What every page needs besides its own data."""

    project: str
    redact: Redact = _identity
    generated_note: str = ""


def _e(ctx: PageContext, text: object) -> str:
    return html.escape(ctx.redact(str(text)), quote=True)


# ----------------------------------------------------------------------------------------------
# Number formatting (formatting only: the values come computed)


def format_time(seconds: float | None) -> str:
    return render.format_time(seconds, missing="n/a")


def format_value(value: float | None, unit: str) -> str:
    if unit == "seconds":
        return format_time(value)
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.4g} {unit}".strip()


def format_rate(value: float | None, unit: str) -> str:
    return "" if value is None else f"{value:.3g} {unit}"


def _ratio(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}" if value >= 0.01 else f"{value:.2g}"


def format_fraction(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


# ----------------------------------------------------------------------------------------------
# Shell

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:8px 16px}
header a{color:#b3e5fc;margin-right:16px;text-decoration:none}
header a.current{color:#fff;font-weight:bold;border-bottom:2px solid #fff}
header .brand{font-weight:bold;margin-right:24px;color:#fff}
main{padding:12px 20px;max-width:1300px}
h1{font-size:1.5em} h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:28px}
h3{font-size:1.05em;margin-bottom:4px;font-family:ui-monospace,monospace}
table{border-collapse:collapse;margin:8px 0 16px;background:#fff;font-size:0.9em}
th,td{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#eceff1}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.num small{color:#666}
.slower{color:#c62828;font-weight:bold} .faster{color:#2e7d32;font-weight:bold}
.same,.unknown{color:#777}
.note{color:#555;font-size:0.9em}
.bar{display:inline-block;height:10px;background:#42a5f5;vertical-align:middle;margin-right:6px}
.barbox{display:inline-block;width:120px;text-align:left;background:#e3f2fd;vertical-align:middle;margin-right:6px}
.figrow{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
figure{margin:8px 0} figure img{max-width:100%;background:#fff;border:1px solid #eee}
code,.mono{font-family:ui-monospace,monospace;font-size:0.92em}
details{margin:6px 0 12px} summary{cursor:pointer}
select{font-size:1em;padding:2px 4px}
tr.differs td{background:#fff8e1;font-weight:bold}
.verdict-noisy{color:#b00020}.verdict-quiet{color:#1b7f3b}.verdict-unchecked{color:#666}
"""

# Shows one machine's section at a time; without script all are shown.
_MACHINE_SCRIPT = """
(function () {
  var select = document.getElementById('machine-select');
  if (!select) { return; }
  function show() {
    var sections = document.querySelectorAll('section.machine');
    for (var i = 0; i < sections.length; i++) {
      sections[i].style.display = sections[i].getAttribute('data-machine') === select.value ? '' : 'none';
    }
  }
  select.addEventListener('change', show);
  show();
})();
"""


def _page(ctx: PageContext, filename: str, title: str, body: str, machines: Sequence[str] = ()) -> str:
    links = ['<a class="brand" href="../index.html">asv graphs</a>']
    for name, label in PAGES:
        cls = ' class="current"' if name == filename else ""
        links.append(f'<a href="{name}"{cls}>{html.escape(label)}</a>')
    selector = ""
    if len(machines) > 1:
        options = "".join(f'<option value="{_e(ctx, m)}">{_e(ctx, m)}</option>' for m in machines)
        selector = f'<p>Machine: <select id="machine-select">{options}</select></p>'
    script = f"<script>{_MACHINE_SCRIPT}</script>" if selector else ""
    note = f'<p class="note">{_e(ctx, ctx.generated_note)}</p>' if ctx.generated_note else ""
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)} — {_e(ctx, ctx.project)}</title><link rel=\"icon\" href=\"../swallow.ico\"><style>{_CSS}</style></head>\n"
        f"<body><header><nav>{''.join(links)}</nav></header>\n<main><h1>{html.escape(title)}</h1>"
        f"<p class=\"note\">Project: {_e(ctx, ctx.project)}</p>{selector}\n{body}\n{note}</main>{script}</body></html>\n"
    )


def _figure(ctx: PageContext, src: str | None, alt: str, css_class: str = "chart") -> str:
    if not src:
        return ""
    return f'<figure><img class="{css_class}" src="figures/{html.escape(src)}" alt="{_e(ctx, alt)}"></figure>'


def _asv_link(ctx: PageContext, fragment: str, label: str = "asv graph") -> str:
    return f'<a href="../index.html#{_e(ctx, fragment)}">{html.escape(label)}</a>'


def _params_label(ctx: PageContext, params: Iterable[tuple[str, str]]) -> str:
    text = ", ".join(f"{k}={display_value(v)}" for k, v in params) or "(no parameters)"
    return _e(ctx, text)


# ----------------------------------------------------------------------------------------------
# Across versions


@dataclass(frozen=True)
class VersionsSection:
    machine: str
    commit: str
    label: str  # "latest commit" / "chosen commit"
    rows: Sequence[VersionRow]
    figures: Mapping[str, str]  # benchmark -> figure file name
    scaling: Mapping[str, str]  # benchmark -> figure file name
    graph_links: Mapping[str, str]  # benchmark -> asv fragment


def _change_cell(change: Change | None) -> str:
    if change is None:
        return '<td class="change unknown">–</td>'
    mark = change.mark
    ratio = f"×{_ratio(change.ratio)}" if change.ratio is not None else ""
    words = {"slower": "slower", "faster": "faster", "same": "no significant change",
             "unknown": "not judged (no CI)"}[mark]
    if mark == "faster" and change.ratio:
        words = f"({_ratio(1 / change.ratio)}× faster)"
    return f'<td class="change {mark}" data-change="{mark}">{ratio} {words}</td>'


def _point_cell(ctx: PageContext, point: ResultPoint | None) -> str:
    if point is None or not point.ok:
        return '<td class="num missing">–</td>'
    parts = [format_value(point.value, point.unit)]
    detail = []
    if point.ci_99:
        detail.append(f"CI {format_value(point.ci_99[0], point.unit)} – {format_value(point.ci_99[1], point.unit)}")
    if point.gflops:
        detail.append(format_rate(point.gflops, "GFLOP/s"))
    if point.gbps:
        detail.append(format_rate(point.gbps, "GB/s"))
    attrs = (
        f' data-machine="{_e(ctx, point.machine)}" data-benchmark="{_e(ctx, point.benchmark)}"'
        f' data-param-index="{point.param_index}" data-torch="{_e(ctx, point.torch_version)}"'
        f' data-median="{point.value!r}"'
    )
    return f'<td class="num"{attrs}>{html.escape(parts[0])}<br><small>{html.escape(" · ".join(detail))}</small></td>'


def render_versions(ctx: PageContext, sections: Sequence[VersionsSection], machines: Sequence[str], factor: float) -> str:
    body = [
        f'<p class="note">Median time per call with its 99% confidence interval, per benchmark and '
        f"parameter set, for each PyTorch version (PEP 440 order). A change between consecutive versions "
        f"is marked when asv's significance test says the two differ and the ratio exceeds ×{factor:g} "
        f"(the rule of <code>asv compare</code> and <code>torchperf compare</code>); in the charts an open "
        f"red ▲ marks a significant slowdown and a green ▼ a speedup.</p>"
    ]
    by_machine: dict[str, list[VersionsSection]] = {}
    for section in sections:
        by_machine.setdefault(section.machine, []).append(section)
    for machine in machines:
        body.append(f'<section class="machine" data-machine="{_e(ctx, machine)}">')
        for section in by_machine.get(machine, []):
            body.append(
                f"<h2>{_e(ctx, machine)} — {html.escape(section.label)} "
                f'<span class="mono">{_e(ctx, section.commit[:8])}</span></h2>'
            )
            if not section.rows:
                body.append('<p class="note">No results at this commit.</p>')
            for bench in sorted({r.benchmark for r in section.rows}):
                rows = [r for r in section.rows if r.benchmark == bench]
                versions = rows[0].versions
                body.append(f"<h3>{_e(ctx, bench)}</h3>")
                if bench in section.graph_links:
                    body.append(f"<p>{_asv_link(ctx, section.graph_links[bench], 'history in asv')}</p>")
                body.append(_figure(ctx, section.figures.get(bench), f"{bench} across torch versions"))
                head = ["<th>parameters</th>"]
                for i, version in enumerate(versions):
                    if i:
                        head.append(f"<th>{_e(ctx, versions[i - 1])} → {_e(ctx, version)}</th>")
                    head.append(f"<th>torch {_e(ctx, version)}</th>")
                body.append(f'<table class="versions"><thead><tr>{"".join(head)}</tr></thead><tbody>')
                for row in rows:
                    cells = [f"<td class=\"mono\">{_params_label(ctx, row.params)}</td>"]
                    for i, point in enumerate(row.points):
                        if i:
                            cells.append(_change_cell(row.changes[i - 1]))
                        cells.append(_point_cell(ctx, point))
                    body.append(f"<tr>{''.join(cells)}</tr>")
                body.append("</tbody></table>")
                if bench in section.scaling:
                    body.append(
                        f"<details><summary>scaling with size</summary>"
                        f"{_figure(ctx, section.scaling[bench], f'{bench} scaling')}</details>"
                    )
        body.append("</section>")
    if not machines:
        body.append('<p class="note">No results yet.</p>')
    return _page(ctx, "versions.html", "Across PyTorch versions", "\n".join(body), machines)


# ----------------------------------------------------------------------------------------------
# Efficiency


@dataclass(frozen=True)
class EfficiencySection:
    machine: str
    commit: str
    calibration: Calibration | None
    points: Sequence[ResultPoint]
    rooflines: Mapping[str, str]  # torch version -> figure file name
    label: str = "latest commit"


def _fraction_cell(value: float | None) -> str:
    if value is None:
        return '<td class="num">–</td>'
    width = max(0, min(120, round(120 * value)))
    return (
        f'<td class="num" data-fraction="{value!r}"><span class="barbox"><span class="bar" '
        f'style="width:{width}px"></span></span>{format_fraction(value)}</td>'
    )


def render_efficiency(ctx: PageContext, sections: Sequence[EfficiencySection], machines: Sequence[str]) -> str:
    body = [
        '<p class="note">Achieved GFLOP/s and GB/s (from each benchmark\'s FLOP and byte models and its '
        "median time) as a fraction of the machine's calibrated ceilings (<code>torchperf calibrate</code>). "
        "The roofline puts each result at its arithmetic intensity under the machine's roofs.</p>"
    ]
    for machine in machines:
        body.append(f'<section class="machine" data-machine="{_e(ctx, machine)}">')
        for section in (s for s in sections if s.machine == machine):
            cal = section.calibration
            body.append(f'<h2>{_e(ctx, machine)} — {html.escape(section.label)} <span class="mono">{_e(ctx, section.commit[:8])}</span></h2>')
            if cal is None:
                body.append(
                    '<p class="note">No calibration for this machine: run <code>torchperf calibrate</code> to '
                    "see fractions of peak. Achieved rates are shown.</p>"
                )
            else:
                peaks = ", ".join(f"{_e(ctx, d)} {v:g} GFLOP/s" for d, v in sorted(cal.peak_gflops.items()))
                bw = f"{cal.bandwidth_gbps:g} GB/s" if cal.bandwidth_gbps else "not measured"
                when = f", measured {_e(ctx, cal.measured_at)}" if cal.measured_at else ""
                body.append(f"<p>Ceilings ({_e(ctx, cal.device or 'device')}{when}): peak {peaks}; bandwidth {bw}.</p>")
            body.append('<div class="figrow">')
            for version, fig in section.rooflines.items():
                body.append(_figure(ctx, fig, f"roofline for {machine}, torch {version}", "roofline"))
            body.append("</div>")
            body.append(
                '<table class="efficiency"><thead><tr><th>benchmark</th><th>parameters</th><th>torch</th>'
                "<th>median</th><th>GFLOP/s</th><th>of peak</th><th>GB/s</th><th>of bandwidth</th></tr></thead><tbody>"
            )
            for p in sorted(section.points, key=lambda p: (version_key(p.torch_version), p.benchmark, p.param_index)):
                if not p.ok or not (p.gflops or p.gbps):
                    continue
                f_peak = cal.fraction_of_peak(p.dtype, p.gflops) if cal else None
                f_bw = cal.fraction_of_bandwidth(p.gbps) if cal else None
                body.append(
                    f"<tr><td class=\"mono\">{_e(ctx, p.benchmark)}</td><td class=\"mono\">{_params_label(ctx, p.params)}</td>"
                    f"<td>{_e(ctx, p.torch_version)}</td><td class=\"num\">{html.escape(format_value(p.value, p.unit))}</td>"
                    f"<td class=\"num\">{html.escape(format_rate(p.gflops, ''))}</td>{_fraction_cell(f_peak)}"
                    f"<td class=\"num\">{html.escape(format_rate(p.gbps, ''))}</td>{_fraction_cell(f_bw)}</tr>"
                )
            body.append("</tbody></table>")
        body.append("</section>")
    return _page(ctx, "efficiency.html", "Efficiency", "\n".join(body), machines)


# ----------------------------------------------------------------------------------------------
# Environment


@dataclass(frozen=True)
class EnvironmentSection:
    machine: str
    commit: str
    environments: Sequence[Environment]
    diffs: Sequence[EnvDiff]
    label: str = "latest commit"


def _kv_table(ctx: PageContext, rows: Mapping[str, str], head: tuple[str, str] = ("field", "value")) -> str:
    if not rows:
        return '<p class="note">Nothing recorded.</p>'
    body = "".join(f"<tr><td class=\"mono\">{_e(ctx, k)}</td><td class=\"mono\">{_e(ctx, v)}</td></tr>" for k, v in rows.items())
    return f"<table><thead><tr><th>{head[0]}</th><th>{head[1]}</th></tr></thead><tbody>{body}</tbody></table>"


def _env_table(ctx: PageContext, envs: Sequence[Environment], tables: Sequence[Mapping[str, str]]) -> str:
    """One row per field, one column per environment; rows that differ are highlighted."""
    keys = sorted(set().union(*tables)) if tables else []
    if not keys:
        return '<p class="note">Nothing recorded (no sidecar next to these results files).</p>'
    head = "".join(
        f"<th>torch {_e(ctx, e.torch_version or 'unknown')}<br><small class=\"mono\">{_e(ctx, e.env_name)}</small></th>"
        for e in envs
    )
    rows = []
    for key in keys:
        values = [t.get(key, "") for t in tables]
        cls = ' class="differs"' if len(set(values)) > 1 else ""
        cells = "".join(f'<td class="mono">{_e(ctx, v)}</td>' for v in values)
        rows.append(f'<tr{cls}><td class="mono">{_e(ctx, key)}</td>{cells}</tr>')
    return f'<table class="envtable"><thead><tr><th>field</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _condition_html(ctx: PageContext, condition: "MachineCondition | None") -> str:
    """The doctor's verdict and the measured noise: how far this machine's numbers can be trusted."""
    if condition is None:
        return ""
    out = [f'<h3>Machine condition: <span class="verdict-{_e(ctx, condition.verdict)}">{_e(ctx, condition.verdict)}</span></h3>']
    if condition.doctor is not None:
        rows = "".join(
            f"<tr><td>{_e(ctx, c.name)}</td><td>{_e(ctx, c.status)}</td><td>{_e(ctx, c.detail)}</td>"
            f'<td class="mono">{_e(ctx, c.advice)}</td></tr>' for c in condition.doctor.checks)
        out.append(f'<p class="note">torchperf doctor, {_e(ctx, condition.doctor.taken_at)}</p>'
                   f"<table><thead><tr><th>check</th><th>status</th><th>detail</th><th>advice</th></tr></thead>"
                   f"<tbody>{rows}</tbody></table>")
    else:
        out.append('<p class="note">No doctor report saved (<span class="mono">torchperf doctor --save</span>).</p>')
    if condition.noise is not None:
        rows = "".join(
            f"<tr><td>{_e(ctx, p.name)}</td><td>{format_time(p.median)}</td><td>{p.relative_iqr:.1%}</td>"
            f"<td>{p.drift:.1%}</td><td>{'&gt;100%' if p.mds is None else f'{p.mds:.0%}'}</td></tr>"
            for p in condition.noise.probes)
        out.append(f'<p class="note">torchperf noise, {_e(ctx, condition.noise.taken_at)}: the smallest slowdown '
                   "torchperf compare detects in 90% of run pairs on this machine (never below the drift between runs).</p>"
                   "<table><thead><tr><th>probe</th><th>median</th><th>IQR/median</th><th>drift</th>"
                   f"<th>min. detectable slowdown</th></tr></thead><tbody>{rows}</tbody></table>")
    else:
        out.append('<p class="note">Noise not measured (<span class="mono">torchperf noise --save</span>).</p>')
    for problem in condition.problems:
        out.append(f'<p class="note">{_e(ctx, problem)}</p>')
    return "\n".join(out)


def render_environment(ctx: PageContext, sections: Sequence[EnvironmentSection], machines: Sequence[str],
                       conditions: "Mapping[str, MachineCondition] | None" = None) -> str:
    body = [
        '<p class="note">The fingerprint recorded next to each asv results file (torch and its BLAS/MKL/oneDNN, '
        "threads, CPU capability, precision flags, whitelisted environment variables) and the backend kernel "
        "each op ran, then what changed between consecutive PyTorch versions.</p>"
    ]
    for machine in machines:
        body.append(f'<section class="machine" data-machine="{_e(ctx, machine)}">')
        body.append(_condition_html(ctx, (conditions or {}).get(machine)))
        for section in (s for s in sections if s.machine == machine):
            body.append(f'<h2>{_e(ctx, machine)} — {html.escape(section.label)} <span class="mono">{_e(ctx, section.commit[:8])}</span></h2>')
            body.append("<h3>Changes between consecutive versions</h3>")
            if not section.diffs:
                body.append('<p class="note">Only one environment at this commit.</p>')
            for diff in section.diffs:
                title = f"torch {diff.old.torch_version} → {diff.new.torch_version}"
                if not diff.changed:
                    body.append(f"<p>{_e(ctx, title)}: no recorded difference.</p>")
                    continue
                rows = "".join(
                    f"<tr><td class=\"mono\">{_e(ctx, k)}</td><td class=\"mono\">{_e(ctx, a)}</td><td class=\"mono\">{_e(ctx, b)}</td></tr>"
                    for k, a, b in diff.changed
                )
                body.append(
                    f"<p><b>{_e(ctx, title)}</b>: {len(diff.changed)} fields differ.</p>"
                    f'<table class="envdiff"><thead><tr><th>field</th><th>{_e(ctx, diff.old.torch_version)}</th>'
                    f"<th>{_e(ctx, diff.new.torch_version)}</th></tr></thead><tbody>{rows}</tbody></table>"
                )
            if section.environments:
                body.append("<h3>Fingerprints</h3>")
                body.append(_env_table(ctx, section.environments, [publishable_fingerprint(e) for e in section.environments]))
                body.append("<h3>Kernels (op/dtype → backend kernel)</h3>")
                body.append(_env_table(ctx, section.environments, [kernel_table(e) for e in section.environments]))
        body.append("</section>")
    return _page(ctx, "environment.html", "Environment", "\n".join(body), machines)


# ----------------------------------------------------------------------------------------------
# Regressions


def render_regressions(ctx: PageContext, regressions: Sequence[Regression]) -> str:
    body = [
        '<p class="note">The current regressions found by asv\'s step detection over the project\'s history '
        "(the list <code>torchperf regressions</code> prints). Each links to asv's graph for that benchmark, "
        "environment and parameters.</p>"
    ]
    if not regressions:
        body.append('<p id="no-regressions">No regressions detected.</p>')
    else:
        body.append(
            '<table class="regressions"><thead><tr><th>benchmark</th><th>parameters</th><th>environment</th>'
            "<th>commits</th><th>before</th><th>after</th><th>ratio</th><th></th></tr></thead><tbody>"
        )
        for r in sorted(regressions, key=lambda r: -(r.ratio or 0)):
            # what tells the graphs apart (asv's graph_params), without the keys this graph lacks
            shown = [(k, v) for k, v in r.graph_params.items() if v not in ("None", "null", "", "[none]")]
            env = ", ".join(f"{k}={v}" for k, v in shown) or ", ".join(f"{k}={v}" for k, v in r.env)
            span = f"{(r.commit_before or '')[:8]}..{r.commit_after[:8]}" if r.commit_before else r.commit_after[:8]
            ratio = f"×{r.ratio:.3g}" if r.ratio else ""
            body.append(
                f"<tr><td class=\"mono\">{_e(ctx, r.benchmark)}</td><td class=\"mono\">{_params_label(ctx, r.params)}</td>"
                f"<td class=\"mono\">{_e(ctx, env)}</td><td class=\"mono\">{_e(ctx, span)}</td>"
                f"<td class=\"num\">{html.escape(format_value(r.before, r.unit))}</td>"
                f"<td class=\"num\">{html.escape(format_value(r.after, r.unit))}</td>"
                f"<td class=\"num slower\">{ratio}</td><td>{_asv_link(ctx, r.asv_hash)}</td></tr>"
            )
        body.append("</tbody></table>")
    return _page(ctx, "regressions.html", "Regressions", "\n".join(body))

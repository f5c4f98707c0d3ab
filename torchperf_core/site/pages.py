"""HTML for torchperf's pages in the published site (`html/torchperf/*.html`).

The pages are Jinja2 templates (`templates/`: `base.html` and one template per page) so that a
person can change their layout without touching Python. This module turns `site_data` values into
display strings — numbers through the formatters below, the same ones the text reports use — and
hands them to the templates, which only lay strings out: no statistics and no formatting of numbers
in a template.

Safety is the environment's job, not each template's: autoescaping is on for every template, and
every value printed (`{{ ... }}`) first passes the publisher's redactor (`finalize`), so a benchmark,
parameter or machine name, or a fingerprint value, can neither become markup nor carry a path of the
building machine onto a page, whichever template prints it. An undefined name in a template is an
error (`StrictUndefined`), never an empty cell. The pages are static: a few lines of inline script
switch the machine shown; without script every machine is shown. No network at view time; works from
`file://`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Protocol, Sequence, TypeVar

import jinja2
from markupsafe import Markup

from torchperf_core import render
from torchperf_core.site.data import Environment, ResultPoint, display_value
from torchperf_core.site.efficiency import Calibration, EfficiencyRow, calibration_note, efficiency_rows
from torchperf_core.site.environments import EnvDiff, kernel_table, publishable_fingerprint
from torchperf_core.site.versions import Change, VersionRow
from torchperf_core.site.regressions import Regression

if TYPE_CHECKING:
    from torchperf_core.machine import MachineCondition

TEMPLATES = Path(__file__).with_name("templates")

PAGES = (
    ("versions.html", "Across PyTorch versions"),
    ("efficiency.html", "Efficiency"),
    ("environment.html", "Environment"),
    ("regressions.html", "Regressions"),
)
# Pages rendered by their own modules (the fleet's machines page: site/machines.py), linked from every page.
NAV = PAGES + (("machines.html", "Machines"),)

Redact = Callable[[str], str]


class _HasMachine(Protocol):
    machine: str


_Section = TypeVar("_Section", bound=_HasMachine)


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True)
class PageContext:
    """What every page needs besides its own data."""

    project: str
    redact: Redact = _identity
    generated_note: str = ""


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


def _params_label(params: Iterable[tuple[str, str]]) -> str:
    """The parameters as `ResultPoint.param_label` shows them, for values that are not points."""
    return ", ".join(f"{k}={display_value(v)}" for k, v in params) or "(no parameters)"


# ----------------------------------------------------------------------------------------------
# Templates


def _jinja(redact: Redact) -> jinja2.Environment:
    """A template environment whose every printed value is redacted, then escaped.

    Markup (what a macro returns: already built from escaped values) passes unchanged, so nothing is
    escaped twice.
    """

    def finalize(value: object) -> object:
        if isinstance(value, Markup):
            return value
        return redact("" if value is None else str(value))

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(ctx: PageContext, filename: str, machines: Sequence[str] = (), **values: object) -> str:
    title = dict(NAV)[filename]
    template = _jinja(ctx.redact).get_template(filename)
    return template.render(
        nav=NAV, current=filename, title=title, project=ctx.project, generated_note=ctx.generated_note,
        machines=list(machines), **values,
    )


def _by_machine(sections: Sequence[_Section], machines: Sequence[str]) -> list[tuple[str, list[_Section]]]:
    """Each machine with its sections, in the order of `machines` (the selector's order)."""
    return [(m, [s for s in sections if s.machine == m]) for m in machines]


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
    speed_lines: Sequence[str] = ()  # the machine ran at another speed for a later release (versions.speed_lines)


@dataclass(frozen=True)
class _PointCell:
    text: str
    detail: str
    machine: str
    benchmark: str
    param_index: int
    torch: str
    median: str  # repr of the float: exact, for scripts and tests reading the page


@dataclass(frozen=True)
class _ChangeCell:
    mark: str
    text: str


@dataclass(frozen=True)
class _VersionsRow:
    params: str
    points: Sequence[_PointCell | None]
    changes: Sequence[_ChangeCell | None]  # between points i and i+1


@dataclass(frozen=True)
class _VersionsTable:
    benchmark: str
    link: str | None
    figure: str | None
    scaling: str | None
    versions: Sequence[str]
    rows: Sequence[_VersionsRow]


@dataclass(frozen=True)
class _VersionsView:
    machine: str
    commit: str
    label: str
    tables: Sequence[_VersionsTable]
    speed_lines: Sequence[str] = ()


def _change_cell(change: Change | None) -> _ChangeCell | None:
    if change is None:
        return None
    mark = change.mark
    ratio = f"×{_ratio(change.ratio)}" if change.ratio is not None else ""
    words = {"slower": "slower", "faster": "faster", "same": "no significant change",
             "contended": "contended: re-run on a quiet machine",
             "unknown": change.verdict}[mark]  # failed, skipped, only before/after, ...: compare's word
    if change.verdict == "unknown":  # undecided (one run per side, or between runs): not "unchanged"
        words = "unknown: re-measure"
    if mark == "faster" and change.ratio:
        words = f"({_ratio(1 / change.ratio)}× faster)"
    return _ChangeCell(mark, f"{ratio} {words}")


def _point_cell(point: ResultPoint | None) -> _PointCell | None:
    if point is None or not point.ok:
        return None
    detail = []
    if point.ci_99:
        detail.append(f"CI {format_value(point.ci_99[0], point.unit)} – {format_value(point.ci_99[1], point.unit)}")
    if point.gflops:
        detail.append(format_rate(point.gflops, "GFLOP/s"))
    if point.gbps:
        detail.append(format_rate(point.gbps, "GB/s"))
    return _PointCell(format_value(point.value, point.unit), " · ".join(detail), point.machine, point.benchmark,
                      point.param_index, point.torch_version, repr(point.value))


def _versions_view(section: VersionsSection) -> _VersionsView:
    tables = []
    for bench in sorted({r.benchmark for r in section.rows}):
        rows = [r for r in section.rows if r.benchmark == bench]
        tables.append(_VersionsTable(
            benchmark=bench,
            link=section.graph_links.get(bench),
            figure=section.figures.get(bench),
            scaling=section.scaling.get(bench),
            versions=rows[0].versions,
            rows=[_VersionsRow(_params_label(r.params), [_point_cell(p) for p in r.points],
                               [_change_cell(c) for c in r.changes]) for r in rows],
        ))
    return _VersionsView(section.machine, section.commit, section.label, tables, section.speed_lines)


def render_versions(ctx: PageContext, sections: Sequence[VersionsSection], machines: Sequence[str], factor: float) -> str:
    views = [_versions_view(s) for s in sections]
    return _render(ctx, "versions.html", machines, factor=f"{factor:g}", by_machine=_by_machine(views, machines))


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


@dataclass(frozen=True)
class _Fraction:
    value: str  # repr: exact, for scripts and tests
    width: int  # of the 120 px bar
    text: str  # "50% of peak"; says so when the ceiling is stale


@dataclass(frozen=True)
class _EfficiencyRow:
    benchmark: str
    params: str
    torch: str
    median: str
    gflops: str
    of_peak: _Fraction | None
    gbps: str
    of_bandwidth: _Fraction | None
    stale: bool  # a rate above its ceiling: the calibration no longer describes the machine


@dataclass(frozen=True)
class _Ceilings:
    device: str
    note: str  # when measured, and whether provisional (render.format_calibration)
    peaks: Sequence[tuple[str, str]]  # dtype, GFLOP/s
    bandwidth: str


@dataclass(frozen=True)
class _EfficiencyView:
    machine: str
    commit: str
    label: str
    ceilings: _Ceilings | None
    rooflines: Sequence[tuple[str, str]]  # torch version, figure file name
    rows: Sequence[_EfficiencyRow]


def _fraction(value: float | None, text: str) -> _Fraction | None:
    if value is None:
        return None
    return _Fraction(repr(value), max(0, min(120, round(120 * value))), text)


def _efficiency_row(row: EfficiencyRow) -> _EfficiencyRow:
    p = row.point
    return _EfficiencyRow(
        benchmark=p.benchmark, params=p.param_label, torch=p.torch_version, median=format_value(p.value, p.unit),
        gflops=format_rate(p.gflops, ""), of_peak=_fraction(row.peak and row.peak.value, row.peak_text),
        gbps=format_rate(p.gbps, ""), of_bandwidth=_fraction(row.bandwidth and row.bandwidth.value, row.bandwidth_text),
        stale=row.stale,
    )


def _efficiency_view(section: EfficiencySection) -> _EfficiencyView:
    cal = section.calibration
    ceilings = None
    if cal is not None:
        ceilings = _Ceilings(
            device=cal.device or "device",
            note=calibration_note(cal),
            peaks=[(d, f"{v:g}") for d, v in sorted(cal.peak_gflops.items())],
            bandwidth=f"{cal.bandwidth_gbps:g} GB/s" if cal.bandwidth_gbps else "not measured",
        )
    rows = [_efficiency_row(r) for r in efficiency_rows(section.points, cal)]
    return _EfficiencyView(section.machine, section.commit, section.label, ceilings,
                           list(section.rooflines.items()), rows)


def render_efficiency(ctx: PageContext, sections: Sequence[EfficiencySection], machines: Sequence[str]) -> str:
    views = [_efficiency_view(s) for s in sections]
    return _render(ctx, "efficiency.html", machines, by_machine=_by_machine(views, machines))


# ----------------------------------------------------------------------------------------------
# Environment


@dataclass(frozen=True)
class EnvironmentSection:
    machine: str
    commit: str
    environments: Sequence[Environment]
    diffs: Sequence[EnvDiff]
    label: str = "latest commit"


@dataclass(frozen=True)
class _EnvRow:
    key: str
    values: Sequence[str]
    differs: bool


@dataclass(frozen=True)
class _EnvTable:
    environments: Sequence[Environment]
    rows: Sequence[_EnvRow]


@dataclass(frozen=True)
class _Diff:
    title: str
    old: str
    new: str
    changed: Sequence[tuple[str, str, str]]


@dataclass(frozen=True)
class _EnvironmentView:
    machine: str
    commit: str
    label: str
    diffs: Sequence[_Diff]
    fingerprints: _EnvTable | None  # None: no environment at this commit
    kernels: _EnvTable | None


@dataclass(frozen=True)
class _Probe:
    name: str
    median: str
    relative_iqr: str
    drift: str
    mds: str


@dataclass(frozen=True)
class _Noise:
    taken_at: str
    probes: Sequence[_Probe]


@dataclass(frozen=True)
class _Condition:
    verdict: str
    doctor: object | None  # machine.DoctorReport: strings only (taken_at, checks' name/status/detail/advice)
    noise: _Noise | None
    problems: Sequence[str]


def _env_table(envs: Sequence[Environment], tables: Sequence[Mapping[str, str]]) -> _EnvTable:
    keys = sorted(set().union(*tables)) if tables else []
    rows = []
    for key in keys:
        values = [t.get(key, "") for t in tables]
        rows.append(_EnvRow(key, values, len(set(values)) > 1))
    return _EnvTable(envs, rows)


def _environment_view(section: EnvironmentSection) -> _EnvironmentView:
    diffs = [_Diff(f"torch {d.old.torch_version} → {d.new.torch_version}", d.old.torch_version, d.new.torch_version,
                   list(d.changed)) for d in section.diffs]
    envs = section.environments
    if not envs:
        return _EnvironmentView(section.machine, section.commit, section.label, diffs, None, None)
    return _EnvironmentView(section.machine, section.commit, section.label, diffs,
                            _env_table(envs, [publishable_fingerprint(e) for e in envs]),
                            _env_table(envs, [kernel_table(e) for e in envs]))


def _condition_view(condition: "MachineCondition") -> _Condition:
    noise = None
    if condition.noise is not None:
        probes = [_Probe(p.name, format_time(p.median), f"{p.relative_iqr:.1%}", f"{p.drift:.1%}",
                         ">100%" if p.mds is None else f"{p.mds:.0%}") for p in condition.noise.probes]
        noise = _Noise(condition.noise.taken_at, probes)
    return _Condition(condition.verdict, condition.doctor, noise, list(condition.problems))


def render_environment(ctx: PageContext, sections: Sequence[EnvironmentSection], machines: Sequence[str],
                       conditions: "Mapping[str, MachineCondition] | None" = None) -> str:
    views = [_environment_view(s) for s in sections]
    shown = {m: _condition_view(c) for m, c in (conditions or {}).items() if c is not None}
    return _render(ctx, "environment.html", machines, by_machine=_by_machine(views, machines), conditions=shown)


# ----------------------------------------------------------------------------------------------
# Regressions


@dataclass(frozen=True)
class _RegressionRow:
    benchmark: str
    params: str
    environment: str
    commits: str
    before: str
    after: str
    ratio: str
    fragment: str  # asv's graph for this benchmark, environment and parameters
    verdict: str = "not judged"  # compare's verdict between the step's two commits (issue 11)
    mark: str = "unknown"  # the CSS class: slower / faster / same / contended / unknown
    reason: str = ""  # compare's words on why the step is unknown or contended ("": none)
    speed: str = ""  # compare's machine-speed line between the step's two runs ("": the same speed)


def _regression_row(r: Regression) -> _RegressionRow:
    # what tells the graphs apart (asv's graph_params), without the keys this graph lacks
    shown = [(k, v) for k, v in r.graph_params.items() if v not in ("None", "null", "", "[none]")]
    env = ", ".join(f"{k}={v}" for k, v in shown) or ", ".join(f"{k}={v}" for k, v in r.env)
    span = f"{(r.commit_before or '')[:8]}..{r.commit_after[:8]}" if r.commit_before else r.commit_after[:8]
    verdict = r.verdict or "not judged"
    if r.verdict in ("unknown", "contended"):
        verdict = f"{r.verdict}: {'re-run on a quiet machine' if r.verdict == 'contended' else 're-measure'}"
    mark = r.verdict if r.verdict in ("slower", "faster", "same", "contended") else "unknown"
    return _RegressionRow(r.benchmark, _params_label(r.params), env, span, format_value(r.before, r.unit),
                          format_value(r.after, r.unit), f"×{r.ratio:.3g}" if r.ratio else "", r.asv_hash,
                          verdict, mark, r.reason or "", r.speed or "")


def render_regressions(ctx: PageContext, regressions: Sequence[Regression]) -> str:
    # Decided slowdowns first (issue 11: only those rank as slowdowns), then the rest, each by ratio.
    rows = [_regression_row(r) for r in sorted(regressions, key=lambda r: (r.verdict != "slower", -(r.ratio or 0)))]
    # the machine ran at another speed at one end of a step: said once above the table, as compare says it
    return _render(ctx, "regressions.html", rows=rows, speed_lines=list(dict.fromkeys(r.speed for r in rows if r.speed)))

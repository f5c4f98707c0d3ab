"""`torchperf bisect` text: one progress line per event, and the report's summary.

Strings only. Progress events are (kind, fields) as the search emits them; the summary reads the
bisect report's JSON (see torchperf_core.bisect.report), so a saved report renders the same.
"""

from __future__ import annotations

from typing import Any, Mapping

from torchperf_core.render.text import format_time, table
from torchperf_core.verdict import SIGNED_RANK


# One template per progress event; list-valued fields are joined by the template's own words.
_PROGRESS = {
    "install": "installing {version} (Python {python})",
    "download": "  downloading {file} ({size})",
    "reuse": "reusing the {version} environment (Python {python})",
    "skip": "skipping {version}: {reason}",
    "endpoint": "endpoint {version}",
    "measure endpoints": "measuring the endpoints {versions_vs}, interleaved",
    "step": "step {step} of ~{total}: {version} (between {lo} and {hi})",
    "round": "  round {round}: {versions_list}",
    "disturbed": "  round {round}: {versions_list}: disturbed, not judged ({cause})",
    "why": "collecting fingerprints and kernels of {lo} and {hi}",
    "resume": "resuming from {path} ({sessions} sessions measured)",
    "reopen": "measuring on: {versions_list} were undecided after {taken} rounds; up to {max_rounds} (--max-rounds)",
}


def render_bisect_progress(kind: str, fields: Mapping[str, Any]) -> str | None:
    """One line for a progress event, or None for an event not shown."""
    template = _PROGRESS.get(kind)
    if template is None:
        return None
    versions = [str(v) for v in fields.get("versions", ())]
    return template.format(**fields, versions_vs=" vs ".join(versions), versions_list=", ".join(versions))


def _ratio(culprit: Mapping[str, Any]) -> str:
    if culprit.get("ratio") is None:
        return f"no ratio ({culprit['verdict']})"
    interval = ""
    if culprit.get("ratio_ci"):
        a, b = culprit["ratio_ci"]
        interval = f"90% interval {a:.2f}x-{b:.2f}x, "
    p = f"p={culprit['p']:.1e}, " if culprit.get("p") is not None else ""
    if culprit.get("decided_by") == SIGNED_RANK:  # its ratio is Hodges-Lehmann's, outside the t interval perhaps
        p = f"signed-rank test {p}"
    return f"{culprit['ratio']:.2f}x ({interval}{p}{culprit['rounds']} paired rounds, {culprit['verdict']})"


def render_bisect_report(report: Mapping[str, Any]) -> str:
    """The summary: status line, the pair the search ended on and its ratio, the why, the versions measured."""
    lines = []
    pkg = report["package"]
    status = report["status"]
    bounds = report.get("bounds")
    lo, hi = (bounds["good"], bounds["bad"]) if bounds else ("?", "?")
    if status in ("not reproduced", "undecided"):
        c = bounds or {}
        ratio = f" (ratio {c['ratio']:.2f}x, {c['verdict']})" if c.get("ratio") is not None else ""
        # undecided: "was not shown slower", never "is not slower" (the rule decided nothing)
        if status == "undecided":
            claim, tail = "was not shown slower", report["note"] or "could not tell"
        else:
            claim, tail = "is not slower", "nothing to bisect"
        lines.append(f"{status}: {pkg} {report['bad']} {claim} than {report['good']} beyond x{report['factor']:g}"
                     f"{ratio}; {tail}")
    elif status == "culprit" and report.get("culprit"):
        culprit = report["culprit"]
        lines.append(f"culprit: {pkg} {culprit['good']} -> {culprit['bad']}: {_ratio(culprit)}")
        if culprit["skipped_between"]:
            lines.append(f"  not measured between them (skipped): {', '.join(culprit['skipped_between'])}")
    elif status == "range":
        lines.append(f"undecided: the slowdown is between {pkg} {lo} and {hi}; {report['note']}")
    elif status == "contended":
        lines.append(f"contended: {pkg} {report['note']}")
    elif status == "paused":
        lines.append(f"paused: the slowdown is between {pkg} {lo} and {hi}; re-run the same command to continue")
    else:
        lines.append(f"status: {status}")
    if report.get("note") and status not in ("range", "undecided", "contended"):
        lines.append(f"note: {report['note']}")
    why = report.get("why")
    if why:
        if why.get("error"):
            lines.append(f"why: not collected ({why['error']})")
        else:
            fields = why.get("fields") or []
            lines.append("why: fingerprint differences" if fields else "why: no fingerprint difference")
            for d in fields:
                lines.append(f"  {'!' if d['key'] else ' '} {d['field']}: {d['before']} -> {d['after']}")
            for k in why.get("kernels") or []:
                ref = " (reference kernel!)" if k["after_reference"] else ""
                lines.append(f"  kernel {k['kernel']}: {', '.join(k['before']) or '?'} -> {', '.join(k['after']) or '?'}{ref}")
            for key, backends in why.get("kernels_unchanged") or []:
                lines.append(f"  kernel {key}: {backends} on both sides")
    if report.get("skipped"):
        for version, reason in report["skipped"].items():
            lines.append(f"skipped {version}: {reason}")
    lines += _disturbed_lines(report)
    lines += _version_table(report.get("versions") or [])
    if report.get("plot"):
        lines.append(f"plot: {report['plot']}")
    return "\n".join(lines) + "\n"


def _disturbed_lines(report: Mapping[str, Any]) -> list[str]:
    """Per decision, the rounds set aside because the contention probe saw them disturbed."""
    parts = [f"{'endpoints' if s['step'] == 0 else 'step ' + str(s['step'])} {s['disturbed']} of "
             f"{s['disturbed'] + s['rounds']}" for s in report.get("steps") or () if s.get("disturbed")]
    return [f"disturbed rounds (set aside, not judged): {', '.join(parts)}"] if parts else []


def _version_table(rows: list[Mapping[str, Any]]) -> list[str]:
    """Medians of clean rounds; a version measured only in disturbed rounds shows its numbers in
    parentheses, footnoted, so it never reads as a clean median. Version 1 reports: no column."""
    if not rows:
        return []
    watched = any("disturbed_rounds" in r for r in rows)
    body = []
    for r in rows:
        median, iqr = format_time(r["median"]), f"{format_time(r['q_25'])}..{format_time(r['q_75'])}"
        if r.get("contended"):
            median, iqr = f"({median})", f"({iqr})"
        body.append([r["version"], median, iqr, str(r["samples"])] + ([str(r.get("disturbed_rounds", 0))] if watched else []))
    header = ["version", "median", "IQR", "samples"] + (["disturbed"] if watched else [])
    out = [table(header, body, "lrrr" + ("r" if watched else ""))]
    if any(r.get("contended") for r in rows):
        out.append("(...) contended: every round of that version was disturbed; not a clean median")
    return out

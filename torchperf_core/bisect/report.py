"""The outcome of a search as a versioned JSON report, and the plot.

The report is built from the state file alone (so a finished search reports again without measuring):
per version the pooled samples' median and quartiles (for the plot and the table: pooled across
sessions, so drift between sessions is in them), and for the pair the search ended on (`bounds`:
the endpoints, the range left, or the culprit pair) `judge_paired`'s ratio, its 90% interval (the
equivalence interval: the ratio lies above its lower end with 95% confidence), p-value and verdict,
from the last session that measured both sides interleaved. `culprit` is that pair only when the
search named one (status "culprit"), null otherwise: a contended, paused or undecided search has
bounds, never a culprit.

Only clean rounds make a version's median. Rounds the contention probe saw disturbed are counted
(per version and per step) and never pooled with clean ones; a version measured only in disturbed
rounds gets its median from them, flagged `"contended": true`, so no reader takes it for a clean one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from torchperf_core.bisect.search import compare_pair, pooled
from torchperf_core.engine import stats
from torchperf_core.bisect.state import CULPRIT, NOT_REPRODUCED, UNDECIDED, BisectState
from torchperf_core.formats import check_format_version
from torchperf_core.store import version_key, write_json
from torchperf_core.verdict import UNKNOWN

# Report history:
#   1 — first version: question, status, culprit (ratio, 90% interval, p, verdict), per-version
#       medians, steps, skipped releases, why (fingerprint and kernel differences), plot file.
#   2 — status may be "contended"; per version "rounds" (clean), "disturbed_rounds" and "contended"
#       (true: no clean round, the median is from disturbed ones); per step "disturbed" and "note".
#       Version 1 reports still load and render (no disturbed rounds: none were watched).
#   3 — "bounds": the pair the search ended on, with its judgement, whatever the status; "culprit"
#       is that pair only when the status is "culprit", null otherwise (versions 1 and 2 put the
#       bounds of a range, paused, contended or not-reproduced search under "culprit": `load_report`
#       reads them into version 3's shape).
#   4 — status may be "undecided": the endpoints still unknown after --max-rounds (exit 1). Versions
#       1-3 filed that as "not reproduced" (exit 3, as if the rule had decided there was no slowdown);
#       `load_report` reads such a report (its bounds' verdict "unknown") as "undecided".
BISECT_REPORT_FORMAT_VERSION = 4
_READS = (1, 2, 3, 4)


def _disturbed_samples(session: Mapping[str, Any], version: str) -> list[float]:
    return [x for d in session.get("disturbed") or () for x in d["samples"].get(version, ())]


def _version_stats(state: BisectState) -> list[dict[str, Any]]:
    rows = []
    measured = sorted({v for s in state.sessions for v in s["versions"]
                       if pooled(s["rounds"], v) or _disturbed_samples(s, v)}, key=version_key)
    for version in measured:
        clean = [x for s in state.sessions for x in pooled(s["rounds"], version)]
        rounds = sum(1 for s in state.sessions for r in s["rounds"] if r.get(version))
        disturbed = sum(1 for s in state.sessions for d in s.get("disturbed") or () if d["samples"].get(version))
        samples = clean or [x for s in state.sessions for x in _disturbed_samples(s, version)]
        rows.append({"version": version, "median": stats.median(samples), "q_25": stats.quantile(samples, 0.25),
                     "q_75": stats.quantile(samples, 0.75), "samples": len(samples), "rounds": rounds,
                     "disturbed_rounds": disturbed, "contended": not clean})
    return rows


def _bounds(state: BisectState) -> dict[str, Any] | None:
    """The pair the search ended on, as the last session that measured both judged it (paired rounds)."""
    lo, hi = state.lo, state.hi
    session = next((s for s in reversed(state.sessions) if lo in s["versions"] and hi in s["versions"]
                    and s["rounds"]), None)
    if session is None:
        return None
    alpha = next((c["alpha"] for c in session["comparisons"] if "alpha" in c), 0.01)
    c = compare_pair(session["rounds"], lo, hi, state.factor, alpha)
    between = [v for v in state.releases if state.index(lo) < state.index(v) < state.index(hi)]
    return {"good": lo, "bad": hi, "ratio": c["ratio"], "ratio_ci": c["ci"], "p": c["p"], "alpha": alpha,
            "decided_by": c["decided_by"], "rounds": c["rounds"], "verdict": c["verdict"], "step": session["step"],
            "skipped_between": between}


def build_report(state: BisectState, plot: str | None = None) -> dict[str, Any]:
    q = state.question
    bounds = _bounds(state)
    return {
        "format_version": BISECT_REPORT_FORMAT_VERSION,
        "package": q["package"],
        "case": q["case"],
        "good": state.good,
        "bad": state.bad,
        "factor": state.factor,
        "status": state.status,
        "note": state.note,
        "bounds": bounds,
        "culprit": bounds if state.status == CULPRIT else None,
        "releases": state.releases,
        "skipped": state.skipped,
        "versions": _version_stats(state),
        "steps": [{"step": s["step"], "versions": s["versions"], "rounds": len(s["rounds"]),
                   "disturbed": len(s.get("disturbed") or ()), "outcome": s["outcome"],
                   "comparisons": s["comparisons"], "note": s.get("note", "")} for s in state.sessions],
        "why": state.why,
        "plot": plot,
        "state_file": str(state.path),
    }


def save_report(report: Mapping[str, Any], path: Path) -> Path:
    return write_json(path, dict(report))


def load_report(path: Path) -> dict[str, Any]:
    """A saved bisect report, its format checked by the one `format_version` check."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        from torchperf_core.errors import TorchperfError

        raise TorchperfError(f"cannot read bisect report {str(path)!r}: {exc}") from None
    check_format_version(data, "bisect report", _READS, source=str(path),
                         fix="re-run `torchperf bisect` to rewrite it")
    if data["format_version"] < 3:  # the bounds were under "culprit" whatever the status
        data["bounds"] = data.get("culprit")
        data["culprit"] = data["bounds"] if data.get("status") == CULPRIT else None
    if data["format_version"] < 4 and data.get("status") == NOT_REPRODUCED and \
            (data.get("bounds") or {}).get("verdict") == UNKNOWN:  # undecided endpoints, filed as decided
        data["status"] = UNDECIDED
    return data


def plot_report(report: Mapping[str, Any], path: Path) -> Path:
    """The case's median (IQR bars) at every measured version, the culprit step marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["versions"]
    xs = list(range(len(rows)))
    med = [r["median"] * 1e3 for r in rows]
    low = [(r["median"] - (r["q_25"] if r["q_25"] is not None else r["median"])) * 1e3 for r in rows]
    high = [((r["q_75"] if r["q_75"] is not None else r["median"]) - r["median"]) * 1e3 for r in rows]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(rows) + 2), 3.6))
    ax.errorbar(xs, med, yerr=[low, high], fmt="o-", capsize=3)
    contended = [i for i, r in enumerate(rows) if r.get("contended")]
    if contended:
        ax.plot(contended, [med[i] for i in contended], "x", color="tab:orange", markersize=12,
                label="contended (disturbed rounds only)")
        ax.legend(loc="best")
    culprit = report.get("culprit")
    names = [r["version"] for r in rows]
    if culprit and culprit["good"] in names and culprit["bad"] in names:
        ax.axvspan(names.index(culprit["good"]), names.index(culprit["bad"]), color="tab:red", alpha=0.15,
                   label=f"culprit {culprit['good']} -> {culprit['bad']}")
        ax.legend(loc="best")
    ax.set_xticks(xs, names, rotation=45, ha="right")
    ax.set_ylabel("median time per call (ms)")
    ax.set_xlabel(f"{report['package']} release")
    ax.set_title(str(report["case"])[:80], fontsize=9)
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

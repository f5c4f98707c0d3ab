"""The words for both metrics side by side (issue 12): the two columns a wall-clock row gains when an
instruction-count row of the same case exists, the reading guide, and the JSON fields.

Every ratio, verdict and reading comes from `compare.metrics`; this module only words them. Nothing
here is shown unless some row has such a pair, so a comparison of times alone renders as before.
"""

from __future__ import annotations

from typing import Any, Sequence

from torchperf_core.compare import MARKS, MORE_WORK, MORE_WORK_UNSEEN, WALL_CLOCK_ONLY, Row

HEADERS = ("Instr ratio", "Instr verdict")
READING_TEXT = {
    WALL_CLOCK_ONLY: "wall-clock only: memory/frequency/contention, not more work",
    MORE_WORK: "more work: the code path changed",
    MORE_WORK_UNSEEN: "more work below the wall-clock noise floor: the code path changed",
}
TITLE = "Time and instructions of the same case"
LEGEND = ("Instr ratio / Instr verdict: the instruction-count row of the same op and parameters (1 thread, "
          "under valgrind), after/before, judged by its tolerance; that row is also listed on its own")


def has_beside(rows: Sequence[Row]) -> bool:
    return any(r.instructions is not None for r in rows)


def _ratio(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def beside_cells(row: Row) -> list[str]:
    """The two cells after "Ratio": the count's ratio and verdict; "—" on rows without a pair."""
    c = row.instructions
    if c is None:
        return ["—", "—"]
    return [_ratio(c.ratio), c.verdict]


def reading_lines(rows: Sequence[Row], show_env: bool) -> list[str]:
    """One line per paired row with something to say: both verdicts, then what they mean."""
    out = []
    for r in rows:
        c = r.instructions
        if c is None or c.reading is None:
            continue
        env = f" [{r.env}]" if show_env else ""
        out.append(f"{r.name}{env}: time {_ratio(r.ratio)} {r.verdict}, instructions {_ratio(c.ratio)} {c.verdict}"
                   f" → {READING_TEXT[c.reading]}")
    return out


def beside_json(row: Row, num: Any) -> dict[str, Any]:
    """The fields a paired row gains in `--format json` (none on other rows); `num` maps non-finite to None."""
    c = row.instructions
    if c is None:
        return {}
    return {
        "instr_row": c.name,
        "instr_before": num(c.before),
        "instr_after": num(c.after),
        "instr_ratio": num(c.ratio),
        "instr_verdict": c.verdict,
        "instr_mark": MARKS[c.verdict],
        "reading": c.reading,
        "reading_text": READING_TEXT[c.reading] if c.reading else None,
    }


__all__ = ["HEADERS", "LEGEND", "READING_TEXT", "TITLE", "beside_cells", "beside_json", "has_beside", "reading_lines"]

"""Both metrics of one case side by side: a wall-clock row and the instruction-count row of the same op
and inputs, so a time change can be read against the work done (issue 12).

A time slowdown with an unchanged count is the machine (memory, frequency, contention), not more
work; a count that grew is a changed code path, whether or not the clock could see it. The two rows
come from different benchmarks, so the pairing needs a key that both declare in their own metadata
(`results/benchmarks.json`, where asv copies every JSON-serialisable function attribute):

- a wall-clock benchmark (unit "seconds") declares its catalog op as `op`; its parameters are the
  row's own (`param_names`: size, dtype, layout, device, ...);
- an instruction-count benchmark (unit "instructions") declares `cases`: asv's parameter key of each
  case (`"('mm 64 float32')"`, as `flops` dicts are keyed) -> `{"op": "mm", "params": {"size": "64",
  "dtype": "'float32'"}}`, the parameter values written as asv writes them (their repr).

The match, exactly: same environment; same op; and the same parameters once the values that
`OpBenchmark.setup` assumes for an absent parameter are filled in on both sides (IMPLIED_PARAMS:
device 'cpu', layout 'contiguous'). Any other difference is no match: an `At` layout, a cuda device,
a parameter one side has and the other lacks. Threads are not a parameter: the wall-clock thread count
is part of the environment name (`torchperf run --threads`), while a count is always taken at 1 thread
under valgrind (AVX2 at most), so the pair says "same op, same inputs", never "same thread count".
A time row matched by two count rows (two cases declaring one key) is left unpaired: ambiguous.

Pure logic; `render` words the reading lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

from torchperf_core.verdict import CONTENDED, COUNT_UNIT, FASTER, SAME, SLOWER, UNKNOWN

# What OpBenchmark.setup (benchmarks/common.py) assumes when a family omits the parameter.
IMPLIED_PARAMS: Mapping[str, str] = {"device": "'cpu'", "layout": "'contiguous'"}
TIME_UNIT = "seconds"

# The reading guide: (time verdict, count verdict) -> what the pair means (`render` words each).
WALL_CLOCK_ONLY = "wall_clock_only"  # time slower, count not: the machine, not more work
MORE_WORK = "more_work"  # both slower: the code path changed
MORE_WORK_UNSEEN = "more_work_unseen"  # count slower, time not decided slower: below the clock's floor
READINGS = (WALL_CLOCK_ONLY, MORE_WORK, MORE_WORK_UNSEEN)
_READINGS: Mapping[tuple[str, str], str] = {
    (SLOWER, SAME): WALL_CLOCK_ONLY,
    (SLOWER, FASTER): WALL_CLOCK_ONLY,
    (SLOWER, SLOWER): MORE_WORK,
    (SAME, SLOWER): MORE_WORK_UNSEEN,
    (UNKNOWN, SLOWER): MORE_WORK_UNSEEN,
    (CONTENDED, SLOWER): MORE_WORK_UNSEEN,
}


class PairedRow(Protocol):
    """What the pairing reads of a compare row (`compare.Row` has it all)."""

    benchmark: str
    params: tuple[tuple[str, str], ...]
    env: str
    unit: str | None
    ratio: float | None
    verdict: str
    before: float | None
    after: float | None

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class CountBeside:
    """The instruction-count row shown beside a wall-clock row of the same case."""

    name: str  # the count row's display name, where it still appears on its own
    before: float | None
    after: float | None
    ratio: float | None  # after / before, instructions
    verdict: str  # the count rule's (verdict.judge_counts), already on the count row
    reading: str | None  # one of READINGS for this (time, count) pair; None when nothing to say


CaseKey = tuple[str, str, tuple[tuple[str, str], ...]]  # (env, op, normalised params)


def _normalised(params: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    full = {**IMPLIED_PARAMS, **{str(k): str(v) for k, v in params.items()}}
    return tuple(sorted(full.items()))


def time_key(row: PairedRow, benchmarks: Mapping[str, Any]) -> CaseKey | None:
    """The case a wall-clock row measures, or None when its benchmark declares no `op`."""
    meta = benchmarks.get(row.benchmark, {})
    op = meta.get("op")
    if row.unit != TIME_UNIT or not isinstance(op, str):
        return None
    return row.env, op, _normalised(dict(row.params))


def count_key(row: PairedRow, benchmarks: Mapping[str, Any]) -> CaseKey | None:
    """The case an instruction-count row counts, from its benchmark's `cases`; None if undeclared."""
    meta = benchmarks.get(row.benchmark, {})
    if row.unit != COUNT_UNIT or not isinstance(meta.get("cases"), Mapping):
        return None
    case = meta["cases"].get("(" + ", ".join(v for _k, v in row.params) + ")")
    if not (isinstance(case, Mapping) and isinstance(case.get("op"), str) and isinstance(case.get("params"), Mapping)):
        return None
    return row.env, case["op"], _normalised(case["params"])


def reading(time_verdict: str, count_verdict: str) -> str | None:
    """What the pair means (one of READINGS); None when both say "no change", or nothing is decided."""
    return _READINGS.get((time_verdict, count_verdict))


def counts_beside(rows: Sequence[PairedRow], benchmarks: Mapping[str, Any]) -> tuple[CountBeside | None, ...]:
    """For each row (same order): the count row of the same case when the row is a wall-clock row
    that has exactly one; else None. The count rows themselves are left where they are."""
    by_key: dict[CaseKey, list[PairedRow]] = {}
    for r in rows:
        key = count_key(r, benchmarks)
        if key is not None:
            by_key.setdefault(key, []).append(r)
    out: list[CountBeside | None] = []
    for r in rows:
        key = time_key(r, benchmarks)
        found = by_key.get(key, []) if key is not None else []
        if len(found) != 1:
            out.append(None)
            continue
        c = found[0]
        out.append(CountBeside(name=c.name, before=c.before, after=c.after, ratio=c.ratio, verdict=c.verdict,
                               reading=reading(r.verdict, c.verdict)))
    return tuple(out)


__all__ = ["IMPLIED_PARAMS", "MORE_WORK", "MORE_WORK_UNSEEN", "READINGS", "WALL_CLOCK_ONLY", "CountBeside",
           "counts_beside", "count_key", "reading", "time_key"]

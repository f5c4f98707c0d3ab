"""The gate's sides taking turns sample by sample (gate/pairs.py, the worker's paced runs).

The turn-taking is checked on scripted workers (the exact messages and waits), then end to end with
real worker processes on throwaway trees whose `time_` benchmark logs every call: the log is the
order the two processes really ran in. A tree whose engine predates pacing is run whole, and the
report says so."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Mapping

import pytest

from torchperf_core.gate import GatePlan, GateSide, render_gate, run_gate
from torchperf_core.gate.pairs import running_threads, settle, time_pair


class ScriptedWorker:
    """Answers "pace" `samples` times (once per sample, before it), then its result."""

    def __init__(self, pid: int, samples: int, log: list[str], result: dict[str, Any] | None = None) -> None:
        self.pid, self.left, self.log = pid, samples, log
        self.result = result or {"ok": True, "median": float(pid)}

    def ask(self, request: Mapping[str, Any]) -> dict[str, Any]:
        self.log.append(f"{self.pid} {request['op']}{' paced' if request.get('paced') else ''}")
        if request.get("op") == "run" and not request.get("paced"):
            return self.result
        if self.left:
            self.left -= 1
            return {"pace": 0}
        return self.result


def _settle_log(log: list[str]):
    def fake(pid: int) -> float:
        log.append(f"settle {pid}")
        return 0.0
    return fake


def test_paced_sides_take_turns_one_sample_each_the_first_side_first_settling_between():
    """Side 1 starts (order (1, 0)); each go is one sample; side 0 (three samples) has one more than
    side 1 and goes on alone at the end, with no settling (its own threads). Bugs caught: both sides' warm-ups back to
    back without settling, the order lost after the first turn, a settle on the side about to run,
    a finished side asked again."""
    log: list[str] = []
    workers = [ScriptedWorker(10, 3, log), ScriptedWorker(11, 2, log)]
    out = time_pair(workers, (1, 0), {"op": "run", "benchmark": "b", "key": "()"}, paced=True, settle=_settle_log(log))
    assert out == [{"ok": True, "median": 10.0}, {"ok": True, "median": 11.0}]
    assert log == ["11 run paced", "settle 11", "10 run paced",  # warm-ups, each up to its first pace
                   "settle 10", "11 go", "settle 11", "10 go",  # the first samples, 11 first
                   "settle 10", "11 go",  # 11's second and last sample: its answer is its result
                   "settle 11", "10 go",  # 10's second sample
                   "10 go"]  # 10 alone: its third and last, no settling on itself


def test_a_side_that_never_paces_answers_at_once_and_the_other_runs_alone():
    """A skip, a failure or a measurement outside the paced loop answers its result to the run."""
    log: list[str] = []
    skipped = {"ok": False, "skip": "not here"}
    workers = [ScriptedWorker(10, 0, log, skipped), ScriptedWorker(11, 2, log)]
    out = time_pair(workers, (0, 1), {"op": "run"}, paced=True, settle=_settle_log(log))
    assert out[0] == skipped and out[1] == {"ok": True, "median": 11.0}
    assert log == ["10 run paced", "settle 10", "11 run paced", "11 go", "11 go"]


def test_unpaced_pairs_are_whole_measurements_in_order_with_no_pacing_asked():
    log: list[str] = []
    workers = [ScriptedWorker(10, 5, log), ScriptedWorker(11, 5, log)]
    out = time_pair(workers, (1, 0), {"op": "run"}, paced=False, settle=_settle_log(log))
    assert log == ["11 run", "10 run"] and out == [{"ok": True, "median": 10.0}, {"ok": True, "median": 11.0}]


def test_settle_waits_until_no_thread_runs_and_no_longer_than_its_limit():
    states = iter([2, 1, 1, 0, 5])
    slept: list[float] = []
    now = [0.0]

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    assert settle(7, running=lambda pid: next(states), sleep=sleep, clock=lambda: now[0], step=0.001) == pytest.approx(0.003)
    assert slept == [0.001] * 3
    slept.clear()
    now[0] = 0.0
    assert settle(7, running=lambda pid: 2, sleep=sleep, clock=lambda: now[0], step=0.001, limit=0.005) == pytest.approx(0.005)
    slept.clear()
    assert settle(7, running=lambda pid: None, sleep=sleep, clock=lambda: now[0]) == pytest.approx(0.02)  # unreadable: a fixed wait
    assert slept == [0.02]


def test_running_threads_counts_state_r_in_each_task(tmp_path):
    for tid, stat in ((1, "1 (python) S 0"), (2, "2 (omp (worker) x) R 1"), (3, "3 (python) R 1"), (4, "4 (py) D 1")):
        (tmp_path / "42" / "task" / str(tid)).mkdir(parents=True)
        (tmp_path / "42" / "task" / str(tid) / "stat").write_text(stat + " 5 6\n")
    assert running_threads(42, proc=tmp_path) == 2  # a ")" inside the name does not shift the fields
    assert running_threads(43, proc=tmp_path) is None
    if Path("/proc/self/task").is_dir():
        assert running_threads(os.getpid()) >= 1  # this thread is running while it reads


# --- end to end: real worker processes --------------------------------------------------------------

TICK = '''
import os, time
SIDE = "{side}"


def time_tick():
    with open(os.environ["GATE_TEST_LOG"], "a") as f:
        f.write(SIDE + "\\n")
    time.sleep(0.011)  # >= 10 ms: one call a sample, no calibration beyond the first
'''


def _tick_tree(root: Path, side: str, *, old_engine: bool = False) -> GateSide:
    bench = root / side / "benchmarks"
    bench.mkdir(parents=True)
    (bench / "__init__.py").write_text("")
    (bench / "bench_tick.py").write_text(TICK.format(side=side))
    if old_engine:  # the tree's own torchperf_core, from before timing.pacing
        engine = root / side / "torchperf_core" / "engine"
        engine.mkdir(parents=True)
        (root / side / "torchperf_core" / "__init__.py").write_text("")
        (engine / "__init__.py").write_text("")
        (engine / "timing.py").write_text("def time_callable(*a, **k):\n    raise NotImplementedError\n")
    return GateSide(side, sys.executable, bench)


def _runs(log: Path) -> list[tuple[str, int]]:
    """The log as runs of one side: (side, calls in a row)."""
    out: list[tuple[str, int]] = []
    for side in log.read_text().split():
        if out and out[-1][0] == side:
            out[-1] = (side, out[-1][1] + 1)
        else:
            out.append((side, 1))
    return out


def test_real_workers_alternate_sample_by_sample(tmp_path):
    """One round: the first side warms up and calibrates (2 calls), the second likewise, then the ten
    samples alternate one by one, the first side first. The report says how the sides took turns."""
    sides = _tick_tree(tmp_path, "before"), _tick_tree(tmp_path, "after")
    env = {**os.environ, "GATE_TEST_LOG": str(tmp_path / "calls.log")}
    report = run_gate(*sides, GatePlan(factor=1.5, rounds_min=3, max_rounds=3), base_env=env)
    runs = _runs(tmp_path / "calls.log")
    # (r + i) % 2 with one case: before first in rounds 1 and 3, after first in round 2
    per_round = [[("before", 2), ("after", 2)] + [("before", 1), ("after", 1)] * 10,
                 [("after", 2), ("before", 2)] + [("after", 1), ("before", 1)] * 10,
                 [("before", 2), ("after", 2)] + [("before", 1), ("after", 1)] * 10]
    merged: list[tuple[str, int]] = []
    for side, n in [x for r in per_round for x in r]:  # rounds meet end to start: same side runs merge
        merged[-1:] = [(side, merged[-1][1] + n)] if merged and merged[-1][0] == side else merged[-1:] + [(side, n)]
    assert runs == merged
    assert report.interleave == "sample" and report.notes == ()
    assert "; sides alternated sample by sample" in render_gate(report, "text").splitlines()[1]


def test_a_tree_that_cannot_pace_runs_whole_and_the_report_says_which(tmp_path):
    sides = _tick_tree(tmp_path, "before", old_engine=True), _tick_tree(tmp_path, "after")
    env = {**os.environ, "GATE_TEST_LOG": str(tmp_path / "calls.log")}
    lines: list[str] = []
    report = run_gate(*sides, GatePlan(factor=1.5, rounds_min=3, max_rounds=3), base_env=env, progress=lines.append)
    note = "cases alternated whole, not sample by sample: the tree of before predates sample pacing"
    assert report.interleave == "case" and report.notes == (note,) and note in lines
    assert _runs(tmp_path / "calls.log") == [("before", 12), ("after", 24), ("before", 24), ("after", 12)]
    text = render_gate(report, "text")
    assert "; sides alternated case by case" in text.splitlines()[1] and f"  {note}" in text


def test_case_interleave_asked_for_runs_whole_without_a_note(tmp_path):
    sides = _tick_tree(tmp_path, "before"), _tick_tree(tmp_path, "after")
    env = {**os.environ, "GATE_TEST_LOG": str(tmp_path / "calls.log")}
    report = run_gate(*sides, GatePlan(factor=1.5, rounds_min=3, max_rounds=3, interleave="case"), base_env=env)
    assert report.interleave == "case" and report.notes == ()
    assert _runs(tmp_path / "calls.log") == [("before", 12), ("after", 24), ("before", 24), ("after", 12)]


def test_an_unknown_interleave_is_refused_naming_it():
    from torchperf_core.errors import TorchperfError

    with pytest.raises(TorchperfError, match=r"^--interleave 'samples' is not one of sample, case$"):
        GatePlan(factor=1.1, interleave="samples")

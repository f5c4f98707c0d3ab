"""`torchperf continuous --metric instructions` (issue 12 item 4): each side counts once, judged by the
one count rule (`verdict.judge_counts`) at the benchmark's `count_tolerance`, shown beside the time.

The toy trees are test_gate.py's fake sides plus a `benchmarks/bench_instructions.py` whose
`Instructions.setup_cache()` returns fixed counts: the Callgrind collector is replaced (no valgrind
here), everything else is real (the child process with the side's interpreter in the side's tree,
the worker's rounds, the pairing with a time case of the same op). The toy collector answers only
when TORCHPERF_METRICS asks for instructions, as the suite's does, so the switch is tested too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.test_gate import _env, _tree
from torchperf_core.commands.continuous import wants_counts
from torchperf_core.gate import (COUNT_BENCHMARK, GatePlan, GateSide, add_counts, collect_side, judge_sides, render_gate,
                                  run_gate)
from torchperf_core.gate.counts import counts_env, key_values
from torchperf_core.verdict import per_case_alpha

TOY_COUNTER = '''
import os

COUNTS = {counts!r}


class Instructions:
    params = [list(COUNTS)]
    param_names = ["case"]

    def setup_cache(self):
        if {error!r}:
            raise RuntimeError({error!r})
        if "instructions" not in os.environ.get("TORCHPERF_METRICS", "").split(","):
            return {{}}
        return {{label: {{"value": v, "capability": "AVX2"}} for label, v in COUNTS.items()}}

    def setup(self, cache, case):
        if not cache:
            raise NotImplementedError("not requested")

    def track_instructions(self, cache, case):
        return float(cache[case]["value"])

    track_instructions.unit = "instructions"
    track_instructions.version = "2"
    track_instructions.count_tolerance = {tolerance!r}
    track_instructions.cases = {{"('mm 64 float32')": {{"op": "mm", "params": {{"size": "64", "dtype": "'float32'"}}}}}}
'''

# A time case of the same op and inputs as the count 'mm 64 float32' (the pairing's key: op, size, dtype).
TOY_MM = '''
class Mm:
    op = "mm"
    params = [[64], ["float32"]]
    param_names = ["size", "dtype"]

    def track_mm(self, size, dtype):
        return {"samples": [2e-5] * 6, "number": 1}
'''

BEFORE = {"add 1024 float32": 11650.0, "mm 64 float32": 4_000_000.0}
AFTER = {"add 1024 float32": 11650.0, "mm 64 float32": 4_200_000.0}  # +5% on one label, 0 on the other


def _side(root: Path, name: str, counts: dict[str, float] | None, tolerance: str = "1%", error: str = "") -> GateSide:
    bench = _tree(root, name)
    (bench / "bench_mm.py").write_text(TOY_MM)
    if counts is not None:
        (bench / "bench_instructions.py").write_text(TOY_COUNTER.format(counts=counts, tolerance=tolerance, error=error))
    return GateSide(name, sys.executable, bench)


def _gate(tmp_path: Path, before: GateSide, after: GateSide):
    plan = GatePlan(factor=1.07, rounds_min=3, batch=2, max_rounds=3, bench="steady|Mm|Instructions", instructions=True)
    env = {**_env(tmp_path), "TORCHPERF_METRICS": "time"}  # the gate must switch counting on itself
    timed = run_gate(before, after, plan, base_env=env)
    return timed, add_counts(timed, base_env=env)


def test_counts_judged_exit_1_and_rendered_exactly_with_toy_counter(tmp_path):
    """Bugs caught: before/after swapped (mm would read faster, 0.952), the count cases left out of
    the exit code, the Instructions cases timed in the rounds (both-failed rows), the pairing lost."""
    timed, report = _gate(tmp_path, _side(tmp_path, "before", BEFORE), _side(tmp_path, "after", AFTER))
    assert {c.name: c.verdict for c in timed.cases} == {"bench_fake.Fake.track_fake('steady')": "same",
                                                         "bench_mm.Mm.track_mm(64, 'float32')": "same"}
    assert timed.exit_code == 0 and report.exit_code == 1 and report.notes == ()
    by = {c.name: c for c in report.cases}
    mm_count = by[f"{COUNT_BENCHMARK}('mm 64 float32')"]
    add_count = by[f"{COUNT_BENCHMARK}('add 1024 float32')"]
    assert (mm_count.verdict, mm_count.before, mm_count.after, mm_count.unit) == ("slower", 4e6, 4.2e6, "instructions")
    assert mm_count.ratio == pytest.approx(1.05) and mm_count.tolerance == "1%" and mm_count.rounds == 0
    assert (add_count.verdict, add_count.ratio) == ("same", 1.0)
    beside = by["bench_mm.Mm.track_mm(64, 'float32')"].instructions
    assert (beside.name, beside.verdict, beside.ratio, beside.reading) == (
        mm_count.name, "slower", pytest.approx(1.05), "more_work_unseen")
    assert by["bench_fake.Fake.track_fake('steady')"].instructions is None

    text = render_gate(report, "text").splitlines()
    assert text[0] == "torchperf continuous: REGRESSION: 1 slower"
    at = text.index("Instruction counts (instructions per call, counted once per side under valgrind; same within 1% "
                    "of before):")
    assert text[at + 1:at + 5] == [
        "   Verdict     Before      After  Ratio  Benchmark (Parameter)",
        "-  -------  ---------  ---------  -----  " + "-" * 70,  # the longest name, the add row's
        "+  slower   4,000,000  4,200,000  1.050  bench_instructions.Instructions.track_instructions('mm 64 float32')",
        "   same        11,650     11,650  1.000  bench_instructions.Instructions.track_instructions('add 1024 float32')",
    ]
    mm_row = next(line for line in text if line.endswith("bench_mm.Mm.track_mm(64, 'float32')"))
    assert mm_row.split()[:7] == ["same", "20", "µs", "20", "µs", "1.000", "1.050"] and " slower " in mm_row
    assert ("  bench_mm.Mm.track_mm(64, 'float32'): time 1.000 same, instructions 1.050 slower → more work below the "
            "wall-clock noise floor: the code path changed") in text

    markdown = render_gate(report, "markdown")
    assert ("| + | slower | 4,000,000 | 4,200,000 | 1.050 | "
            "`bench_instructions.Instructions.track_instructions('mm 64 float32')` |") in markdown.splitlines()
    data = json.loads(render_gate(report, "json"))
    assert data["exit_code"] == 1 and "notes" not in data
    cases = {(c["benchmark"], c["key"]): c for c in data["cases"]}
    count = cases[(COUNT_BENCHMARK, "('mm 64 float32')")]
    assert (count["verdict"], count["before"], count["after"], count["unit"], count["tolerance"]) == (
        "slower", 4e6, 4.2e6, "instructions", "1%")
    assert count["ratio"] == pytest.approx(1.05)
    paired = cases[("bench_mm.Mm.track_mm", "(64, 'float32')")]["instructions"]
    assert (paired["verdict"], paired["reading"]) == ("slower", "more_work_unseen")
    assert "unit" not in cases[("bench_fake.Fake.track_fake", "('steady')")]  # time rows read as before


def test_a_tree_without_the_count_benchmark_gives_a_note_and_no_count_rows(tmp_path):
    timed, report = _gate(tmp_path, _side(tmp_path, "before", BEFORE), _side(tmp_path, "after", None))
    assert report.notes == ("no instruction-count benchmark in after",)
    assert report.cases == timed.cases and report.exit_code == 0  # the timing verdicts stand, nothing else
    assert all(not c.benchmark.startswith("bench_instructions") for c in report.cases)  # not even only-before
    text = render_gate(report, "text").splitlines()
    assert "  no instruction-count benchmark in after" in text and not any("Instruction counts" in t for t in text)
    assert json.loads(render_gate(report, "json"))["notes"] == ["no instruction-count benchmark in after"]


def test_a_failing_collector_is_one_note_and_the_timing_verdicts_stand_toy_counter(tmp_path):
    """The engine's valgrind message reaches the report as it is, on one line."""
    hint = "valgrind not found on PATH; install valgrind (Debian/Ubuntu: apt-get install valgrind) to count instructions"
    timed, report = _gate(tmp_path, _side(tmp_path, "before", BEFORE), _side(tmp_path, "after", AFTER, error=hint))
    assert report.notes == (f"no instruction counts for after: {hint}",)
    assert report.cases == timed.cases and report.exit_code == 0


@pytest.mark.parametrize("tolerance,verdict", [("1%", "same"), ("0.1%", "slower"), ("100", "slower"), ("50000", "same")])
def test_the_benchmarks_count_tolerance_is_the_one_used_toy_counter(tmp_path, tolerance, verdict):
    """+0.5% (+20,000 instructions on 4 M): same at 1%, slower at 0.1%; in instructions too.
    Bug caught: the tolerance ignored (the default 1% always)."""
    before = _side(tmp_path, "before", {"mm 64 float32": 4_000_000.0}, tolerance=tolerance)
    after = _side(tmp_path, "after", {"mm 64 float32": 4_020_000.0}, tolerance=tolerance)
    plan = GatePlan(factor=1.07)
    (case,) = judge_sides(*(collect_side(s, counts_env(s, _env(tmp_path), plan)) for s in (before, after)))
    assert (case.verdict, case.tolerance) == (verdict, tolerance if tolerance.endswith("%") else f"{tolerance} instructions")


def test_the_base_sides_tolerance_judges_the_head_toy_counter(tmp_path):
    """A pull request that loosens its own count_tolerance to 50% is still judged at the base's 1%."""
    before = _side(tmp_path, "before", BEFORE, tolerance="1%")
    after = _side(tmp_path, "after", AFTER, tolerance="50%")
    plan = GatePlan(factor=1.07)
    cases = judge_sides(*(collect_side(s, counts_env(s, _env(tmp_path), plan)) for s in (before, after)))
    assert {c.key: (c.verdict, c.tolerance) for c in cases} == {"('add 1024 float32')": ("same", "1%"),
                                                                "('mm 64 float32')": ("slower", "1%")}


def test_the_switch_metric_flag_or_the_suites_environment_variable():
    assert wants_counts("instructions", {}) is True
    assert wants_counts(None, {"TORCHPERF_METRICS": "time, instructions"}) is True
    assert wants_counts(None, {"TORCHPERF_METRICS": "time"}) is False and wants_counts(None, {}) is False
    assert wants_counts("time", {"TORCHPERF_METRICS": "instructions"}) is False  # the flag wins


def test_key_values_splits_asv_keys_as_written():
    assert key_values("(64, 'float32')") == ("64", "'float32'")
    assert key_values("('mm 64 float32')") == ("'mm 64 float32'",)
    assert key_values("()") == ()
    assert key_values("(<object at 0x1>)") is None


def test_a_time_only_gate_leaves_the_count_cases_out_of_the_rounds(tmp_path):
    """Without --metric instructions the Instructions cases are neither timed (they only failed: 14
    'both failed' rows in a default-tier gate) nor counted, nor in the per-case alpha."""
    plan = GatePlan(factor=1.07, rounds_min=3, batch=2, max_rounds=3, bench="steady|Mm|Instructions")
    before, after = _side(tmp_path, "before", BEFORE), _side(tmp_path, "after", AFTER)
    timed = run_gate(before, after, plan, base_env={**_env(tmp_path), "TORCHPERF_METRICS": "time"})
    assert {c.name: c.verdict for c in timed.cases} == {"bench_fake.Fake.track_fake('steady')": "same",
                                                         "bench_mm.Mm.track_mm(64, 'float32')": "same"}
    assert timed.alpha == per_case_alpha(2, plan.looks)

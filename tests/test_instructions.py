"""Instruction counts: the Callgrind parsing and differencing, the count rule, the asv gate, and real
valgrind on tiny cases (slow; skipped with a message only where valgrind is not installed).

Counts are deterministic, so the real-valgrind bounds below (A/A spread < 1%, 2x work -> ratio in
[1.8, 2.2]) are properties of the count, not timing thresholds.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from torchperf_core.compare import SLOWER, pair_rows
from torchperf_core.engine import InstructionCase, InstructionCount, collect_instructions, default_calls
from torchperf_core.engine.instructions import (_counted_totals, heap_layout_ir, parse_callgrind_totals,
                                                per_call_counts, split_parts)
from torchperf_core.errors import TorchperfError
from torchperf_core.store import Sample
from torchperf_core.verdict import FAILED, FASTER, SAME, judge_counts, parse_tolerance

ROOT = Path(__file__).resolve().parents[1]
NO_VALGRIND = "valgrind not installed: `make valgrind` (apt-get install valgrind) installs it; instruction tests skipped"

# A callgrind dump as valgrind 3.19 writes it after a client-request dump (trimmed).
DUMP = """# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 32212
cmd:  /work/main/.venv/bin/python child.py
part: 2


desc: I1 cache:
desc: Trigger: Client Request
positions: line
events: Ir
summary: 129723
fl=(1) ???
fn=(1) 0x0000000000004b40
0 7
totals: 129723
"""


def test_callgrind_totals_and_part_are_read_from_a_dump() -> None:
    assert parse_callgrind_totals(DUMP) == (2, 129723)
    assert parse_callgrind_totals("events: Ir\ntotals: 5\n") == (None, 5)
    with pytest.raises(TorchperfError, match="no totals"):
        parse_callgrind_totals("events: Ir\n")


# Two dumps as callgrind writes them: part 1 defines the compressed names, part 2 only uses the ids.
# Part 1: at::add calls _int_malloc and __memcmp_avx2_movbe; _int_malloc's own 30+10 and memcmp's 5
# are heap-layout Ir; the line after each calls= is an inclusive call cost (mmap's 50): not self Ir.
PART1 = """events: Ir
part: 1
totals: 200
ob=(1) /usr/lib/x86_64-linux-gnu/libc.so.6
fn=(1) at::add
0 100
cfn=(2) _int_malloc
calls=1 0
0 40
cfn=(3) __memcmp_avx2_movbe
calls=1 0
0 5
fn=(2)
0 30
cfn=(6) mmap
calls=1 0
+1 50
+1 10
fn=(3)
0 5
fn=(4) unlink_chunk.constprop.0
* 2
fn=(5) malloc
0 8
"""
PART2 = """events: Ir
part: 2
totals: 90
fn=(1)
0 70
fn=(2)
0 20
"""


def test_heap_layout_functions_are_subtracted_with_names_shared_across_parts(tmp_path: Path) -> None:
    names: dict[str, str] = {}
    assert heap_layout_ir(PART1, names) == 30 + 10 + 5 + 2  # malloc's entry point (tcache) stays counted
    assert names["2"] == "_int_malloc"
    assert heap_layout_ir(PART2, names) == 20  # "(2)" resolved from part 1
    assert heap_layout_ir(PART2, {}) == 0  # an unknown id is not guessed
    (tmp_path / "callgrind.out.2").write_text(PART2)
    (tmp_path / "callgrind.out.1").write_text(PART1)
    (tmp_path / "callgrind.out").write_text("events: Ir\ntotals: 999\n")  # the final dump: no part, ignored
    assert _counted_totals(tmp_path) == {1: 200 - 47, 2: 90 - 20}


def test_per_call_count_subtracts_the_empty_region() -> None:
    assert per_call_counts([1000, 1010], [21000, 21010], 10) == (2000.0, 2000.0)
    with pytest.raises(ValueError):
        per_call_counts([1], [2, 3], 1)


def test_dump_parts_map_to_cases_and_the_warm_repeat_is_dropped() -> None:
    # 2 cases x (1 warm + 2 counted) repeats x (empty, loaded) = 12 parts, numbered from 1.
    totals = {p: p * 100 for p in range(1, 13)}
    assert split_parts(totals, n_cases=2, repeats=2) == [([300, 500], [400, 600]), ([900, 1100], [1000, 1200])]
    del totals[7]
    with pytest.raises(TorchperfError, match="missing part 7"):
        split_parts(totals, n_cases=2, repeats=2)


def test_calls_per_repeat_follow_the_op_size() -> None:
    """~2.5 M instructions per repeat: 15k dispatch + FLOPs/16 per call, at least 3 calls."""
    assert default_calls("mm", "64") == 52  # 2.5e6 / (15000 + 2·64³/16)
    assert default_calls("add", "M=1,N=1024") == 166  # 2.5e6 / (15000 + 1024/16)
    assert default_calls("mm", 2048) == 3


def _count(per_call: tuple[float, ...]) -> InstructionCount:
    return InstructionCount(case=InstructionCase("add", "M=1,N=1024", calls=100), per_call=per_call,
                            capability="AVX2", onednn_isa=None, python="/env/bin/python", valgrind="valgrind-3.19.0")


def test_count_value_is_the_median_and_spread_is_range_over_median() -> None:
    c = _count((1000.0, 1010.0, 990.0))
    assert c.value == 1000.0
    assert c.spread == pytest.approx(0.02)
    assert _count((100.0, 300.0)).value == 200.0
    assert c.isa_label() == "ATen AVX2 under valgrind"


def test_a_count_is_judged_directly() -> None:
    assert judge_counts(_count((1000.0,)), _count((1020.0,))) == (SLOWER, False)
    assert judge_counts(_count((1000.0,)), _count((1005.0,))) == (SAME, False)


def test_count_json_round_trips_and_another_version_is_refused() -> None:
    c = _count((1000.0, 1010.0, 990.0))
    data = json.loads(json.dumps(c.to_json()))
    assert InstructionCount.from_json(data) == c
    data["format_version"] = 99
    with pytest.raises(TorchperfError, match="format_version 99"):
        InstructionCount.from_json(data)
    data["format_version"] = 1  # counted with malloc's bins and memcmp: not comparable, refused
    with pytest.raises(TorchperfError, match="format_version 1 is not 2"):
        InstructionCount.from_json(data)


class _Side:
    def __init__(self, value: float | None, version: str | None = "1") -> None:
        self.value, self.stats, self.samples, self.version = value, None, None, version

    @property
    def is_missing(self) -> bool:
        return self.value is None


@pytest.mark.parametrize(("before", "after", "tolerance", "verdict"), [
    (100_000, 101_001, "1%", SLOWER),  # just beyond 1%
    (100_000, 101_000, "1%", SAME),  # exactly 1% is within
    (100_000, 98_999, "1%", FASTER),
    (100_000, 102_000, "2500", SAME),  # absolute tolerance in instructions
    (100_000, 102_501, "2500", SLOWER),
    (100_000, None, "1%", FAILED),
])  # fmt: skip
def test_counts_are_judged_against_the_tolerance(before: float, after: float | None, tolerance: str,
                                                 verdict: str) -> None:
    assert judge_counts(_Side(before), _Side(after), tolerance) == (verdict, False)


@pytest.mark.parametrize("bad", ["", "1 %%", "-1%", "100%", "abc", "1e3"])
def test_a_bad_tolerance_is_refused_naming_it(bad: str) -> None:
    with pytest.raises(TorchperfError, match=f"tolerance {bad!r}"):
        parse_tolerance(bad)


def test_compare_judges_an_instructions_benchmark_by_its_tolerance() -> None:
    """+2% instructions: the count rule says slower; the seconds rule (factor 1.07) would say same."""
    key = ("bench_instructions.Instructions.track_instructions", (("case", "'add'"),), "env")
    before, after = {key: Sample(100_000.0, None, None, "1")}, {key: Sample(102_000.0, None, None, "1")}
    counted = pair_rows(before, after, {key[0]: {"unit": "instructions"}}, 1.07)
    timed = pair_rows(before, after, {key[0]: {"unit": "seconds"}}, 1.07)
    assert counted[0].verdict == SLOWER and counted[0].unit == "instructions"
    assert timed[0].verdict == SAME
    loose = pair_rows(before, after, {key[0]: {"unit": "instructions", "count_tolerance": "3%"}}, 1.07)
    assert loose[0].verdict == SAME


def test_the_asv_module_is_opt_in_and_import_cheap() -> None:
    code = ("import sys, json; sys.path.insert(0, '.'); import benchmarks.bench_instructions as b; "
            "i = b.Instructions(); c = i.setup_cache()\n"
            "try:\n    i.setup(c, b.CURATED[0][0]); print('ran')\n"
            "except NotImplementedError as e:\n    print(json.dumps([str(e), 'torch' in sys.modules, "
            "b.Instructions.track_instructions.unit]))\n")
    env = {k: v for k, v in os.environ.items() if k != "TORCHPERF_METRICS"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["instruction counts not requested: set TORCHPERF_METRICS=instructions",
                                       False, "instructions"]


def test_without_valgrind_on_path_the_error_says_how_to_install(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no valgrind
    with pytest.raises(TorchperfError, match="apt-get install valgrind"):
        collect_instructions([InstructionCase("add", "M=1,N=1024")])


def test_bad_metric_and_non_cpu_device_are_one_line_errors() -> None:
    for argv, text in ((["mm", "--metric", "cycles"], "unknown --metric 'cycles'; accepted: time, instructions"),
                       (["mm", "--metric", "instructions", "--device", "cuda"], "--device 'cuda' is not cpu")):
        proc = subprocess.run([sys.executable, "-m", "torchperf_core", "bench", *argv], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2
        assert text in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------------------------------
# Real valgrind.


def _python_shim_first_on_path(tmp_path: Path) -> str:
    """A PATH whose first `python`/`python3` is an interpreter that only exits 1 (the pitfall)."""
    shim = tmp_path / "shim"
    shim.mkdir()
    for name in ("python", "python3"):
        (shim / name).write_text("#!/bin/sh\necho 'wrong interpreter: the first python on PATH' >&2\nexit 1\n")
        (shim / name).chmod(0o755)
    return f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.mark.slow
def test_real_callgrind_counts_are_stable_and_scale_with_work(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    """One Callgrind child (~1-2 min): A/A spread, 2x the work, and the PATH pitfall together."""
    if shutil.which("valgrind") is None:
        pytest.skip(NO_VALGRIND)
    monkeypatch.setenv("PATH", _python_shim_first_on_path(tmp_path))
    assert shutil.which("python") == str(tmp_path / "shim" / "python")
    tiny, work, work2 = collect_instructions([
        InstructionCase("add", "M=1,N=1024", calls=100),
        InstructionCase("add", "M=1,N=262144", calls=5),
        InstructionCase("add", "M=1,N=524288", calls=5),
    ], repeats=3)  # fmt: skip
    assert tiny.python == os.path.abspath(sys.executable)  # the env's own interpreter ran, not the shim
    for c in (tiny, work, work2):
        assert len(c.per_call) == 3 and min(c.per_call) > 0
        assert c.spread < 0.01, c.per_call
        assert c.capability is not None and c.capability != "AVX512"  # valgrind has no AVX-512
    assert 1.8 <= work2.value / work.value <= 2.2
    assert not math.isclose(tiny.value, work.value)


@pytest.mark.slow
def test_bench_metric_instructions_end_to_end(tmp_path: Path) -> None:
    if shutil.which("valgrind") is None:
        pytest.skip(NO_VALGRIND)
    env = dict(os.environ, PATH=_python_shim_first_on_path(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "torchperf_core", "bench", "mm", "--size", "64", "--metric",
                           "instructions", "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (count,) = json.loads(proc.stdout)
    # calls per repeat: ~2.5 M instructions estimated from the FLOPs (15k + 2·64³/16 per call -> 52)
    assert count["case"] == {"op": "mm", "size": "64", "dtype": "float32", "layout": "contiguous", "calls": 52}
    assert count["value"] > 0 and count["spread"] < 0.01
    assert count["python"] == os.path.abspath(sys.executable)
    assert count["capability"] not in (None, "AVX512")
    assert count["valgrind"].startswith("valgrind-")

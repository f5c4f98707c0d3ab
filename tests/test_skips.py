"""Skip reasons, re-derived from the suite's own rules (asv keeps only NaN)."""

from pathlib import Path

from torchperf_core.run.skips import RUNTIME, skip_reasons

ROOT = Path(__file__).resolve().parents[1]


def test_static_reasons_come_from_the_suite_and_runtime_ones_say_so():
    benchmarks = {
        "bench_matmul.MM.track_mm": {"op": "mm", "param_names": ["size", "dtype", "layout", "device"]},
        "bench_memory.Sum.track_sum": {"op": "sum", "param_names": ["size", "dtype", "device"]},
    }
    cases = [
        ("bench_matmul.MM.track_mm", "(8192, 'float32', 'contiguous', 'cpu')"),
        ("bench_matmul.MM.track_mm", "(1024, 'float16', 'contiguous', 'cpu')"),
        ("bench_matmul.MM.track_mm", "(256, 'tf32', 'contiguous', 'cpu')"),
        ("bench_memory.Sum.track_sum", "(1024, 'float32', 'cpu')"),
        ("bench_unknown.X.track_x", "(1,)"),
    ]
    reasons = skip_reasons(ROOT, benchmarks, cases, "default")
    assert "above the cpu limit 4096" in reasons[cases[0]]
    assert "float16 on cpu above 512 is slow" in reasons[cases[1]]
    assert "tf32" in reasons[cases[2]] and "cuda" in reasons[cases[2]]
    assert reasons[cases[3]] == RUNTIME  # statically fine: it was skipped for a run-time reason
    assert reasons[cases[4]] == RUNTIME


def test_without_a_suite_every_reason_is_the_runtime_note(tmp_path):
    reasons = skip_reasons(tmp_path, {}, [("b.C.track_x", "(1, 'float32')")], "smoke")
    assert reasons == {("b.C.track_x", "(1, 'float32')"): RUNTIME}


def test_an_instruction_count_case_says_whether_counts_were_requested(monkeypatch):
    benchmarks = {"bench_instructions.Instructions.track_instructions": {"unit": "instructions"}}
    case = [("bench_instructions.Instructions.track_instructions", "('add 1024 float32',)")]
    monkeypatch.delenv("TORCHPERF_METRICS", raising=False)
    assert skip_reasons(ROOT, benchmarks, case, "smoke")[case[0]] == (
        "instruction counts not requested: set TORCHPERF_METRICS=instructions")
    monkeypatch.setenv("TORCHPERF_METRICS", "time,instructions")
    assert skip_reasons(ROOT, benchmarks, case, "smoke")[case[0]].startswith("instruction counts need valgrind")

"""Both metrics side by side (issue 12): a wall-clock row shows the instruction-count row of the same
case (same environment, op and parameters, from benchmarks.json's `op` and `cases`), the reading
guide says what the pair means, and a comparison of times alone renders exactly as before.

The fixture is the real asv results of tests/fixtures/compare_run_v1 (replicated, as test_compare's
goldens are) plus: `op = "mm"` on bench_toy.MatMul.time_mm, and an instruction-count benchmark whose
two cases declare mm 256 float32 / bfloat16, counted in the torch 2.13.0 environment only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.compare_helpers import BASE, GOLDEN, HEAD, ROOT, copy_fixture, replicate, results_file, run_cli, scale_result, set_case
from torchperf_core import compare as cmp

TIME = "bench_toy.MatMul.time_mm"
COUNTS = "bench_toy.Instructions.track_instructions"
ENV = "virtualenv-py3.11-torch2.13.0"
F32, BF16 = "'mm 256 float32'", "'mm 256 bfloat16'"
CASES = {
    f"({F32})": {"op": "mm", "params": {"size": "256", "dtype": "'float32'"}},
    f"({BF16})": {"op": "mm", "params": {"size": "256", "dtype": "'bfloat16'", "device": "'cpu'"}},
}


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def _golden_run(tmp_path: Path) -> Path:
    """The results behind tests/golden/compare_commits.txt (test_compare's `replicated` fixture)."""
    run = copy_fixture(tmp_path)
    set_case(run, results_file(run, HEAD, "2.14.1"), "bench_toy.Work.time_work", "('steady', 2)", contended=True)
    set_case(run, results_file(run, HEAD, "2.13.0"), "bench_toy.Work.time_work", "('slower', 1)", drop=True)
    return run


def _declare(run: Path, *, counts: bool) -> None:
    """`op` on the mm benchmark (as benchmarks/common.annotate writes it); the count benchmark if asked."""
    path = run / "results" / "benchmarks.json"
    data = json.loads(path.read_text())
    data[TIME]["op"] = "mm"
    if counts:
        data[COUNTS] = {"name": COUNTS, "type": "track", "unit": "instructions", "version": "1", "count_tolerance": "1%",
                        "param_names": ["case"], "params": [[F32, BF16]], "cases": CASES}
    path.write_text(json.dumps(data))


def _add_counts(path: Path, f32: float, bf16: float) -> None:
    """A `track_` result as asv stores it: values and params, no statistics."""
    data = json.loads(path.read_text())
    width = len(data["result_columns"])
    row = [[f32, bf16], [[F32, BF16]], "1", 1795552262811, 1.0] + [None] * (width - 5)
    data["results"][COUNTS] = row
    path.write_text(json.dumps(data))


def _run_with_counts(tmp_path: Path, after_f32: float) -> Path:
    """mm float32 1.5x slower at head in torch 2.13.0 (decided: 3 runs a side); its count
    1,000,000 -> `after_f32`; bf16 count 2,000,000 on both sides."""
    run = _golden_run(tmp_path)
    scale_result(results_file(run, HEAD, "2.13.0"), TIME, 0, 1.5)  # index 0: ('float32', 256)
    replicate(run)
    set_case(run, results_file(run, HEAD, "2.13.0"), "bench_toy.Work.time_work", "('slower', 1)", drop=True)
    _add_counts(results_file(run, BASE, "2.13.0"), 1_000_000, 2_000_000)
    _add_counts(results_file(run, HEAD, "2.13.0"), after_f32, 2_000_000)
    _declare(run, counts=True)
    return run


def _compare(capsys, run: Path, *extra: str) -> tuple[int, str]:
    code, out, err = run_cli(capsys, "compare", BASE, HEAD, "--results-dir", str(run / "results"), "--env", ENV, *extra)
    assert err == ""
    return code, out


HEADER = ("   Before [b8a3a8cb]  After [b151c94f]  Ratio  Instr ratio  Instr verdict       Runs  GFLOP/s    "
          "Benchmark (Parameter)                                         Environment")
BF16_ROW = ("?           4.27±4ms       7.38±0.01ms  ~1.73         1.00  same           3/3 ±1.0%  7.9 → 4.5  "
            "bench_toy.MatMul.time_mm('bfloat16', 256)                     virtualenv-py3.11-torch2.13.0")


def test_both_slower_reads_more_work(tmp_path, capsys):
    code, out = _compare(capsys, _run_with_counts(tmp_path, 1_050_000))
    assert code == 1
    lines = out.splitlines()
    assert HEADER in lines and BF16_ROW in lines
    assert ("+         15.4±0.1ms       23.3±0.08ms   1.51         1.05  slower         3/3 ±1.0%  2.2 → 1.4  "
            "bench_toy.MatMul.time_mm('float32', 256)                      virtualenv-py3.11-torch2.13.0") in lines
    # the count row is still listed on its own, as before, with its own verdict; it has no pair itself
    assert ("+          1000000.0         1050000.0   1.05            —  —                    1/1  —          "
            "bench_toy.Instructions.track_instructions('mm 256 float32')   virtualenv-py3.11-torch2.13.0") in lines
    # a time row without a count of its case: "—"
    assert ("+           4.00±0ms          6.00±0ms   1.50            —  —              3/3 ±1.0%  0.5 → 0.3  "
            "bench_toy.Work.time_work('slower', 2)                         virtualenv-py3.11-torch2.13.0") in lines
    i = lines.index("Time and instructions of the same case:")
    assert lines[i + 1:i + 3] == [
        "  bench_toy.MatMul.time_mm('float32', 256) [virtualenv-py3.11-torch2.13.0]: time 1.51 slower, "
        "instructions 1.05 slower → more work: the code path changed",
        "",
    ]
    assert lines[-1] == ("Instr ratio / Instr verdict: the instruction-count row of the same op and parameters "
                         "(1 thread, under valgrind), after/before, judged by its tolerance; that row is also listed on its own")


def test_time_slower_instructions_same_reads_wall_clock_only(tmp_path, capsys):
    code, out = _compare(capsys, _run_with_counts(tmp_path, 1_004_000))  # +0.4%: within the 1% tolerance
    assert code == 1  # the time regression still fails the gate: the reading explains, it does not excuse
    lines = out.splitlines()
    assert ("+         15.4±0.1ms       23.3±0.08ms   1.51         1.00  same           3/3 ±1.0%  2.2 → 1.4  "
            "bench_toy.MatMul.time_mm('float32', 256)                      virtualenv-py3.11-torch2.13.0") in lines
    assert BF16_ROW in lines  # unknown time, same count: nothing to read, so no line for it
    i = lines.index("Time and instructions of the same case:")
    assert lines[i + 1:i + 3] == [
        "  bench_toy.MatMul.time_mm('float32', 256) [virtualenv-py3.11-torch2.13.0]: time 1.51 slower, "
        "instructions 1.00 same → wall-clock only: memory/frequency/contention, not more work",
        "",
    ]


def test_json_fields_exact_and_only_on_paired_rows(tmp_path, capsys):
    code, out = _compare(capsys, _run_with_counts(tmp_path, 1_050_000), "--format", "json")
    data = json.loads(out)
    assert data["format_version"] == 2 and data["exit_code"] == code == 1
    rows = {r["name"]: r for r in data["rows"]}
    f32 = rows["bench_toy.MatMul.time_mm('float32', 256)"]
    instr = {k: v for k, v in f32.items() if k.startswith("instr_") or k.startswith("reading")}
    assert instr == {
        "instr_row": "bench_toy.Instructions.track_instructions('mm 256 float32')",
        "instr_before": 1_000_000.0, "instr_after": 1_050_000.0, "instr_ratio": 1.05,
        "instr_verdict": "slower", "instr_mark": "+",
        "reading": "more_work", "reading_text": "more work: the code path changed",
    }
    bf16 = rows["bench_toy.MatMul.time_mm('bfloat16', 256)"]
    assert (bf16["instr_row"], bf16["instr_before"], bf16["instr_after"], bf16["instr_verdict"], bf16["reading"]) == (
        "bench_toy.Instructions.track_instructions('mm 256 bfloat16')", 2_000_000.0, 2_000_000.0, "same", None)
    # rows without a pair (the counts themselves, other benchmarks) gain no key at all
    for name in ("bench_toy.Instructions.track_instructions('mm 256 float32')", "bench_toy.time_plain"):
        assert not [k for k in rows[name] if k.startswith("instr_") or k.startswith("reading")]


def test_only_times_render_byte_identical_to_the_goldens(tmp_path, capsys):
    """`op` declared but no count benchmark: text, markdown and JSON are today's goldens, byte for byte."""
    run = _golden_run(tmp_path)
    _declare(run, counts=False)
    for fmt, ext in (("text", "txt"), ("markdown", "md"), ("json", "json")):
        code, out, err = run_cli(capsys, "compare", BASE, HEAD, "--results-dir", str(run / "results"), "--format", fmt)
        assert (code, err) == (1, "")
        assert out == (GOLDEN / f"compare_commits.{ext}").read_text(encoding="utf-8")


def test_counts_in_another_environment_do_not_pair(tmp_path, capsys):
    """The count was taken in torch 2.13.0 only: the torch 2.14.1 mm rows show no instruction columns."""
    run = _run_with_counts(tmp_path, 1_050_000)
    code, out, _ = run_cli(capsys, "compare", BASE, HEAD, "--results-dir", str(run / "results"), "--format", "json")
    paired = sorted((r["name"], r["env"]) for r in json.loads(out)["rows"] if "instr_ratio" in r)
    assert paired == [("bench_toy.MatMul.time_mm('bfloat16', 256)", ENV), ("bench_toy.MatMul.time_mm('float32', 256)", ENV)]


def test_markdown_has_the_columns_and_the_reading(tmp_path, capsys):
    _, out = _compare(capsys, _run_with_counts(tmp_path, 1_050_000), "--format", "markdown")
    lines = out.splitlines()
    assert "|:-:|---:|---:|---:|---:|---|---:|---|---|---|" in lines
    assert ("| 🔴 + | 15.4±0.1ms | 23.3±0.08ms | 1.51 | 1.05 | slower | 3/3 ±1.0% | 2.2 → 1.4 | "
            "`bench_toy.MatMul.time_mm('float32', 256)` | virtualenv-py3.11-torch2.13.0 |") in lines
    i = lines.index("**Time and instructions of the same case**")
    assert lines[i + 2] == ("- bench_toy.MatMul.time_mm('float32', 256) [virtualenv-py3.11-torch2.13.0]: time 1.51 slower, "
                            "instructions 1.05 slower → more work: the code path changed")


# --------------------------------------------------------------------------------------------------
# The match rule, on rows built directly: which parameter differences pair and which do not.


def _row(benchmark: str, params: dict[str, str], *, unit: str, verdict: str, before: float = 1.0, after: float = 1.0,
         env: str = ENV) -> cmp.Row:
    return cmp.Row(benchmark=benchmark, params=tuple(params.items()), env=env, before=before, after=after,
                   before_err=None, after_err=None, ratio=after / before, significant=False, beyond_factor_only=False,
                   verdict=verdict, unit=unit)


def _time(params: dict[str, str], verdict: str = cmp.SLOWER) -> cmp.Row:
    return _row(TIME, params, unit="seconds", verdict=verdict, after=1.5)


def _count(case: str, verdict: str, after: float) -> cmp.Row:
    return _row(COUNTS, {"case": case}, unit="instructions", verdict=verdict, before=1e6, after=after)


META = {TIME: {"op": "mm", "unit": "seconds"}, COUNTS: {"unit": "instructions", "cases": CASES}}


def test_match_needs_same_op_params_after_implied_defaults():
    f32, bf16 = _count(F32, cmp.SAME, 1e6), _count(BF16, cmp.SLOWER, 1.1e6)
    explicit = _time({"size": "256", "dtype": "'float32'", "layout": "'contiguous'", "device": "'cpu'"})
    transposed = _time({"size": "256", "dtype": "'float32'", "layout": "'At'", "device": "'cpu'"})
    cuda = _time({"size": "256", "dtype": "'bfloat16'", "device": "'cuda'"})
    other_size = _time({"size": "1024", "dtype": "'float32'"})
    extra = _time({"size": "256", "dtype": "'float32'", "threads": "1"})
    bf = _time({"size": "256", "dtype": "'bfloat16'"}, verdict=cmp.SAME)
    got = cmp.counts_beside([explicit, transposed, cuda, other_size, extra, bf, f32, bf16], META)
    assert [g.name if g else None for g in got] == [
        f"{COUNTS}({F32})", None, None, None, None, f"{COUNTS}({BF16})", None, None]
    assert (got[0].ratio, got[0].verdict, got[0].reading) == (1.0, cmp.SAME, cmp.WALL_CLOCK_ONLY)
    assert (got[5].before, got[5].after, got[5].verdict, got[5].reading) == (1e6, 1.1e6, cmp.SLOWER, cmp.MORE_WORK_UNSEEN)


def test_no_op_no_cases_or_two_cases_for_one_key_pair_nothing():
    t = _time({"size": "256", "dtype": "'float32'"})
    f32 = _count(F32, cmp.SLOWER, 1.1e6)
    assert cmp.counts_beside([t, f32], {TIME: {"unit": "seconds"}, COUNTS: META[COUNTS]}) == (None, None)
    assert cmp.counts_beside([t, f32], {TIME: META[TIME], COUNTS: {"unit": "instructions"}}) == (None, None)
    twice = {**META, COUNTS: {"unit": "instructions", "cases": {**CASES, f"({BF16})": CASES[f"({F32})"]}}}
    assert cmp.counts_beside([t, f32, _count(BF16, cmp.SAME, 1e6)], twice) == (None, None, None)


@pytest.mark.parametrize("time_verdict,count_verdict,expected", [
    (cmp.SLOWER, cmp.SLOWER, cmp.MORE_WORK),
    (cmp.SLOWER, cmp.SAME, cmp.WALL_CLOCK_ONLY),
    (cmp.SLOWER, cmp.FASTER, cmp.WALL_CLOCK_ONLY),
    (cmp.SAME, cmp.SLOWER, cmp.MORE_WORK_UNSEEN),
    (cmp.UNKNOWN, cmp.SLOWER, cmp.MORE_WORK_UNSEEN),
    (cmp.CONTENDED, cmp.SLOWER, cmp.MORE_WORK_UNSEEN),
    (cmp.SAME, cmp.SAME, None),
    (cmp.UNKNOWN, cmp.SAME, None),
    (cmp.FASTER, cmp.SAME, None),
    (cmp.ONLY_AFTER, cmp.SLOWER, None),
])
def test_reading_for_each_verdict_pair(time_verdict, count_verdict, expected):
    t = _time({"size": "256", "dtype": "'float32'"}, verdict=time_verdict)
    (got, _) = cmp.counts_beside([t, _count(F32, count_verdict, 1e6)], META)
    assert got.reading == expected


def test_the_suites_own_metadata_pairs_its_count_cases_with_their_wall_clock_twins():
    """The real benchmarks (not a fixture): bench_instructions' `cases` and bench_matmul's `op` pair mm
    64 float32 with MM.track_mm(64, 'float32', 'contiguous', 'cpu'); add 1024 (a 1×1024 row) has no
    twin. Bug caught: `cases` missing or keyed unlike asv's parameter key, or sizes left as "M=n,N=n"."""
    from benchmarks import bench_instructions, bench_matmul

    meta = {
        "bench_matmul.MM.track_mm": {"op": bench_matmul.MM.track_mm.op, "unit": "seconds"},
        "bench_instructions.Instructions.track_instructions": {
            "unit": "instructions", "cases": bench_instructions.Instructions.track_instructions.cases},
    }  # fmt: skip
    assert len(meta["bench_instructions.Instructions.track_instructions"]["cases"]) == len(bench_instructions.CURATED)
    mm = cmp.Row(benchmark="bench_matmul.MM.track_mm", params=(("size", "64"), ("dtype", "'float32'"),
                 ("layout", "'contiguous'"), ("device", "'cpu'")), env=ENV, before=1.0, after=1.5, before_err=None,
                 after_err=None, ratio=1.5, significant=True, beyond_factor_only=False, verdict=cmp.SLOWER, unit="seconds")
    counts = [cmp.Row(benchmark="bench_instructions.Instructions.track_instructions", params=(("case", repr(label)),),
                      env=ENV, before=1e6, after=1e6, before_err=None, after_err=None, ratio=1.0, significant=False,
                      beyond_factor_only=False, verdict=cmp.SAME, unit="instructions")
              for label in ("add 1024 float32", "mm 64 float32")]
    got = cmp.counts_beside([mm, *counts], meta)
    assert got[0] is not None and got[0].name == "bench_instructions.Instructions.track_instructions('mm 64 float32')"
    assert got[0].reading == cmp.WALL_CLOCK_ONLY and got[1:] == (None, None)

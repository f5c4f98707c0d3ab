"""scripts/gpu_check.py: the no-GPU exit here, and its accounting and rendering with the CUDA checks
replaced by fakes (this machine has no GPU; the real checks run on one: docs/GPU_CHECK.md)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gpu_check.py"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def _load():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_no_gpu_exits_0_with_the_no_gpu_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible: the no-GPU path does not apply")
    python = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable
    proc = subprocess.run([python, str(SCRIPT), "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0, "no GPU: nothing to check (torch.cuda.is_available() is False)\n", "")
    assert not (tmp_path / "out").exists()  # nothing measured, nothing written


def test_unknown_check_name_is_refused_with_exit_2(capsys):
    gc = _load()
    assert gc.main(["--check", "tf64"], cuda_available=lambda: True) == 2
    err = capsys.readouterr().err
    assert err == ("error: unknown check 'tf64'; accepted: fingerprint, doctor_nvidia, sync_clock, events_mode, "
                   "cold_l2, tf32, oom_skip, suite_cuda, torchperf_timings, utils_benchmark, triton_do_bench, "
                   "two_versions, gate_continuous\n")


CTX = object()  # stands in for the CUDA context: every fake check asserts it was handed this


def _fake_checks(gc, *, triton: bool):
    """Fake results in the real checks' shapes: mm 8192³ and mm 256² timed by every timer, add by
    torchperf only (its utils.benchmark row is missing, so its cells read "—")."""

    def fingerprint(ctx):
        assert ctx is CTX
        return [], {"fingerprint": {"format_version": 1, "device": "cuda:0"}}, "Fake H200, driver 570.1"

    def torchperf_timings(ctx):
        assert ctx is CTX
        return [], {"rows": {
            "mm 8192³ bf16": {"sync_s": 1.6e-3, "events_s": 1.5e-3, "cold_l2_sync_s": 1.7e-3, "cold_l2_events_s": 1.6e-3},
            "mm 256² bf16": {"sync_s": 12e-6, "events_s": 9e-6, "cold_l2_sync_s": 30e-6, "cold_l2_events_s": 10e-6},
            "add 4096 fp32": {"sync_s": 5e-6, "events_s": 2e-6, "cold_l2_sync_s": 20e-6, "cold_l2_events_s": 4e-6},
        }}, "3 ops"

    def utils_benchmark(ctx):
        return [], {"rows": {"mm 8192³ bf16": {"median_s": 1.68e-3}, "mm 256² bf16": {"median_s": 13.2e-6}}}, "2 ops"

    def triton_do_bench(ctx):
        if not triton:
            raise gc.Skip("triton is not importable (No module named 'triton')")
        return [], {"statistic": "median", "rows": {
            "mm 8192³ bf16": {"seconds": 1.648e-3}, "mm 256² bf16": {"seconds": 11e-6},
            "add 4096 fp32": {"seconds": 6e-6}}}, "3 ops, do_bench median"

    return [("fingerprint", fingerprint), ("torchperf_timings", torchperf_timings),
            ("utils_benchmark", utils_benchmark), ("triton_do_bench", triton_do_bench)]


def _fail_tf32(ctx):
    return ["tf32: precision read during the timing [('highest', False)], expected ('high', True)"], {"x": 1}, "unused"


def _crash(ctx):
    raise RuntimeError("CUDA error: an illegal memory access was encountered")


def _run(gc, tmp_path, checks, argv=()):
    code = gc.main(["--out", str(tmp_path), *argv], cuda_available=lambda: True, checks=checks, context=CTX)
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    return code, report


def test_check_table_with_mocked_gpu_results(tmp_path, capsys):
    """A failed check, a crashed one and a skipped one: exit 1, each reported as such, the table and
    the JSON hold exactly the fake figures (ratios: 1.68/1.6 = 1.05, 13.2/12 = 1.1)."""
    gc = _load()
    checks = _fake_checks(gc, triton=False) + [("tf32", _fail_tf32), ("oom_skip", _crash)]
    code, report = _run(gc, tmp_path, checks)
    assert code == 1
    assert capsys.readouterr().out == f"""\
[pass] fingerprint: Fake H200, driver 570.1
[pass] torchperf_timings: 3 ops
[pass] utils_benchmark: 2 ops
[skip] triton_do_bench: triton is not importable (No module named 'triton')
[fail] tf32: tf32: precision read during the timing [('highest', False)], expected ('high', True)
[fail] oom_skip: crashed: RuntimeError: CUDA error: an illegal memory access was encountered

op             torchperf sync  events  cold-L2 events  utils.benchmark  do_bench (not run)  utils.benchmark/sync  do_bench/cold-L2 events
-------------  --------------  ------  --------------  ---------------  ------------------  --------------------  -----------------------
mm 8192³ bf16          1.6 ms  1.5 ms          1.6 ms          1.68 ms                   —                ×1.050                        —
mm 256² bf16            12 µs    9 µs           10 µs          13.2 µs                   —                ×1.100                        —
add 4096 fp32            5 µs    2 µs            4 µs                —                   —                     —                        —

checks: 3 passed, 2 failed, 1 skipped
wrote {tmp_path / 'gpu_check.json'}
"""
    assert report["format_version"] == 1 and report["quick"] is False
    assert (report["summary"], report["exit_code"]) == ({"pass": 3, "fail": 2, "skip": 1}, 1)
    assert report["fingerprint"] == {"format_version": 1, "device": "cuda:0"}
    assert report["timings"][1] == {
        "op": "mm 256² bf16", "torchperf_sync_s": 12e-6, "torchperf_events_s": 9e-6, "torchperf_cold_l2_sync_s": 30e-6,
        "torchperf_cold_l2_events_s": 10e-6, "utils_benchmark_s": 13.2e-6, "do_bench_s": None, "do_bench_statistic": None}
    assert [r["op"] for r in report["timings"]] == ["mm 8192³ bf16", "mm 256² bf16", "add 4096 fp32"]
    by_name = {c["name"]: c for c in report["checks"]}
    assert [(c["name"], c["status"]) for c in report["checks"]] == [
        ("fingerprint", "pass"), ("torchperf_timings", "pass"), ("utils_benchmark", "pass"),
        ("triton_do_bench", "skip"), ("tf32", "fail"), ("oom_skip", "fail")]
    assert by_name["tf32"]["figures"] == {"x": 1}  # a failure keeps its figures
    assert by_name["triton_do_bench"]["figures"] == {}
    assert by_name["oom_skip"]["detail"] == "crashed: RuntimeError: CUDA error: an illegal memory access was encountered"
    assert "RuntimeError" in by_name["oom_skip"]["figures"]["traceback"]
    assert all(isinstance(c["seconds"], float) and c["seconds"] >= 0 for c in report["checks"])


def test_all_passed_or_skipped_exits_0_with_do_bench_ratios_mocked_gpu(tmp_path, capsys):
    gc = _load()
    code, report = _run(gc, tmp_path, _fake_checks(gc, triton=True), ["--quick"])
    out = capsys.readouterr().out
    assert code == 0 and report["exit_code"] == 0 and report["quick"] is True
    table = out.split("\n\n")[1]
    assert table == """\
op             torchperf sync  events  cold-L2 events  utils.benchmark  do_bench (median)  utils.benchmark/sync  do_bench/cold-L2 events
-------------  --------------  ------  --------------  ---------------  -----------------  --------------------  -----------------------
mm 8192³ bf16          1.6 ms  1.5 ms          1.6 ms          1.68 ms            1.65 ms                ×1.050                   ×1.030
mm 256² bf16            12 µs    9 µs           10 µs          13.2 µs              11 µs                ×1.100                   ×1.100
add 4096 fp32            5 µs    2 µs            4 µs                —               6 µs                     —                   ×1.500"""
    assert out.endswith(f"checks: 4 passed, 0 failed, 0 skipped\nwrote {tmp_path / 'gpu_check.json'}\n")
    assert report["timings"][2]["do_bench_s"] == 6e-6 and report["timings"][2]["do_bench_statistic"] == "median"


def test_check_filter_runs_only_the_named_checks_mocked_gpu(tmp_path, capsys):
    gc = _load()
    code, report = _run(gc, tmp_path, _fake_checks(gc, triton=False) + [("tf32", _fail_tf32)],
                        ["--check", "fingerprint", "--check", "triton_do_bench"])
    assert code == 0  # tf32 would fail, but was not asked for
    assert [(c["name"], c["status"]) for c in report["checks"]] == [("fingerprint", "pass"), ("triton_do_bench", "skip")]
    assert report["summary"] == {"pass": 1, "fail": 0, "skip": 1}


def test_attempts_count_retaken_samples():
    """The sync-count checks expect one sync per sample *taken*: retaken (disturbed) samples count."""
    from types import SimpleNamespace

    gc = _load()
    assert gc._attempts(SimpleNamespace(samples=(1.0, 2.0), contention=SimpleNamespace(attempts=5))) == 5
    assert gc._attempts(SimpleNamespace(samples=(1.0, 2.0), contention=None)) == 2

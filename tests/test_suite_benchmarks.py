"""The asv suite's glue (benchmarks/common.py): batching, warmup, skips, tiers, FLOP attributes."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import common
from benchmarks.bench_matmul import MM
from benchmarks.bench_memory import Sum
from tests.fakes import FakeDevice, FakeOp, FakeTime
from torchperf_core import catalog
from torchperf_core.engine.clock import SyncClock

ROOT = Path(__file__).resolve().parents[1]


def _with_fake_op(bench, op: FakeOp) -> None:
    """Swap the real kernel for a fake one that advances virtual time (the inputs stay real)."""
    bench.case.op = dataclasses.replace(bench.case.op, call=lambda inputs: op())


def _unwatched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake time with a real scheduler probe: a real run-queue wait of a few ms, set against a fake
    200 µs sample, reads as a disturbed sample and is retaken (seen on a busy machine: 12 syncs
    instead of 11). The fake-device tests count syncs, so they run without the probe."""
    monkeypatch.setattr("torchperf_core.engine.measurement.SchedProbe", lambda threads: None)


def test_one_sync_per_sample_fake_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(common.TIER_ENV, "smoke")
    _unwatched(monkeypatch)
    bench = Sum()
    bench.setup(64, "float32", "cpu")
    ft = FakeTime()
    device = FakeDevice(ft)
    bench.clock = SyncClock(device, time_fn=ft)
    op = FakeOp(ft, warm=10e-6)
    _with_fake_op(bench, op)

    calls_before = op.calls
    result = bench.track_sum(64, "float32", "cpu")

    timing = bench.last_timing
    samples = result["samples"]
    assert result["number"] == 20  # ceil(min_sample_time 200 µs / 10 µs per call)
    assert len(samples) == common.timing_options("smoke").samples
    assert samples == pytest.approx([10e-6] * len(samples))
    # The sampling phase synchronized once per sample plus the opening read, never per call...
    assert timing.syncs_in_samples == len(samples) + 1
    # ...while it made number × samples calls.
    sampled_calls = op.calls - calls_before - timing.warmup_calls
    assert sampled_calls == result["number"] * len(samples)
    # Every synchronization went through the one clock.
    assert device.syncs == bench.clock.syncs


def test_warm_numbers_even_single_sample_fake_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """asv --quick does no warmup; the engine's warmup keeps a 1000× slower first call out."""
    monkeypatch.setenv(common.TIER_ENV, "smoke")
    _unwatched(monkeypatch)
    bench = Sum()
    bench.setup(64, "float32", "cpu")
    ft = FakeTime()
    bench.clock = SyncClock(FakeDevice(ft), time_fn=ft)
    _with_fake_op(bench, FakeOp(ft, warm=10e-6, cold=10e-3, cold_calls=1))
    result = bench.track_sum(64, "float32", "cpu")
    assert bench.last_timing.warmup_calls >= 3
    assert max(result["samples"]) == pytest.approx(10e-6)


def test_result_is_an_asv_timing_dict() -> None:
    bench = Sum()
    bench.setup(64, "float32", "cpu")
    result = bench.track_sum(64, "float32", "cpu")
    assert set(result) == {"samples", "number"}
    assert all(isinstance(s, float) and s > 0 for s in result["samples"])
    json.dumps(result)  # asv passes it through a JSON file
    bench.teardown(64, "float32", "cpu")


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ((256, "tf32", "contiguous", "cpu"), "tf32"),
        ((4096 * 2, "float32", "contiguous", "cpu"), "limit"),
        ((1024, "float16", "contiguous", "cpu"), "slow"),
        ((256, "float32", "contiguous", "cuda"), "NVIDIA"),
    ],
)
def test_unsupported_cases_skip_in_setup(args: tuple, why: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(common.TIER_ENV, "default")
    if args[-1] == "cuda" and common._nvidia_driver_present():
        pytest.skip("a GPU is present: cuda is not a skip here")
    with pytest.raises(NotImplementedError, match=why):
        MM().setup(*args)


def test_flops_and_bytes_come_from_the_catalog() -> None:
    mm = catalog.get_op("mm")
    key = "(1024, 'float32', 'contiguous', 'cpu')"
    shape = mm.shape_for_size(1024)
    assert MM.track_mm.flops[key] == mm.flops(shape) == 2 * 1024**3
    assert MM.track_mm.bytes_moved[key] == mm.bytes_moved(shape, 4)
    assert MM.track_mm.bytes_moved["(1024, 'bfloat16', 'contiguous', 'cuda')"] == mm.bytes_moved(shape, 2)
    # Every tier's cases are covered, whichever tier was imported.
    assert "(8192, 'float32', 'AtBt', 'cuda')" in MM.track_mm.flops
    assert MM.track_mm.version == "1" and MM.track_mm.unit == "seconds"


def _import_suite(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = (
        "import sys, json, importlib\n"
        "names = ['bench_matmul', 'bench_nn', 'bench_memory', 'bench_autograd']\n"
        "mods = [importlib.import_module('benchmarks.' + n) for n in names]\n"
        "count = 0\n"
        "for m in mods:\n"
        "    for obj in vars(m).values():\n"
        "        if isinstance(obj, type) and getattr(obj, 'op', '') and obj.__module__ == m.__name__:\n"
        "            n = 1\n"
        "            for p in obj.params: n *= len(p)\n"
        "            count += n\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'cases': count}))\n"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


def test_suite_import_is_cheap_and_tiers_grow() -> None:
    counts = {}
    for tier in common.TIERS:
        env = dict(os.environ, TORCHPERF_TIER=tier, TORCHPERF_DEVICES="cpu")
        proc = _import_suite(env)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert out["torch"] is False, "importing the suite must not import torch"
        assert proc.stderr == ""
        counts[tier] = out["cases"]
    assert counts["smoke"] < counts["default"] < counts["full"]


def test_unknown_tier_fails_at_import() -> None:
    proc = _import_suite(dict(os.environ, TORCHPERF_TIER="huge"))
    assert proc.returncode != 0
    assert "TORCHPERF_TIER='huge'" in proc.stderr


def test_tf32_only_listed_with_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(common.DEVICES_ENV, "cpu")
    params, names = common.grid(MM.TIERS)
    assert "tf32" not in params[names.index("dtype")]
    monkeypatch.setenv(common.DEVICES_ENV, "cpu,cuda")
    params, names = common.grid(MM.TIERS)
    assert "tf32" in params[names.index("dtype")] and params[-1] == ["cpu", "cuda"]


def test_asv_check_is_clean() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "asv", "check", "-E", f"existing:{sys.executable}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No problems found" in proc.stdout


class _SlowCase:
    """A prepared case whose one call takes at least `seconds` (a sleep: a lower bound, never flaky)."""

    def __init__(self, seconds: float) -> None:
        import time

        self.device = FakeDevice(FakeTime())
        self._call = lambda: time.sleep(seconds)

    def callables(self):
        return [self._call]


def test_a_case_whose_calls_cannot_fit_the_timeout_is_skipped_with_the_measured_figure(monkeypatch) -> None:
    monkeypatch.setenv(common.TIER_ENV, "smoke")  # 3 warmup calls + 6 samples = 9 calls
    with pytest.raises(NotImplementedError) as info:
        common._probe(_SlowCase(0.1), budget=1.0)  # >= 0.9 s needed > 0.8 s allowed
    assert "calls a measurement needs would not fit in the 1 s benchmark timeout" in str(info.value)
    assert "the 9 calls" in str(info.value)
    common._probe(_SlowCase(0.0), budget=180.0)  # fits: no skip
    common._probe(_SlowCase(0.1), budget=None)  # no budget: never skipped for time


def test_the_thread_parameter_is_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.delenv(common.THREADS_ENV, raising=False)
    assert common.current_threads() is None
    monkeypatch.setenv(common.THREADS_ENV, "1")
    assert common.current_threads() == 1
    for bad in ("0", "-1", "two"):
        monkeypatch.setenv(common.THREADS_ENV, bad)
        with pytest.raises(ValueError, match=f"TORCHPERF_THREADS='{bad}' is not a thread count"):
            common.current_threads()


def test_setup_runs_the_case_at_the_suite_thread_count(monkeypatch) -> None:
    monkeypatch.setenv(common.TIER_ENV, "smoke")
    monkeypatch.setenv(common.THREADS_ENV, "1")
    bench = Sum()
    params = [p[0] for p in bench.params]
    bench.setup(*params)
    try:
        assert bench.case.threads == 1
    finally:
        bench.teardown(*params)


AVX2_FLAGS = frozenset({"sse4_2", "avx", "avx2", "fma"})
AVX512_FLAGS = AVX2_FLAGS | {"avx512f", "avx512vl", "avx512bw", "avx512dq"}


@pytest.mark.parametrize(
    ("op", "size", "flags", "tier", "capped"),
    [
        ("mm", 1024, AVX2_FLAGS, "default", True),  # 2.1e9 FLOPs: ~2 s a call on an AVX2 EPYC
        ("mm", 256, AVX2_FLAGS, "default", False),  # 3.4e7: stays
        ("conv2d", 32, AVX2_FLAGS, "default", False),  # 6.0e8: stays
        ("conv2d", 64, AVX2_FLAGS, "default", True),  # 2.4e9
        ("linear_backward", 1024, AVX2_FLAGS, "smoke", True),
        ("bmm", 256, AVX2_FLAGS, "smoke", False),  # 1.3e8
        ("mm", 2048, AVX2_FLAGS, "full", False),  # the full tier measures everything
        ("sdpa", 2048, AVX2_FLAGS, "default", False),  # its bf16 kernel is fast
        ("layer_norm", 4096, AVX2_FLAGS, "default", False),  # memory-bound
        ("mm", 1024, AVX512_FLAGS, "default", False),  # AVX-512 without avx512_bf16: oneDNN emulates it, not capped
        ("mm", 1024, AVX2_FLAGS | {"avx512f"}, "default", True),  # no bw/vl/dq: ATen's bf16 oneDNN test fails
        ("mm", 1024, frozenset(), "default", False),  # flags unreadable: nothing capped
    ],
)
def test_bf16_gemm_work_above_the_flop_cap_is_left_to_the_full_tier_on_a_cpu_without_avx512(
        op: str, size: int, flags: frozenset, tier: str, capped: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(common.ISA_ENV, raising=False)
    reason = common.skip_reason(op, size, "bfloat16", "contiguous", "cpu", tier, flags=flags)
    assert (reason is not None) == capped
    if capped:
        assert reason.startswith(f"bfloat16 {op} at ") and "without AVX-512" in reason and "'full' tier" in reason
    assert common.skip_reason(op, size, "float32", "contiguous", "cpu", tier, flags=flags) is None


def test_a_run_capped_at_avx2_caps_bf16_gemm_work_on_an_avx512_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(common.ISA_ENV, "avx2")
    assert common.skip_reason("mm", 1024, "bfloat16", "contiguous", "cpu", "default", flags=AVX512_FLAGS) is not None
    monkeypatch.setenv(common.ISA_ENV, "avx512")
    assert common.skip_reason("mm", 1024, "bfloat16", "contiguous", "cpu", "default", flags=AVX512_FLAGS) is None

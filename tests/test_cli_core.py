"""CLI: bench, sweep, calibrate, validate outputs and every bad input (one line, exit 2, no traceback).

Real torch on the CPU, tiny sizes and few samples; nothing asserts on timing figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from torchperf_core.cli import main

FAST = ["--samples", "3", "--threads", "1"]


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torchperf_core", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **(env or {})}, timeout=300)


def test_bench_prints_median_iqr_ci_rates(capsys):
    assert main(["bench", "mm", "--size", "32", *FAST]) == 0
    out = capsys.readouterr().out
    assert "mm[M=32,N=32,K=32] float32 on cpu" in out
    for word in ("median", "IQR", "99% CI", "GFLOP/s", "GB/s", "of peak", "warmup"):
        assert word in out


def test_bench_json_is_a_versioned_measurement(capsys):
    assert main(["bench", "linear", "--size", "M=8,N=16,K=4", "--json", *FAST]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format_version"] == 1
    assert data["spec"]["shape"] == [["M", 8], ["N", 16], ["K", 4]]
    assert data["flops"] == 2 * 8 * 16 * 4
    assert len(data["samples"]) == 3 and data["warmup_calls"] >= 3


def test_bench_list(capsys):
    assert main(["bench", "--list"]) == 0
    out = capsys.readouterr().out
    assert "conv2d" in out and "sdpa" in out


def test_bench_cold_l2_and_layout(capsys):
    assert main(["bench", "mm", "--size", "16", "--cold-l2", "--layout", "Bt", "--json", *FAST]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["spec"]["cold_l2"] is True and data["number"] == 1 and data["spec"]["layout"] == "Bt"


def test_bench_uses_calibration_when_present(tmp_path):
    meta = tmp_path / "meta" / "box"
    meta.mkdir(parents=True)
    (meta / "calibration.json").write_text(json.dumps({
        "format_version": 1, "machine": "box", "device": "cpu", "threads": 1, "torch_version": "x",
        "measured_at": "2026-01-01T00:00:00Z", "peak_gflops": {"float32": 100.0}, "bandwidth_gbps": 10.0}))
    r = run_cli("bench", "mm", "--size", "32", *FAST, "--machine", "box", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "compute" in r.stdout and "calibrated 2026-01-01" in r.stdout


@pytest.mark.parametrize("args, needle", [
    (["bench", "mmm"], "unknown op 'mmm'; accepted: mm,"),
    (["bench", "mm", "--dtype", "fp8"], "unknown dtype 'fp8'; accepted: float32"),
    (["bench", "mm", "--device", "tpu"], "unknown device 'tpu'; accepted: cpu, cuda"),
    (["bench", "mm", "--device", "cuda:99"], "is not available"),  # no GPU here, or fewer than 100
    (["bench", "mm", "--size", "12x"], "malformed size '12x'"),
    (["bench", "mm", "--size", "4000000"], "cannot be allocated"),
    (["bench", "mm", "--dtype", "tf32"], "tf32 is an NVIDIA tensor-core mode"),
    (["bench", "mm", "--threads", "0"], "--threads '0' is not a positive integer"),
    (["bench", "mm", "--mode", "events"], "timing mode 'events' needs a cuda device"),
    (["bench", "mm", "--mode", "stopwatch"], "unknown timing mode 'stopwatch'"),
    (["bench", "add", "--layout", "At"], "add has no layout 'At'"),
    (["sweep", "mm", "--sizes", "256,,512"], "malformed --sizes '256,,512'"),
    (["sweep", "mm", "--sizes", "64", "--plot", "out.gif"], "must end in one of .png, .svg"),
    (["calibrate", "--dtypes", "float32,int8"], "unknown dtype 'int8'"),
    (["nosuchcommand"], "invalid choice"),
])
def test_bad_input_is_one_line_exit_2(args, needle):
    r = run_cli(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert needle in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_sweep_table_and_plot_never_clobbers(tmp_path):
    out = tmp_path / "curve.png"
    r = run_cli("sweep", "mm", "--sizes", "16,32", *FAST, "--plot", str(out))
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 1000 and out.read_bytes()[:4] == b"\x89PNG"
    lines = r.stdout.splitlines()
    assert lines[1].split()[:4] == ["size", "median", "IQR/med", "GFLOP/s"]
    before = out.read_bytes()
    r2 = run_cli("sweep", "mm", "--sizes", "16", *FAST, "--plot", str(out))
    assert r2.returncode == 2 and "--force" in r2.stderr
    assert out.read_bytes() == before


def test_calibrate_writes_a_versioned_file(tmp_path):
    target = tmp_path / "cal.json"
    r = run_cli("calibrate", "--sizes", "64", "--dtypes", "float32,bfloat16", "--threads", "1",
                "--machine", "box", "--output", str(target))
    assert r.returncode == 0, r.stderr
    data = json.loads(target.read_text())
    assert data["format_version"] == 1 and data["machine"] == "box"
    assert set(data["peak_gflops"]) == {"float32", "bfloat16"} and data["bandwidth_gbps"] > 0
    from torchperf_core.machine import calibration as calibrate

    assert calibrate.load(target).peak_gflops["float32"] == data["peak_gflops"]["float32"]


def test_calibration_corrupt_or_old_is_named_and_left_alone(tmp_path):
    from torchperf_core.machine import calibration as calibrate
    from torchperf_core.errors import TorchperfError

    bad = tmp_path / "calibration.json"
    bad.write_text('{"format_version": 1, "machine"')
    with pytest.raises(TorchperfError, match="corrupt calibration"):
        calibrate.load(bad)
    assert bad.read_text() == '{"format_version": 1, "machine"'
    bad.write_text('{"format_version": 0}')
    with pytest.raises(TorchperfError, match="format_version 0"):
        calibrate.load(bad)


def test_validate_prints_ratios_without_judging_them():
    r = run_cli("validate", "--sizes", "32", "--threads", "1", "--rounds", "1")
    assert r.returncode == 0, r.stderr
    assert "torch.utils.benchmark" in r.stdout and "raw perf_counter loop" in r.stdout
    assert "ratio" in r.stdout.splitlines()[1]


def test_top_level_help_lists_every_command():
    r = run_cli("--help")
    assert r.returncode == 0, r.stderr
    for name in ("bench", "sweep", "calibrate", "validate", "env", "run", "compare", "publish", "doctor", "noise"):
        assert name in r.stdout

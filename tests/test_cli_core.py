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
FIXTURE_RESULTS = Path(__file__).parent / "fixtures" / "asv_run_v1" / "results"


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
    assert data["format_version"] == 2
    assert data["spec"]["shape"] == [["M", 8], ["N", 16], ["K", 4]]
    assert data["flops"] == 2 * 8 * 16 * 4
    contention = data["contention"]  # watched: every sample's scheduler counters were read
    assert contention["attempts"] >= len(data["samples"]) and data["warmup_calls"] >= 3
    # 3 clean samples, or, when this machine was too busy to give 3, every sample taken (flagged)
    assert len(data["samples"]) == 3 or (contention["contended"] and len(data["samples"]) == contention["attempts"])


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
    assert data["format_version"] == 2 and data["machine"] == "box"  # v2: the provisional flag
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


def test_doctor_and_run_summary_render_exactly():
    """The renderers moved from commands/ to render/ with their output unchanged, byte for byte."""
    from torchperf_core.machine import Check, DoctorReport
    from torchperf_core.render import render_doctor, render_summary, render_verdict_counts
    from torchperf_core.run.suite import SummaryRow

    report = DoctorReport((Check("smt", "WARN", "on", "echo off | sudo tee /sys/devices/system/cpu/smt/control"),
                           Check("swap", "OK", "none", "swapoff -a"), Check("load average", "INFO", "0.70", "")))
    assert render_doctor(report) == (
        "WARN  smt           on\nOK    swap          none\nINFO  load average  0.70\n\n"
        "To improve (not run by torchperf):\n  smt           echo off | sudo tee /sys/devices/system/cpu/smt/control\n"
        "\n1 warning(s)"
    )
    assert render_doctor(DoctorReport((Check("smt", "OK", "off", ""),))) == "OK    smt  off\n\nno warnings"
    rows = (SummaryRow("bench_mm.MM.time_mm", "(1024, 'float32')", "2.13.0", 1.1e-2, 173.4, 1.0),
            SummaryRow("bench_mm.MM.time_mm", "(1024, 'float32')", "2.14.1", 1.3e-2, 150.0, 1.18, verdict="unknown",
                       reason="one run per side (need 3): re-measure"),
            SummaryRow("bench_mm.MM.time_mm", "(256, 'float16')", "2.14.1", None, None, None, "failed",
                       verdict="failed"),
            SummaryRow("bench_sum.Sum.time_sum", "(64,)", "2.13.0", 2.5e-6, None, None, contended=True))
    assert render_summary(rows, 2) == (
        "benchmark (params)           torch   median        GFLOP/s  vs oldest  verdict\n"
        "---------------------------  ------  ------  -------------  ---------  -------\n"
        "MM.time_mm(1024, 'float32')  2.13.0   11 ms  173.4 GFLOP/s       1.00\n"
        "MM.time_mm(1024, 'float32')  2.14.1   13 ms  150.0 GFLOP/s       1.18  unknown\n"
        "MM.time_mm(256, 'float16')   2.14.1  failed              —          —  failed\n"
        "… 1 more cases (--limit 0 shows all)"
    )
    assert render_summary(rows, 0).splitlines()[-1] == "Sum.time_sum(64,)            2.13.0  2.5 µs              —          —  contended"
    skipped = rows + (SummaryRow("bench_i.I.track_instructions", "('add',)", "2.13.0", None, None, None, "skipped"),)
    assert render_summary(skipped, 0).splitlines()[-1] == (
        "(1 case(s) skipped in every version are not listed: see the skip reasons)")
    assert "track_instructions" not in render_summary(skipped, 0)
    assert render_verdict_counts(rows) == [
        "torch 2.14.1 vs oldest: 1 failed, 1 unknown",
        "unknown: beyond the factor in one run, but the drift between separate runs is not measured; "
        "`torchperf run --rounds 3` (or `torchperf continuous --torch A B`, interleaved) decides them",
    ]
    flavoured = (SummaryRow("bench_sum.Sum.time_sum", "(64,)", "2.13.0", 2.5e-6, None, None, flavour="cpu"),)
    assert render_summary(flavoured, 0).splitlines()[-1] == "Sum.time_sum(64,)   2.13.0 (cpu)  2.5 µs        —          —"



def test_sweep_and_validate_tables_render_exactly():
    from torchperf_core.engine import Measurement, TaskSpec
    from torchperf_core.machine.validate import Comparison
    from torchperf_core.render import render_sweep, render_validation

    spec = TaskSpec("mm", (("M", 256), ("N", 256), ("K", 256)), "float32", "cpu", threads=2)
    m = Measurement(spec, (1e-4, 1.1e-4, 0.9e-4), 10, 5, flops=2.0 * 256**3, bytes_moved=12.0 * 256**2)
    assert render_sweep([256], [m], "tf32") == (
        "mm tf32 on cpu, 2 threads\n"
        "size  median  IQR/med        GFLOP/s      GB/s\n"
        "----  ------  -------  -------------  --------\n"
        "256   100 µs    10.0%  335.5 GFLOP/s  7.9 GB/s"
    )
    cases = [Comparison("mm 256", 3.1e-4, 3.0e-4, "torch.utils.benchmark", 0.05),
             Comparison("mm 2048", 0.0953, 0.081, "raw perf_counter loop", 0.05)]
    assert render_validation(cases, "2.13.0+cpu", 2) == (
        "torch 2.13.0+cpu, cpu, 2 threads\n"
        "case        torchperf     reference  reference is           ratio  target\n"
        "-------  ------------  ------------  ---------------------  -----  ------  -------\n"
        "mm 256      310.00 µs     300.00 µs  torch.utils.benchmark  1.033     ±5%  ok\n"
        "mm 2048  95,300.00 µs  81,000.00 µs  raw perf_counter loop  1.177     ±5%  OUTSIDE"
    )

def test_noise_renders_with_the_shared_table_and_time_format():
    from torchperf_core.machine import NoiseReport, ProbeNoise
    from torchperf_core.render import render_noise

    base = (1.00, 1.01, 1.02, 0.99, 1.00, 1.03, 1.01, 1.00)
    fast = tuple(tuple(x * 1e-4 * k for x in base) for k in (1.0, 1.01, 1.005))
    slow = ((2.0, 2.1, 2.0, 2.2, 2.05, 2.0), (2.4, 2.5, 2.45, 2.4, 2.6, 2.5))
    text = render_noise(NoiseReport((ProbeNoise("mm 256", fast), ProbeNoise("slow", slow)), threads=2, cpus=(0, 1)))
    assert text.splitlines()[:4] == [
        "probe   median  IQR/median  CV medians  drift  false alarms  MDS x1.07  MDS x1",
        "------  ------  ----------  ----------  -----  ------------  ---------  ------",
        "mm 256  101 µs        1.2%        0.5%   1.0%          0.0%       9.0%    5.0%",
        "slow    2.25 s        3.9%       14.1%  22.2%          0.0%      >100%   >100%",
    ]
    assert text.splitlines()[5] == "3 runs per probe, threads 2, CPUs 0-1."


@pytest.mark.parametrize("name,package", [
    ("matplotlib", "matplotlib"), ("matplotlib.pyplot", "matplotlib"), ("yaml", "pyyaml"),
    ("torchperf_core.site.plots", None), ("fcntl", None), (None, None),
])  # fmt: skip
def test_missing_package_names_the_distribution(name, package):
    from torchperf_core.cli import missing_package

    assert missing_package(ModuleNotFoundError("no module", name=name)) == package
    assert missing_package(ImportError("cannot import name 'x'", name=name)) is None


def test_missing_matplotlib_is_one_line_exit_2(tmp_path):
    """A package the install lacks (here matplotlib, blocked in sys.modules) ends in a pip hint."""
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from torchperf_core.cli import main\n"
            f"sys.exit(main(['plot', '--results', {str(FIXTURE_RESULTS)!r}, '--out', {str(tmp_path / 'p')!r}]))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert r.stderr == ("torchperf: error: plot needs the Python package 'matplotlib'; "
                        "install it with: pip install matplotlib\n")
    assert not (tmp_path / "p").exists()


def test_sigterm_stops_a_command_like_ctrl_c_and_the_handler_is_restored(monkeypatch, capsys):
    """SIGTERM (`kill PID`, a job's time limit) raises inside the command, so its `finally` blocks run
    and the CLI says so in one line with 143 (Python's default would end the process on the spot)."""
    import signal
    import time
    import types

    from torchperf_core import cli

    cleaned = []

    def run(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises at once, interrupting this
            return 0  # not reached
        finally:
            cleaned.append(True)

    fake = types.SimpleNamespace(NAME="selfterm", HELP="sends itself SIGTERM",
                                 add_arguments=lambda parser: None, run=run)
    monkeypatch.setattr(cli, "_command_modules", lambda: [fake])
    caught_here = []
    guard = lambda signum, frame: caught_here.append(signum)  # noqa: E731 - were main's handler missing
    original = signal.signal(signal.SIGTERM, guard)
    try:
        assert cli.main(["selfterm"]) == 143
        assert signal.getsignal(signal.SIGTERM) is guard  # the caller gets its own handling back
    finally:
        signal.signal(signal.SIGTERM, original)
    assert cleaned == [True] and caught_here == []
    assert capsys.readouterr().err.strip() == "torchperf: terminated"

"""`torchperf doctor` against fake /proc and /sys trees built in tmp_path, and a fake nvidia-smi."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from torchperf_core import cli
from torchperf_core.machine.doctor import Check, DoctorReport, run_checks

MISSING_SMI = "torchperf-test-no-such-nvidia-smi"


def _write(root: Path, path: str, text: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def _proc_stat_line(pid: int, comm: str, ticks: int) -> str:
    # pid (comm) state ppid ... utime is field 14, stime field 15 (1-based, proc(5)).
    fields = ["S"] + ["0"] * 10 + [str(ticks), "0"] + ["0"] * 30
    return f"{pid} ({comm}) {' '.join(fields)}\n"


def quiet_tree(root: Path) -> Path:
    """A bare-metal, idle, well-configured 4-CPU machine: every check OK or INFO."""
    for cpu in range(4):
        _write(root, f"/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor", "performance\n")
    _write(root, "/sys/devices/system/cpu/online", "0-3\n")
    _write(root, "/sys/devices/system/cpu/cpufreq/boost", "0\n")
    _write(root, "/sys/devices/system/cpu/smt/control", "off\n")
    _write(root, "/sys/devices/system/cpu/smt/active", "0\n")
    _write(root, "/sys/devices/system/cpu/isolated", "2-3\n")
    _write(root, "/sys/devices/system/node/node0/cpulist", "0-3\n")
    _write(root, "/proc/loadavg", "0.02 0.05 0.01 1/120 999\n")
    _write(root, "/proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu vme sse sse2 avx2\n")
    _write(root, "/proc/stat", "cpu  100 0 50 1000 0 0 0 0 0 0\n")
    _write(root, "/proc/meminfo", "MemTotal:       16000000 kB\nMemFree:  8000000 kB\n"
           "MemAvailable:   12000000 kB\nSwapTotal:       2000000 kB\nSwapFree:        2000000 kB\n")
    _write(root, "/proc/pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
           "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    _write(root, "/proc/1/stat", _proc_stat_line(1, "init", 500))
    return root


def doctor(root: Path, *, nvidia_smi: str = MISSING_SMI, environ=None, allowed=(0, 1, 2, 3),
           sleep=lambda s: None) -> DoctorReport:
    return run_checks(root, nvidia_smi, environ=environ or {}, allowed_cpus=allowed,
                      sample_interval=1.0, exclude_pids=(), ticks_per_second=100, sleep=sleep)


def by_name(report: DoctorReport, name: str) -> Check:
    return next(c for c in report.checks if c.name == name)


def test_quiet_machine_has_no_warnings(tmp_path):
    report = doctor(quiet_tree(tmp_path))
    assert report.warnings == ()
    assert report.worst == "INFO"  # "no NVIDIA GPU"
    assert by_name(report, "cpu governor").status == "OK"
    assert by_name(report, "cpu boost").status == "OK"
    assert by_name(report, "smt").status == "OK"
    assert by_name(report, "load average").status == "OK"
    assert by_name(report, "busy processes").status == "OK"
    assert by_name(report, "isolated cpus").status == "OK"
    assert "--cpus 2-3" in by_name(report, "isolated cpus").detail
    assert by_name(report, "hypervisor").status == "OK"
    assert by_name(report, "numa").status == "OK"
    assert by_name(report, "memory").status == "OK"
    assert by_name(report, "swap").status == "OK"
    gpu = by_name(report, "gpu")
    assert (gpu.status, gpu.detail) == ("INFO", "no NVIDIA GPU (nvidia-smi not found)")


def test_powersave_governor_warns(tmp_path):
    root = quiet_tree(tmp_path)
    _write(root, "/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", "powersave\n")
    check = by_name(doctor(root), "cpu governor")
    assert check.status == "WARN"
    assert "powersave on CPU 1" in check.detail and "performance on CPU 0,2-3" in check.detail
    assert check.advice == "sudo cpupower frequency-set --governor performance"


def test_no_cpufreq_is_info(tmp_path):
    root = quiet_tree(tmp_path)
    for p in root.glob("sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"):
        p.unlink()
    assert by_name(doctor(root), "cpu governor").status == "INFO"


@pytest.mark.parametrize("path,value,advice", [
    ("/sys/devices/system/cpu/cpufreq/boost", "1", "echo 0 | sudo tee /sys/devices/system/cpu/cpufreq/boost"),
    ("/sys/devices/system/cpu/intel_pstate/no_turbo", "0",
     "echo 1 | sudo tee /sys/devices/system/cpu/intel_pstate/no_turbo"),
])
def test_boost_on_warns(tmp_path, path, value, advice):
    root = quiet_tree(tmp_path)
    (root / "sys/devices/system/cpu/cpufreq/boost").unlink()
    _write(root, path, value + "\n")
    check = by_name(doctor(root), "cpu boost")
    assert (check.status, check.advice) == ("WARN", advice)


def test_smt_on_warns(tmp_path):
    root = quiet_tree(tmp_path)
    _write(root, "/sys/devices/system/cpu/smt/control", "on\n")
    _write(root, "/sys/devices/system/cpu/smt/active", "1\n")
    check = by_name(doctor(root), "smt")
    assert check.status == "WARN"
    assert check.advice == "echo off | sudo tee /sys/devices/system/cpu/smt/control"


def test_high_load_warns(tmp_path):
    root = quiet_tree(tmp_path)
    _write(root, "/proc/loadavg", "3.50 2.00 1.00 5/300 1234\n")
    check = by_name(doctor(root), "load average")
    assert check.status == "WARN"
    assert check.detail.startswith("load 3.50 2.00 1.00 (1/5/15 min) on 4 CPUs")
    assert "measure at 1 thread (`torchperf run --threads 1`)" in check.detail  # the advice: when to use which


def test_busy_process_warns_and_excludes_ourselves(tmp_path):
    root = quiet_tree(tmp_path)
    _write(root, "/proc/4242/stat", _proc_stat_line(4242, "make (cc1)", 1000))
    _write(root, "/proc/77/stat", _proc_stat_line(77, "self", 1000))

    def sleep(seconds):  # one second passes: pid 4242 uses 80 ticks (80% of a CPU at 100 Hz)
        _write(root, "/proc/4242/stat", _proc_stat_line(4242, "make (cc1)", 1080))
        _write(root, "/proc/77/stat", _proc_stat_line(77, "self", 1100))

    report = run_checks(root, MISSING_SMI, environ={}, allowed_cpus=(0, 1, 2, 3), sample_interval=1.0,
                        exclude_pids=(77,), ticks_per_second=100, sleep=sleep)
    check = by_name(report, "busy processes")
    assert check.status == "WARN"
    assert "make (cc1) (pid 4242) 80%" in check.detail
    assert "pid 77" not in check.detail
    assert "or measure at 1 thread (`torchperf run --threads 1`)" in check.detail
    assert check.advice == "kill -STOP 4242"


def test_no_isolated_cpus_is_info(tmp_path):
    root = quiet_tree(tmp_path)
    _write(root, "/sys/devices/system/cpu/isolated", "\n")
    check = by_name(doctor(root), "isolated cpus")
    assert check.status == "INFO"
    assert "isolcpus=1-3" in check.advice


def test_swap_in_use_warns(tmp_path):
    root = quiet_tree(tmp_path)
    _write(root, "/proc/meminfo", "MemTotal: 16000000 kB\nMemAvailable: 12000000 kB\n"
           "SwapTotal: 2048000 kB\nSwapFree: 1024000 kB\n")
    check = by_name(doctor(root), "swap")
    assert check.status == "WARN"
    assert check.detail.startswith("1000 MiB of swap in use")
    assert check.advice == "sudo swapoff -a && sudo swapon -a"


def test_memory_pressure_warns(tmp_path):
    root = quiet_tree(tmp_path)
    _write(root, "/proc/pressure/memory", "some avg10=5.00 avg60=1.00 avg300=0.10 total=9\n")
    assert by_name(doctor(root), "memory").status == "WARN"


def test_hypervisor_flag_is_info(tmp_path):
    root = quiet_tree(tmp_path)
    _write(root, "/proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu sse2 hypervisor avx2\n")
    check = by_name(doctor(root), "hypervisor")
    assert check.status == "INFO"
    assert check.detail == ("running in a virtual machine (cpuinfo flag 'hypervisor'): the host may "
                            "take CPU time away")


def test_hypervisor_with_steal_time_warns(tmp_path):
    root = quiet_tree(tmp_path)
    _write(root, "/sys/hypervisor/type", "xen\n")
    _write(root, "/sys/class/dmi/id/sys_vendor", "QEMU\n")

    elapsed = []

    def sleep(seconds):  # each sleep: 100 ticks pass, 20 of them stolen by the host
        elapsed.append(seconds)
        n = len(elapsed)
        _write(root, "/proc/stat", f"cpu  {100 + 60 * n} 0 {50 + 20 * n} 1000 0 0 0 {20 * n} 0 0\n")

    check = by_name(doctor(root, sleep=sleep), "hypervisor")
    assert check.status == "WARN"
    assert "/sys/hypervisor/type xen" in check.detail and "DMI 'QEMU'" in check.detail
    assert "steal time 20.0%" in check.detail


def test_omp_threads_above_cores_warns(tmp_path):
    report = doctor(quiet_tree(tmp_path), environ={"OMP_NUM_THREADS": "8", "MKL_NUM_THREADS": "2"},
                    allowed=(0, 1))
    check = by_name(report, "threads")
    assert check.status == "WARN"
    assert "OMP_NUM_THREADS=8" in check.detail and "only 2 CPU(s)" in check.detail
    assert check.advice == "export OMP_NUM_THREADS=2"


def test_threads_within_cores_ok(tmp_path):
    check = by_name(doctor(quiet_tree(tmp_path), environ={"OMP_NUM_THREADS": "4"}), "threads")
    assert check.status == "OK"


def test_numa_spanning_nodes_warns(tmp_path):
    root = quiet_tree(tmp_path)
    _write(root, "/sys/devices/system/node/node0/cpulist", "0-1\n")
    _write(root, "/sys/devices/system/node/node1/cpulist", "2-3\n")
    assert by_name(doctor(root), "numa").status == "WARN"
    assert by_name(doctor(root, allowed=(2, 3)), "numa").status == "OK"


FAKE_SMI = r"""#!/bin/sh
# Stands in for nvidia-smi (no NVIDIA GPU here); the -q layout follows a real H100's output.
case "$1" in
  --query-gpu=*)
    echo "0, NVIDIA H100 80GB HBM3, {persistence}, 1755, 1980, 2619, 2619, {limit}, 700.00, 700.00, 41"
    ;;
  -q)
    cat <<'EOF'

==============NVSMI LOG==============

Timestamp                                 : Tue Nov 24 20:00:00 2026
Driver Version                            : 550.90.07
CUDA Version                              : 12.4

Attached GPUs                             : 1
GPU 00000000:18:00.0
    Performance State                     : P0
    Clocks Event Reasons
        Idle                              : Active
        Applications Clocks Setting       : Not Active
        SW Power Cap                      : {power_cap}
        HW Slowdown                       : Not Active
            HW Thermal Slowdown           : {thermal}
            HW Power Brake Slowdown       : Not Active
        Sync Boost                        : Not Active
        SW Thermal Slowdown               : Not Active
        Display Clock Setting             : Not Active
EOF
    ;;
esac
"""


def _fake_smi(tmp_path: Path, *, persistence="Enabled", limit="700.00", power_cap="Not Active",
              thermal="Not Active") -> str:
    path = tmp_path / "bin" / "nvidia-smi"
    path.parent.mkdir(exist_ok=True)
    path.write_text(FAKE_SMI.replace("{persistence}", persistence).replace("{limit}", limit)
                    .replace("{power_cap}", power_cap).replace("{thermal}", thermal))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_healthy_gpu_fake_nvidia_smi(tmp_path):
    report = doctor(quiet_tree(tmp_path / "root"), nvidia_smi=_fake_smi(tmp_path))
    assert by_name(report, "gpu0 persistence").status == "OK"
    assert by_name(report, "gpu0 power").status == "OK"
    assert by_name(report, "gpu0 throttle").status == "OK"
    clocks = by_name(report, "gpu0 clocks")
    assert clocks.status == "INFO" and "SM clock 1755 of 1980 MHz" in clocks.detail
    assert clocks.advice == "sudo nvidia-smi -i 0 --lock-gpu-clocks=1980,1980"
    assert report.warnings == ()


def test_throttling_and_persistence_off_warn_fake_nvidia_smi(tmp_path):
    smi = _fake_smi(tmp_path, persistence="Disabled", limit="450.00", power_cap="Active", thermal="Active")
    report = doctor(quiet_tree(tmp_path / "root"), nvidia_smi=smi)
    persistence = by_name(report, "gpu0 persistence")
    assert (persistence.status, persistence.advice) == ("WARN", "sudo nvidia-smi -i 0 -pm 1")
    power = by_name(report, "gpu0 power")
    assert (power.status, power.advice) == ("WARN", "sudo nvidia-smi -i 0 -pl 700")
    throttle = by_name(report, "gpu0 throttle")
    assert throttle.status == "WARN"
    assert throttle.detail == "clocks slowed down now by: SW Power Cap, HW Thermal Slowdown"


def test_failing_fake_nvidia_smi_is_info(tmp_path):
    path = tmp_path / "nvidia-smi"
    path.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate' >&2\nexit 9\n")
    path.chmod(0o755)
    gpu = by_name(doctor(quiet_tree(tmp_path / "root"), nvidia_smi=str(path)), "gpu")
    assert gpu.status == "INFO" and "could not communicate" in gpu.detail


def test_report_json_round_trip(tmp_path):
    report = doctor(quiet_tree(tmp_path))
    data = json.loads(report.dumps())
    assert data["format_version"] == 1 and data["worst"] == "INFO"
    assert DoctorReport.from_json(data) == report


def test_real_machine_runs(tmp_path):
    """The real /proc and /sys of whatever runs the tests: every check answers, none crashes."""
    report = run_checks(sample_interval=0.05)
    assert {c.status for c in report.checks} <= {"OK", "INFO", "WARN"}
    assert {"cpu governor", "smt", "load average", "numa", "swap"} <= {c.name for c in report.checks}


def test_cli_exit_code_and_save(tmp_path, monkeypatch, capsys):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    root = quiet_tree(tmp_path / "root")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["doctor", "--root", str(root), "--nvidia-smi", MISSING_SMI, "--save",
                     "--machine", "box"]) == 0
    assert json.loads((tmp_path / "meta/box/doctor.json").read_text())["worst"] in ("OK", "INFO")
    _write(root, "/sys/devices/system/cpu/smt/control", "on\n")
    capsys.readouterr()
    assert cli.main(["doctor", "--root", str(root), "--nvidia-smi", MISSING_SMI, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["worst"] == "WARN"
    assert cli.main(["doctor", "--root", str(root), "--nvidia-smi", MISSING_SMI]) == 1
    text = capsys.readouterr().out
    assert "WARN  smt" in text and "echo off | sudo tee /sys/devices/system/cpu/smt/control" in text


def test_cli_bad_machine_name_is_user_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    root = quiet_tree(tmp_path / "root")
    assert cli.main(["doctor", "--root", str(root), "--nvidia-smi", MISSING_SMI, "--save",
                     "--machine", "../x"]) == 2
    assert "bad machine name" in capsys.readouterr().err

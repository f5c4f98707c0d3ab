"""Check the machine before trusting its numbers: `torchperf doctor`.

Every check is read-only. Where something can be improved the check says so and gives the exact
command that would do it (`advice`), but it never runs it: changing governors, clocks or SMT is the
owner's decision and usually needs root. The checks mirror what makes benchmark numbers drift:
frequency scaling and turbo (speed depends on temperature and on the other cores' load), SMT
siblings (another thread shares the core's execution units), other busy processes, no isolated
CPUs, more OpenMP/MKL threads than CPUs, a hypervisor (steal time), CPUs spanning NUMA nodes,
memory pressure and swap, and on NVIDIA GPUs persistence mode, power limit, clocks and throttling.

Each filesystem read goes through `root` and the GPU query through the `nvidia_smi` path, so the
tests build fake /proc and /sys trees and a fake nvidia-smi script.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from torchperf_core.engine import cpu_flags, format_cpu_list, parse_cpu_ranges
from torchperf_core.formats import check_format_version
from torchperf_core.machine.check import _RANK, STATUSES, Check

# doctor.json format history:
#   1 — first version: {"format_version", "taken_at", "worst", "checks": [{name, status, detail, advice}]}
DOCTOR_FORMAT_VERSION = 1


# A process using more than this share of one CPU while we sample counts as busy.
BUSY_CPU_SHARE = 0.10
# 1-minute load average above which the machine counts as busy (runnable tasks, in CPUs).
LOAD_THRESHOLD = 0.5
# Tokens in the DMI vendor/product strings that identify a virtual machine.
_VM_DMI_TOKENS = ("qemu", "kvm", "vmware", "virtualbox", "xen", "amazon ec2", "google compute",
                  "bochs", "openstack", "virtual machine", "hvm domu", "cloud hypervisor",
                  "firecracker")
@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]
    taken_at: str = field(default="")  # ISO 8601 UTC

    @property
    def worst(self) -> str:
        return max((c.status for c in self.checks), key=_RANK.__getitem__, default="OK")

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == "WARN")

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": DOCTOR_FORMAT_VERSION,
            "taken_at": self.taken_at,
            "worst": self.worst,
            "checks": [c.to_json() for c in self.checks],
        }

    @classmethod
    def from_json(cls, data: Any, *, source: str = "") -> "DoctorReport":
        """Load a saved report; another format_version is refused by the one shared check, so a
        doctor.json from a newer torchperf fails like every other file (`source` names the file)."""
        check_format_version(data, "doctor report", DOCTOR_FORMAT_VERSION, source=source,
                             fix="re-run `torchperf doctor --save`")
        return cls(tuple(Check.from_json(c) for c in data["checks"]), str(data.get("taken_at", "")))

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"


# ----------------------------------------------------------------------------------------------
# Reading the fake-able filesystem


class _Fs:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, abspath: str) -> Path:
        return self.root / abspath.lstrip("/")

    def read(self, abspath: str) -> str | None:
        try:
            return self.path(abspath).read_text(errors="replace")
        except (OSError, ValueError):
            return None

    def glob(self, pattern: str) -> list[Path]:
        return sorted(self.root.glob(pattern.lstrip("/")))


def _online_cpus(fs: _Fs) -> tuple[int, ...]:
    text = fs.read("/sys/devices/system/cpu/online")
    if text:
        try:
            return parse_cpu_ranges(text)
        except ValueError:
            pass
    return tuple(range(os.cpu_count() or 1))


# ----------------------------------------------------------------------------------------------
# CPU checks


def check_governor(fs: _Fs) -> Check:
    governors: dict[str, list[str]] = {}
    for path in fs.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor"):
        cpu = path.parent.parent.name.removeprefix("cpu")
        try:
            governors.setdefault(path.read_text().strip(), []).append(cpu)
        except OSError:
            continue
    if not governors:
        return Check("cpu governor", "INFO", "no cpufreq interface (typical of a VM or container): "
                     "the CPU frequency policy cannot be checked here")
    summary = "; ".join(f"{g} on CPU {format_cpu_list([int(c) for c in cpus])}"
                        for g, cpus in sorted(governors.items()))
    if set(governors) == {"performance"}:
        return Check("cpu governor", "OK", summary)
    return Check("cpu governor", "WARN",
                 f"{summary}: the frequency follows the load, so the first samples run slower",
                 "sudo cpupower frequency-set --governor performance")


def check_boost(fs: _Fs) -> Check:
    boost = fs.read("/sys/devices/system/cpu/cpufreq/boost")
    no_turbo = fs.read("/sys/devices/system/cpu/intel_pstate/no_turbo")
    if boost is not None and boost.strip() == "1":
        return Check("cpu boost", "WARN", "frequency boost is on: the clock depends on temperature "
                     "and on how many cores are busy",
                     "echo 0 | sudo tee /sys/devices/system/cpu/cpufreq/boost")
    if no_turbo is not None and no_turbo.strip() == "0":
        return Check("cpu boost", "WARN", "Intel Turbo Boost is on: the clock depends on temperature "
                     "and on how many cores are busy",
                     "echo 1 | sudo tee /sys/devices/system/cpu/intel_pstate/no_turbo")
    if boost is None and no_turbo is None:
        return Check("cpu boost", "INFO", "no boost control exposed (VM, container or fixed clock)")
    return Check("cpu boost", "OK", "frequency boost is off")


def check_smt(fs: _Fs) -> Check:
    control = (fs.read("/sys/devices/system/cpu/smt/control") or "").strip()
    active = (fs.read("/sys/devices/system/cpu/smt/active") or "").strip()
    if not control and not active:
        return Check("smt", "INFO", "no SMT control exposed")
    if active == "1" or control == "on":
        return Check("smt", "WARN", f"SMT (hyper-threading) is {control or 'active'}: a sibling "
                     "thread shares each core's execution units and caches; pin to one thread per "
                     "core with --cpus, or turn SMT off",
                     "echo off | sudo tee /sys/devices/system/cpu/smt/control")
    readable = {"notsupported": "not supported by this CPU", "notimplemented": "not implemented here",
                "forceoff": "forced off", "off": "off"}
    return Check("smt", "OK", f"SMT {readable.get(control, control or 'inactive')}")


def check_load(fs: _Fs, threshold: float = LOAD_THRESHOLD) -> Check:
    text = fs.read("/proc/loadavg")
    try:
        load1, load5, load15 = (float(x) for x in (text or "").split()[:3])
    except ValueError:
        return Check("load average", "INFO", "/proc/loadavg not readable")
    ncpu = len(_online_cpus(fs))
    detail = f"load {load1:.2f} {load5:.2f} {load15:.2f} (1/5/15 min) on {ncpu} CPUs"
    if load1 > threshold:
        return Check("load average", "WARN", f"{detail}: other work competes for the CPUs; if it cannot stop, "
                     "measure at 1 thread (`torchperf run --threads 1`), which leaves it a CPU", "top -o %CPU")
    return Check("load average", "OK", detail)


def _process_ticks(fs: _Fs, exclude: set[int]) -> dict[int, tuple[str, int]]:
    ticks: dict[int, tuple[str, int]] = {}
    for stat in fs.glob("/proc/[0-9]*/stat"):
        pid = int(stat.parent.name)
        if pid in exclude:
            continue
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process ended
        # The command name is in parentheses and may itself contain spaces or parentheses.
        lparen, rparen = text.find("("), text.rfind(")")
        if lparen < 0 or rparen < 0:
            continue
        rest = text[rparen + 2:].split()
        try:
            utime, stime = int(rest[11]), int(rest[12])  # fields 14 and 15 of proc(5)
        except (IndexError, ValueError):
            continue
        ticks[pid] = (text[lparen + 1:rparen], utime + stime)
    return ticks


@dataclass(frozen=True)
class _Sample:
    """CPU use seen over one short interval: per-process ticks and the machine's steal ticks."""

    procs_before: dict[int, tuple[str, int]]
    procs_after: dict[int, tuple[str, int]]
    steal_before: tuple[int, int] | None
    steal_after: tuple[int, int] | None
    elapsed: float


def _take_sample(fs: _Fs, exclude: set[int], interval: float, sleep: Callable[[float], None]) -> _Sample:
    procs, steal = _process_ticks(fs, exclude), _steal_ticks(fs)
    start = time.monotonic()
    sleep(interval)
    # A real sleep overshoots a little (use the measured time); a test's fake sleep takes none.
    elapsed = max(time.monotonic() - start, interval, 1e-9)
    return _Sample(procs, _process_ticks(fs, exclude), steal, _steal_ticks(fs), elapsed)


def check_busy_processes(sample: _Sample, ticks_per_second: int | None = None) -> Check:
    """Report processes that used more than BUSY_CPU_SHARE of a CPU during the sample."""
    hz = ticks_per_second or os.sysconf("SC_CLK_TCK")
    before, after, elapsed = sample.procs_before, sample.procs_after, sample.elapsed
    busy = []
    for pid, (name, t1) in after.items():
        if pid in before:
            share = (t1 - before[pid][1]) / hz / elapsed
            if share > BUSY_CPU_SHARE:
                busy.append((share, pid, name))
    if not busy:
        return Check("busy processes", "OK", f"no other process above {BUSY_CPU_SHARE:.0%} of a CPU")
    busy.sort(reverse=True)
    top = busy[:5]
    listed = ", ".join(f"{name} (pid {pid}) {share:.0%}" for share, pid, name in top)
    pids = " ".join(str(pid) for _, pid, _ in top)
    return Check("busy processes", "WARN",
                 f"{len(busy)} other process(es) busy: {listed}; pause them while benchmarking "
                 f"(resume with kill -CONT {pids}), pin benchmarks to other CPUs with --cpus, or measure at "
                 "1 thread (`torchperf run --threads 1`): a 2-thread case beside a busy process reads up to "
                 "twice its time, a 1-thread case on a 2-CPU machine keeps a CPU of its own",
                 f"kill -STOP {pids}")


def check_isolated(fs: _Fs) -> Check:
    isolated = (fs.read("/sys/devices/system/cpu/isolated") or "").strip()
    nohz = (fs.read("/sys/devices/system/cpu/nohz_full") or "").strip()
    if nohz == "(null)":
        nohz = ""
    if isolated:
        extra = f", nohz_full {nohz}" if nohz else ""
        return Check("isolated cpus", "OK", f"isolated CPUs {isolated}{extra}: pin benchmarks to them "
                     f"with --cpus {isolated}")
    online = _online_cpus(fs)
    spare = format_cpu_list(online[1:]) if len(online) > 1 else "1"
    return Check("isolated cpus", "INFO", "no isolated CPUs: the scheduler may run other tasks on "
                 "the benchmark's CPUs; isolate some at boot and pin to them with --cpus",
                 f"add 'isolcpus={spare} nohz_full={spare}' to the kernel command line and reboot")


def check_threads(environ: Mapping[str, str], allowed_cpus: Iterable[int]) -> Check:
    ncpu = len(set(allowed_cpus))
    over = []
    settings = []
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        value = environ.get(var)
        if value is None:
            continue
        settings.append(f"{var}={value}")
        try:
            n = max(int(x) for x in value.split(","))  # OpenMP allows a per-level list "4,2"
        except ValueError:
            continue
        if n > ncpu:
            over.append(var)
    if over:
        return Check("threads", "WARN", f"{', '.join(settings)} but only {ncpu} CPU(s) are allowed "
                     "to this process: threads will time-slice and wait for each other",
                     " ".join(f"export {v}={ncpu};" for v in over).rstrip(";"))
    if settings:
        return Check("threads", "OK", f"{', '.join(settings)}; {ncpu} CPU(s) allowed")
    return Check("threads", "OK", f"no OMP/MKL thread variables set; {ncpu} CPU(s) allowed "
                 "(torchperf sets the thread count of each measurement explicitly)")


def _steal_ticks(fs: _Fs) -> tuple[int, int] | None:
    text = fs.read("/proc/stat")
    if not text:
        return None
    for line in text.splitlines():
        if line.startswith("cpu "):
            values = [int(x) for x in line.split()[1:]]
            steal = values[7] if len(values) > 7 else 0
            return steal, sum(values[:8])
    return None


def check_hypervisor(fs: _Fs, sample: _Sample) -> Check:
    signs = []
    if "hypervisor" in cpu_flags(fs.read("/proc/cpuinfo") or ""):
        signs.append("cpuinfo flag 'hypervisor'")
    hv_type = (fs.read("/sys/hypervisor/type") or "").strip()
    if hv_type:
        signs.append(f"/sys/hypervisor/type {hv_type}")
    dmi = " ".join((fs.read(f"/sys/class/dmi/id/{f}") or "").strip()
                   for f in ("sys_vendor", "product_name")).strip()
    if dmi and any(token in dmi.lower() for token in _VM_DMI_TOKENS):
        signs.append(f"DMI '{dmi}'")
    if not signs:
        return Check("hypervisor", "OK", "no sign of a virtual machine")
    before, after = sample.steal_before, sample.steal_after
    detail = f"running in a virtual machine ({'; '.join(signs)}): the host may take CPU time away"
    if before and after and after[1] > before[1]:
        steal = (after[0] - before[0]) / (after[1] - before[1])
        detail += f"; steal time {steal:.1%} while sampled"
        if steal > 0.01:
            return Check("hypervisor", "WARN", detail + ": the host is busy; prefer a dedicated "
                         "(bare-metal or dedicated-core) instance", "vmstat 1 5")
    return Check("hypervisor", "INFO", detail)


def check_numa(fs: _Fs, allowed_cpus: Iterable[int]) -> Check:
    nodes: dict[str, tuple[int, ...]] = {}
    for cpulist in fs.glob("/sys/devices/system/node/node[0-9]*/cpulist"):
        try:
            cpus = parse_cpu_ranges(cpulist.read_text())
        except (OSError, ValueError):
            continue
        if cpus:
            nodes[cpulist.parent.name] = cpus
    if not nodes:
        return Check("numa", "INFO", "no NUMA information exposed")
    if len(nodes) == 1:
        return Check("numa", "OK", "one NUMA node")
    allowed = set(allowed_cpus)
    used = [name for name, cpus in sorted(nodes.items()) if allowed & set(cpus)]
    layout = "; ".join(f"{name}: CPU {format_cpu_list(cpus)}" for name, cpus in sorted(nodes.items()))
    if len(used) > 1:
        first = sorted(nodes.items())[0]
        return Check("numa", "WARN", f"{len(nodes)} NUMA nodes ({layout}) and this process may run "
                     f"on {len(used)} of them: memory may be remote for some threads; pin to one "
                     "node", f"torchperf ... --cpus {format_cpu_list(first[1])}")
    return Check("numa", "OK", f"{len(nodes)} NUMA nodes ({layout}); this process stays on {used[0]}")


def _meminfo(fs: _Fs) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in (fs.read("/proc/meminfo") or "").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key.strip()] = int(parts[0])  # kB
    return values


def check_memory(fs: _Fs) -> Check:
    info = _meminfo(fs)
    if "MemTotal" not in info:
        return Check("memory", "INFO", "/proc/meminfo not readable")
    total = info["MemTotal"]
    available = info.get("MemAvailable", info.get("MemFree", 0))
    detail = f"{available / 2**20:.1f} of {total / 2**20:.1f} GiB available"
    pressure = fs.read("/proc/pressure/memory")
    some_avg10 = None
    if pressure:
        for line in pressure.splitlines():
            if line.startswith("some"):
                for item in line.split()[1:]:
                    key, _, value = item.partition("=")
                    if key == "avg10":
                        some_avg10 = float(value)
    if some_avg10 is not None:
        detail += f"; memory pressure {some_avg10:.2f}% of the last 10 s"
    if available < 0.10 * total or (some_avg10 is not None and some_avg10 > 1.0):
        return Check("memory", "WARN", detail + ": tasks wait for memory; large inputs may be "
                     "reclaimed or swapped", "ps -eo pid,rss,comm --sort=-rss | head")
    return Check("memory", "OK", detail)


def check_swap(fs: _Fs) -> Check:
    info = _meminfo(fs)
    if "SwapTotal" not in info:
        return Check("swap", "INFO", "/proc/meminfo not readable")
    used = info["SwapTotal"] - info.get("SwapFree", 0)
    if info["SwapTotal"] == 0:
        return Check("swap", "OK", "no swap configured")
    if used > 0:
        return Check("swap", "WARN", f"{used / 1024:.0f} MiB of swap in use: pages may be swapped in "
                     "during a measurement", "sudo swapoff -a && sudo swapon -a")
    return Check("swap", "OK", f"swap configured ({info['SwapTotal'] / 1024:.0f} MiB), none in use")


# ----------------------------------------------------------------------------------------------


def run_checks(root: str | os.PathLike[str] = "/", nvidia_smi: str = "nvidia-smi", *,
               environ: Mapping[str, str] | None = None, allowed_cpus: Iterable[int] | None = None,
               sample_interval: float = 0.5, exclude_pids: Iterable[int] | None = None,
               ticks_per_second: int | None = None,
               sleep: Callable[[float], None] = time.sleep) -> DoctorReport:
    """Run every check; reads only (nothing on the machine is changed).

    `sample_interval` is how long busy processes and steal time are sampled; `exclude_pids`
    defaults to this process (its own CPU use is not the machine's noise). Tests inject `sleep` to
    advance their fake /proc between the two samples.
    """
    from torchperf_core.machine.doctor_gpu import check_nvidia  # imports Check from here

    fs = _Fs(root)
    env = os.environ if environ is None else environ
    cpus = tuple(os.sched_getaffinity(0)) if allowed_cpus is None else tuple(allowed_cpus)
    exclude = {os.getpid()} if exclude_pids is None else set(exclude_pids)
    sample = _take_sample(fs, exclude, sample_interval, sleep)
    checks = [
        check_governor(fs),
        check_boost(fs),
        check_smt(fs),
        check_load(fs),
        check_busy_processes(sample, ticks_per_second),
        check_isolated(fs),
        check_threads(env, cpus),
        check_hypervisor(fs, sample),
        check_numa(fs, cpus),
        check_memory(fs),
        check_swap(fs),
        *check_nvidia(nvidia_smi),
    ]
    taken_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    return DoctorReport(tuple(checks), taken_at)

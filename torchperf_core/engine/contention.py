"""Was a sample disturbed? Scheduler accounting read around every sample.

On a shared machine the clock cannot tell a slow kernel from a kernel that waited for a CPU: with
one competing busy process on 2 cores, a 2-thread mm 1024² reads 2× its quiet time, and 2-thread
OpenMP cases read whole scheduler quanta (8 ms for a 25 µs bmm). The kernel knows, though:

    run-queue wait   /proc/self/task/<tid>/schedstat, 2nd field: ns this thread was runnable but
                     not running. Summed over the process's threads (the OpenMP pool included), it
                     is the time our work waited for a CPU — exactly the disturbance. Quiet, it
                     is small but not nil where our threads fill every CPU: the machine's own
                     housekeeping (kernel threads, the init process, ~1% of one CPU on the 2-core
                     AMD VM) displaces one of them now and then. There, nothing else running,
                     2 threads, torch 2.13.0 (2026-12-05), about one sample in ten of fp32
                     MatmulBackward waited more than DISTURBED_WAIT (the measurements' own counts:
                     1024, 35 ms a sample, 23 of 203; 2048, 0.28 s, 7 of 63; `torchperf bench
                     matmul_backward --size 1024` prints its line "retaken 2 of 17 ..."), as many alone as
                     in the gate's sample-by-sample turns. They are retaken; a measurement is
                     contended only where most of its samples are (fp32 MatmulBackward 2048, in
                     one gate trial of 23 there: 7 of 12).
    involuntary      getrusage(RUSAGE_SELF).ru_nivcsw: preemptions of any of our threads. The
    switches         fallback where schedstat is not readable (non-Linux, restricted /proc).
    steal            /proc/stat's 8th cpu field: time the hypervisor ran another guest on our
                     virtual CPUs. Jiffy-resolution, so it is judged over the whole measurement.
    other processes  /proc/stat busy time minus our own CPU time: how much of the machine others
                     used meanwhile (whole measurement, jiffy resolution).

A sample is disturbed when its threads waited more than `DISTURBED_WAIT` of the sample's wall time
(or, in the fallback, were preempted more than once per `FALLBACK_SWITCH_PERIOD`). The timing loop
(`timing.time_callable`) retakes disturbed samples, within bounds, and reports a `Contention`.
Reading is cheap (one pread per thread and one getrusage) and its cost is counted in the clock
overhead the loop already bounds to 1% of a sample.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, replace
from typing import Sequence

# A sample whose threads waited for a CPU more than this fraction of its wall time is disturbed: the
# wait lengthens the sample by up to that much (a parallel region ends with its slowest thread).
DISTURBED_WAIT = 0.02
# ... and never for less than this many seconds of waiting (kernel housekeeping on a quiet machine).
MIN_WAIT_SECONDS = 20e-6
# Fallback (no schedstat): more than one involuntary switch per this many seconds of sample.
FALLBACK_SWITCH_PERIOD = 5e-3
# Steal is invisible per sample (the guest thread looks "running"), so over the whole measurement a
# hypervisor that took more than this fraction of the CPUs makes it contended.
MAX_STEAL = 0.05
# Over the whole measurement, other processes that kept more CPUs busy than our threads left free
# (plus this margin, in CPUs) oversubscribed the machine: even the samples that never waited shared
# caches, memory bandwidth and, on a VM, possibly a physical core (2-thread mm 256² read 315 µs in
# its "clean" samples beside one busy process, 241 µs quiet, on the 2-core VM). At 1 thread beside
# one busy process there is a free CPU, and the numbers held (mm 1024²: 28.0 vs 28.8 ms).
OVERSUBSCRIPTION_MARGIN = 0.25
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Reading:
    """Scheduler counters at one instant."""

    wall: float  # perf_counter seconds
    wait: float | None  # summed run-queue wait of our threads, seconds; None: not readable
    switches: int  # involuntary context switches of the process
    own_cpu: float  # user + system CPU seconds of the process
    machine_busy: float | None  # non-idle CPU seconds of the whole machine (/proc/stat)
    steal: float | None  # stolen CPU seconds of the whole machine (/proc/stat)


def _read_proc_stat() -> tuple[float | None, float | None]:
    try:
        with open("/proc/stat", "rb") as f:
            first = f.readline().split()
    except OSError:
        return None, None
    if not first or first[0] != b"cpu" or len(first) < 5:
        return None, None
    values = [int(v) for v in first[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    steal = values[7] if len(values) > 7 else 0
    busy = sum(values[:8]) - idle - steal  # guest time is already inside user time
    return busy / _CLK_TCK, steal / _CLK_TCK


class SchedProbe:
    """Reads the counters of this process. `refresh()` re-lists the threads (call it after warmup,
    when the thread pools exist)."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads  # how many threads the measured work runs on
        self._fds: dict[str, int] = {}
        self.available = os.path.isdir("/proc/self/task")
        self.refresh()

    def refresh(self) -> None:
        if not self.available:
            return
        try:
            tids = set(os.listdir("/proc/self/task"))
        except OSError:
            self.available = False
            return
        for tid in list(self._fds):
            if tid not in tids:
                os.close(self._fds.pop(tid))
        for tid in tids - set(self._fds):
            try:
                self._fds[tid] = os.open(f"/proc/self/task/{tid}/schedstat", os.O_RDONLY)
            except OSError:
                continue
        if not self._fds:
            self.available = False

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def __del__(self) -> None:  # file descriptors must not outlive the measurement
        try:
            self.close()
        except Exception:
            pass

    def _wait(self) -> float | None:
        if not self.available:
            return None
        total = 0
        for tid, fd in list(self._fds.items()):
            try:
                fields = os.pread(fd, 96, 0).split()
                total += int(fields[1])
            except (OSError, IndexError, ValueError):  # the thread exited: its wait is no longer ours
                os.close(self._fds.pop(tid))
        return total / 1e9

    def read(self) -> Reading:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        busy, steal = _read_proc_stat()
        return Reading(
            wall=time.perf_counter(), wait=self._wait(), switches=usage.ru_nivcsw,
            own_cpu=usage.ru_utime + usage.ru_stime, machine_busy=busy, steal=steal,
        )


def without_machine(first: Reading) -> Reading:
    """`first` with the machine's counters unread: the totals of a paced measurement (`timing.pacing`)
    judge no steal and no crowding. Its samples are separated by pauses in which another process
    measures, and /proc/stat's counters are sampled at the scheduler tick (4-10 ms): over fifteen
    ~15 ms intervals the other process's CPU time leaks into ours (measured on the 2-core AMD host, with
    nothing else running: "other processes used 7-12% of the CPUs", some measurements crowded). Each
    sample's own rule (its threads' run-queue wait, in nanoseconds) still decides disturbance."""
    return replace(first, machine_busy=None, steal=None)


def sample_wait(before: Reading, after: Reading) -> float:
    """Fraction of the interval's wall time our threads spent waiting for a CPU (0 if unknown)."""
    wall = after.wall - before.wall
    if wall <= 0 or before.wait is None or after.wait is None:
        return 0.0
    return max(after.wait - before.wait, 0.0) / wall


def is_disturbed(before: Reading, after: Reading) -> bool:
    """The rule of the module docstring for one sample."""
    wall = after.wall - before.wall
    if wall <= 0:
        return False
    if before.wait is not None and after.wait is not None:
        waited = max(after.wait - before.wait, 0.0)
        return waited > max(DISTURBED_WAIT * wall, MIN_WAIT_SECONDS)
    switches = after.switches - before.switches
    return switches > max(1, int(wall / FALLBACK_SWITCH_PERIOD))


@dataclass(frozen=True)
class Contention:
    """How disturbed one measurement was. `contended` means its numbers must not be trusted."""

    attempts: int  # samples taken, disturbed ones included
    disturbed: int  # samples whose threads waited for a CPU (retaken where the budget allowed)
    contended: bool
    cause: str | None  # why, in words, when any sample was disturbed
    wait_fraction: float  # median wait fraction of the disturbed samples (0 when none)
    steal_fraction: float | None  # machine steal over the measurement, fraction of all CPUs
    others_fraction: float | None  # other processes' CPU use over the measurement, of all CPUs

    @property
    def clean(self) -> int:
        return self.attempts - self.disturbed

    @property
    def disturbed_fraction(self) -> float:
        return self.disturbed / self.attempts if self.attempts else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "attempts": self.attempts, "disturbed": self.disturbed, "contended": self.contended,
            "cause": self.cause, "wait_fraction": self.wait_fraction,
            "steal_fraction": self.steal_fraction, "others_fraction": self.others_fraction,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, object]) -> "Contention":
        def number(key: str) -> float | None:
            value = data.get(key)
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

        attempts, disturbed = data.get("attempts"), data.get("disturbed")
        if not isinstance(attempts, int) or not isinstance(disturbed, int) or not 0 <= disturbed <= attempts:
            raise ValueError(f"contention record has bad attempts/disturbed: {attempts!r}/{disturbed!r}")
        cause = data.get("cause")
        return cls(attempts, disturbed, bool(data.get("contended")), cause if isinstance(cause, str) else None,
                   number("wait_fraction") or 0.0, number("steal_fraction"), number("others_fraction"))


def block_fields(contention: "Contention | None") -> dict[str, object]:
    """A measuring worker's answer for one block: {"contended", "cause"}, both null when the block was
    not watched (bisect's worker). The gate's worker writes the same two fields itself: it runs on a
    commit's own tree, which may predate this function, so it uses the standard library only."""
    if contention is None:
        return {"contended": None, "cause": None}
    return {"contended": bool(contention.contended), "cause": contention.cause}


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return 0.0 if n == 0 else (ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2)


def summarize(first: Reading, last: Reading, waits: Sequence[float], disturbed: int, attempts: int,
              *, enough_clean: bool, threads: int = 1, cpus: int | None = None) -> Contention:
    """The measurement-level verdict from its first and last readings and per-sample disturbances.

    `waits` are the wait fractions of the disturbed samples; `enough_clean` says whether the loop
    reached its minimum number of clean samples. Contended: it did not, or the hypervisor stole more
    than `MAX_STEAL` of the CPUs meanwhile, or other processes oversubscribed the CPUs our `threads`
    needed (`OVERSUBSCRIPTION_MARGIN`).
    """
    cpus = cpus or os.cpu_count() or 1
    wall = last.wall - first.wall
    steal = others = None
    if wall > 0 and first.steal is not None and last.steal is not None:
        steal = max(last.steal - first.steal, 0.0) / (wall * cpus)
    if wall > 0 and first.machine_busy is not None and last.machine_busy is not None:
        ours = max(last.own_cpu - first.own_cpu, 0.0)
        others = max(last.machine_busy - first.machine_busy - ours, 0.0) / (wall * cpus)
    stolen = steal is not None and steal >= MAX_STEAL
    crowded = others is not None and others * cpus + threads > cpus + OVERSUBSCRIPTION_MARGIN
    contended = attempts > 0 and (not enough_clean or stolen or crowded)
    cause = None
    if disturbed or stolen or crowded:
        wait = _median(waits)
        parts = []
        if disturbed and wait > 0:
            parts.append(f"{disturbed} of {attempts} samples waited for a CPU (median wait {wait:.0%} of the sample, summed over threads)")
        elif disturbed:
            parts.append(f"{disturbed} of {attempts} samples were preempted by other processes")
        if steal is not None and steal >= 0.01:
            parts.append(f"the hypervisor stole {steal:.0%} of the CPUs")
        if crowded:
            parts.append(f"other processes kept {others * cpus:.1f} of {cpus} CPUs busy beside {threads} "
                         f"measuring thread{'s' if threads != 1 else ''}")
        elif others is not None and others >= 0.05:
            parts.append(f"other processes used {others:.0%} of the CPUs")
        cause = "; ".join(parts)
    return Contention(attempts, disturbed, contended, cause, _median(waits), steal, others)

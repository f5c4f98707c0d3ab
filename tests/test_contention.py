"""Contention-aware sampling: every sample knows whether its threads waited for a CPU.

The rules are checked on scripted scheduler readings (exact values); the timing loop's retakes on a
fake clock with a fake probe; and once for real, beside two busy processes on this machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.fakes import FakeDevice, FakeTime
from torchperf_core.engine import Contention, Measurement, TimingOptions, time_callable
from torchperf_core.engine import contention as cn
from torchperf_core.engine import timing
from torchperf_core.engine.contention import Reading, is_disturbed, sample_wait, summarize


def reading(wall: float, wait: float | None = 0.0, switches: int = 0, own: float = 0.0,
            busy: float | None = 0.0, steal: float | None = 0.0) -> Reading:
    return Reading(wall=wall, wait=wait, switches=switches, own_cpu=own, machine_busy=busy, steal=steal)


# --- the per-sample rule -------------------------------------------------------------------------

def test_a_sample_is_disturbed_when_its_threads_waited_over_two_percent_of_it() -> None:
    a = reading(1.0, wait=0.5)
    assert is_disturbed(a, reading(1.1, wait=0.5 + 0.0021)) is True  # 2.1% of 100 ms
    assert is_disturbed(a, reading(1.1, wait=0.5 + 0.0019)) is False  # 1.9%
    assert sample_wait(a, reading(1.1, wait=0.53)) == pytest.approx(0.3)


def test_short_samples_need_at_least_the_absolute_wait_floor() -> None:
    a = reading(0.0, wait=0.0)
    # 500 µs sample: 2% would be 10 µs, but kernel housekeeping of < 20 µs is not a disturbance.
    assert is_disturbed(a, reading(500e-6, wait=15e-6)) is False
    assert is_disturbed(a, reading(500e-6, wait=25e-6)) is True


def test_without_schedstat_involuntary_switches_decide() -> None:
    a = reading(0.0, wait=None, switches=10)
    assert is_disturbed(a, reading(0.004, wait=None, switches=11)) is False  # 1 switch in 4 ms
    assert is_disturbed(a, reading(0.004, wait=None, switches=12)) is True
    assert is_disturbed(a, reading(0.020, wait=None, switches=14)) is False  # 4 in 20 ms: 1 per 5 ms
    assert is_disturbed(a, reading(0.020, wait=None, switches=15)) is True
    assert sample_wait(a, reading(0.02, wait=None)) == 0.0


# --- the measurement-level verdict ----------------------------------------------------------------

def test_summary_of_a_clean_measurement() -> None:
    c = summarize(reading(0.0), reading(1.0), [], 0, 15, enough_clean=True, threads=2, cpus=2)
    assert (c.contended, c.cause, c.clean, c.disturbed_fraction) == (False, None, 15, 0.0)


def test_not_enough_clean_samples_is_contended_with_the_cause() -> None:
    c = summarize(reading(0.0), reading(1.0), [0.5, 0.7, 0.9], 3, 4, enough_clean=False, threads=1, cpus=2)
    assert c.contended is True
    assert c.cause == "3 of 4 samples waited for a CPU (median wait 70% of the sample, summed over threads)"
    assert c.wait_fraction == pytest.approx(0.7)
    assert c.disturbed_fraction == 0.75


def test_other_processes_oversubscribing_our_threads_make_it_contended() -> None:
    # 1 s on 2 CPUs: the machine was busy 1.6 CPU-seconds, 1.0 of them ours -> others kept 0.6 CPUs busy.
    first, last = reading(0.0, own=0.0, busy=0.0), reading(1.0, own=1.0, busy=1.6)
    two = summarize(first, last, [], 0, 15, enough_clean=True, threads=2, cpus=2)
    assert two.others_fraction == pytest.approx(0.3)
    assert two.contended is True
    assert two.cause == "other processes kept 0.6 of 2 CPUs busy beside 2 measuring threads"
    # At 1 thread a CPU was free for the other process: not contended (mm 1024² held at 1 thread).
    one = summarize(first, last, [], 0, 15, enough_clean=True, threads=1, cpus=2)
    assert one.contended is False
    assert one.cause is None
    # The margin: 0.2 CPUs of background beside 2 threads on 2 CPUs is tolerated, 0.3 is not.
    assert summarize(first, reading(1.0, own=1.0, busy=1.2), [], 0, 15, enough_clean=True, threads=2, cpus=2).contended is False
    assert summarize(first, reading(1.0, own=1.0, busy=1.3), [], 0, 15, enough_clean=True, threads=2, cpus=2).contended is True


def test_steal_over_five_percent_is_contended() -> None:
    c = summarize(reading(0.0, steal=0.0), reading(1.0, steal=0.12), [], 0, 10, enough_clean=True, threads=1, cpus=2)
    assert c.steal_fraction == pytest.approx(0.06)
    assert c.contended is True
    assert c.cause == "the hypervisor stole 6% of the CPUs"
    assert summarize(reading(0.0, steal=0.0), reading(1.0, steal=0.08), [], 0, 10,
                     enough_clean=True, threads=1, cpus=2).contended is False


def test_contention_json_round_trip_and_refusal() -> None:
    c = Contention(20, 5, False, "5 of 20 samples waited for a CPU (median wait 30% of the sample, summed over threads)", 0.3, 0.0, 0.1)
    assert Contention.from_json(json.loads(json.dumps(c.to_json()))) == c
    with pytest.raises(ValueError, match="bad attempts/disturbed"):
        Contention.from_json({"attempts": 3, "disturbed": 4})


# --- the timing loop's retakes ---------------------------------------------------------------------

class FakeProbe:
    """Scheduler counters driven by the op: a disturbed call adds run-queue wait."""

    def __init__(self, time_: FakeTime, threads: int = 2) -> None:
        self.time = time_
        self.threads = threads
        self.wait = 0.0
        self.refreshed = 0

    def refresh(self) -> None:
        self.refreshed += 1

    def read(self) -> Reading:
        return reading(self.time.now, wait=self.wait, busy=None, steal=None)


class DisturbedOp:
    """Costs `warm` seconds; calls numbered in `disturbed` (1-based) cost 2x and wait half of it."""

    def __init__(self, time_: FakeTime, probe: FakeProbe, warm: float, disturbed: set[int]) -> None:
        self.time, self.probe, self.warm, self.disturbed, self.calls = time_, probe, warm, disturbed, 0

    def __call__(self) -> None:
        self.calls += 1
        if self.calls in self.disturbed:
            self.time.advance(2 * self.warm)
            self.probe.wait += self.warm
        else:
            self.time.advance(self.warm)


OPTIONS = TimingOptions(warmup_time=0.01, min_warmup_calls=3, samples=10, min_samples=5, max_time=10.0)


def _run(disturbed_after_warmup: set[int], *, probe: bool = True, options: TimingOptions = OPTIONS):
    t = FakeTime()
    p = FakeProbe(t)
    # Warmup is deterministic on the fake clock: learn how many calls it makes, then disturb the
    # samples counted from there.
    warm = time_callable(DisturbedOp(t, p, 1e-3, set()), device=FakeDevice(t), clock=t, options=options)
    t2 = FakeTime()
    p2 = FakeProbe(t2)
    op = DisturbedOp(t2, p2, 1e-3, {warm.warmup_calls + i for i in disturbed_after_warmup})
    raw = time_callable(op, device=FakeDevice(t2), clock=t2, options=options, probe=p2 if probe else None)
    assert raw.number == 1
    return raw, p2


def test_disturbed_samples_are_retaken_and_left_out() -> None:
    raw, probe = _run({1, 2, 3, 4})
    assert probe.refreshed == 1
    assert len(raw.samples) == 10
    assert raw.samples == pytest.approx((1e-3,) * 10)  # none of the 2 ms disturbed samples
    c = raw.contention
    assert (c.attempts, c.disturbed, c.contended) == (14, 4, False)
    assert c.cause == "4 of 14 samples waited for a CPU (median wait 50% of the sample, summed over threads)"


def test_retakes_are_bounded_and_a_starved_measurement_is_contended_keeping_every_sample() -> None:
    raw, _ = _run(set(range(1, 1000)))
    c = raw.contention
    assert (c.attempts, c.disturbed, c.contended) == (30, 30, True)  # 3x the planned 10 samples
    assert len(raw.samples) == 30 and raw.samples == pytest.approx((2e-3,) * 30)


def test_enough_clean_samples_within_the_bound_is_not_contended() -> None:
    raw, _ = _run(set(range(1, 26)))  # 25 disturbed, then clean ones until the 30-attempt bound
    c = raw.contention
    assert (c.attempts, c.disturbed, c.contended) == (30, 25, False)
    assert len(raw.samples) == 5  # min_samples clean: enough, and only those are kept


@pytest.mark.parametrize("disturbed,max_time,probe,stopped_by,kept", [
    ({1, 2, 3, 4}, 10.0, True, timing.STOP_SAMPLES, 10),
    (set(range(1, 1000)), 10.0, True, timing.STOP_ATTEMPTS, 30),
    (set(range(1, 26)), 10.0, True, timing.STOP_ATTEMPTS, 5),
    (set(), 0.0045, True, timing.STOP_TIME, 5),  # 1 ms samples: the 4.5 ms cap passes at the 5th, the minimum
    ({1, 2}, 0.0045, True, timing.STOP_TIME, 5),  # two retaken, then the cap (7 samples in 9 ms)
    (set(range(1, 1000)), 0.0045, True, timing.STOP_HARD_TIME, 7),  # 2 ms each: 3 x 4.5 ms passes at the 7th
    ({1, 2}, 0.0045, False, timing.STOP_TIME, 5),  # unwatched: disturbed ones count as samples
])  # fmt: skip
def test_the_loop_says_which_bound_ended_it(disturbed, max_time, probe, stopped_by, kept) -> None:
    """`RawTiming.stopped_by` is set where the loop breaks: the one fact the short-measurement note reads.
    Bugs caught: a bound's label swapped with another's, a bound tested in the wrong order (the attempts
    before the samples asked), the time cap's label on the hard cap."""
    options = TimingOptions(warmup_time=0.01, min_warmup_calls=3, samples=10, min_samples=5, max_time=max_time)
    raw, _ = _run(disturbed, probe=probe, options=options)
    assert (raw.stopped_by, len(raw.samples)) == (stopped_by, kept)


def test_without_a_probe_the_loop_is_unchanged() -> None:
    raw, _ = _run({1, 2}, probe=False)
    assert raw.contention is None
    assert len(raw.samples) == 10
    assert sorted(raw.samples)[-2:] == [pytest.approx(2e-3)] * 2  # not watched: disturbed ones stay


# --- paced samples (the gate's sample-by-sample alternation) ----------------------------------------

class MachineProbe(FakeProbe):
    """FakeProbe with the machine's busy CPU seconds, so that other processes' use is measured."""

    busy = 0.0

    def read(self) -> Reading:
        return reading(self.time.now, wait=self.wait, busy=self.busy, steal=0.0)


@pytest.mark.parametrize("cold", [False, True])
def test_paced_pauses_are_neither_samples_nor_disturbance_nor_time_spent(cold: bool) -> None:
    """Before each sample the pace blocks for 0.5 s while the other side's process keeps both CPUs
    busy (and our threads queue for 0.1 s): every sample is still 1 ms and clean, all 10 are taken
    although 10 pauses far exceed max_time (0.05 s), and the measurement is not contended.
    The machine's counters (tick-sampled, too coarse between pauses) are left out of a paced
    measurement's totals, and only of a paced one's.
    Bugs caught: the pause inside a sample (no fresh opening reading), the first sample after a pause
    disturbed (a stale probe reading), the pauses counted against max_time (5 samples, the minimum),
    the pauses' busy CPUs in the totals (crowded: contended), the counters dropped unpaced too."""
    t = FakeTime()
    p = MachineProbe(t)
    paces: list[float] = []

    def pace() -> None:
        paces.append(t.now)
        t.advance(0.5)
        p.busy += 2 * 0.5
        p.wait += 0.1

    options = TimingOptions(warmup_time=0.01, min_warmup_calls=3, samples=10, min_samples=5, max_time=0.05, cold_l2=cold)
    with timing.pacing(pace):
        raw = time_callable(DisturbedOp(t, p, 1e-3, set()), device=FakeDevice(t), clock=t, options=options, probe=p,
                            flush=(lambda: t.advance(1e-4)) if cold else None)
    assert len(paces) == 10 and raw.samples == pytest.approx((1e-3,) * 10)
    c = raw.contention
    assert (c.attempts, c.disturbed, c.contended, c.cause) == (10, 0, False, None)
    assert (c.others_fraction, c.steal_fraction) == (None, None)
    # outside the context nothing paces
    plain = time_callable(DisturbedOp(t, p, 1e-3, set()), device=FakeDevice(t), clock=t, options=options, probe=p,
                          flush=(lambda: t.advance(1e-4)) if cold else None)
    assert len(paces) == 10 and len(plain.samples) == 10
    assert (plain.contention.others_fraction, plain.contention.steal_fraction) == (0.0, 0.0)


# --- the measurement's JSON -------------------------------------------------------------------------

def test_measurement_json_carries_contention_and_reads_format_v1(tmp_path) -> None:
    from torchperf_core.engine import TaskSpec

    c = Contention(16, 9, True, "9 of 16 samples waited for a CPU (median wait 60% of the sample, summed over threads)", 0.6, None, 0.4)
    m = Measurement(TaskSpec("mm", (("m", 8), ("n", 8), ("k", 8)), "float32", "cpu"), (1e-3, 2e-3), 1, 3,
                    contention=c)
    data = json.loads(json.dumps(m.to_json()))
    assert data["format_version"] == 2
    assert Measurement.from_json(data).contention == c
    data["format_version"] = 1
    del data["contention"]
    assert Measurement.from_json(data).contention is None


# --- for real: two busy processes beside a 2-thread measurement --------------------------------------

_SPIN = (
    "import sys, time\n"
    "end = time.monotonic() + float(sys.argv[1])\n"
    "print('spinning', flush=True)\n"
    "while time.monotonic() < end:\n"
    "    pass\n"
)


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc scheduler accounting")
def test_a_real_measurement_beside_busy_processes_is_contended() -> None:
    from torchperf_core.engine import measure

    cpus = os.cpu_count() or 1
    # Bare interpreters that say when their loop starts: the measurement begins only once every one
    # of them spins (a spawned child that first imported this module, and torch with it, could still
    # be importing on a loaded machine when a short measurement had already finished). And a case
    # whose samples span the scheduler's slices (mm 1024: ~5 ms a call at 2 threads here): mm 256
    # (~0.2 ms) could fit its whole measurement into slices the busy processes did not get (measured:
    # 1 of 3 such measurements saw other processes at 0% of the CPUs, 0 of 10 samples disturbed).
    hogs = [subprocess.Popen([sys.executable, "-c", _SPIN, "30"], stdout=subprocess.PIPE, text=True)
            for _ in range(cpus)]
    try:
        for h in hogs:
            assert h.stdout is not None and h.stdout.readline().strip() == "spinning"
        m = measure("mm", 1024, "float32", "cpu", threads=cpus,
                    options=TimingOptions(samples=10, min_samples=6, max_time=0.5))
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    assert m.contention is not None
    assert m.contention.contended is True, m.contention
    assert "busy" in (m.contention.cause or "") or "waited" in (m.contention.cause or "")


def test_block_fields_are_null_unwatched_and_the_verdict_otherwise() -> None:
    """The worker answer's two fields: a block nobody watched is neither clean nor contended."""
    from torchperf_core.engine import Contention, block_fields

    assert block_fields(None) == {"contended": None, "cause": None}
    busy = Contention(10, 6, True, "6 of 10 samples waited for a CPU", 0.4, None, 0.9)
    assert block_fields(busy) == {"contended": True, "cause": "6 of 10 samples waited for a CPU"}
    assert block_fields(Contention(10, 0, False, None, 0.0, 0.0, 0.0)) == {"contended": False, "cause": None}

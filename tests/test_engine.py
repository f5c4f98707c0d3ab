"""The timing engine against a fake clock and a fake device: deterministic, no real timing."""

from __future__ import annotations


import pytest

from torchperf_core.engine.clock import SyncClock
from torchperf_core.engine.timing import TimingOptions, choose_number, measure_clock_overhead, time_callable
from tests.fakes import FakeDevice, FakeEvent, FakeOp, FakeTime


def _setup(warm: float, cold: float = 0.0, read_cost: float = 0.0, sync_cost: float = 0.0, cold_calls: int = 1):
    t = FakeTime(read_cost)
    dev = FakeDevice(t, sync_cost)
    op = FakeOp(t, warm, cold, cold_calls)
    return t, dev, op, SyncClock(dev, time_fn=t)


def test_warmup_keeps_cold_calls_out_of_every_sample():
    # First 3 calls are 1000x slower (handle creation, primitive cache...).
    t, dev, op, clock = _setup(warm=1e-3, cold=1.0, cold_calls=3)
    raw = time_callable(op, device=dev, clock=clock, options=TimingOptions(samples=10, min_warmup_calls=3))
    assert raw.warmup_calls >= 3
    assert all(s == pytest.approx(1e-3) for s in raw.samples)


def test_single_sample_run_is_warm():
    t, dev, op, clock = _setup(warm=2e-3, cold=0.5)
    raw = time_callable(op, device=dev, clock=clock, options=TimingOptions(samples=1, min_samples=1))
    assert len(raw.samples) == 1
    assert raw.samples[0] == pytest.approx(2e-3)


def test_warmup_lasts_at_least_warmup_time_and_min_calls():
    t, dev, op, clock = _setup(warm=1e-4)
    opts = TimingOptions(warmup_time=0.05, min_warmup_calls=3, samples=1, min_samples=1)
    raw = time_callable(op, device=dev, clock=clock, options=opts)
    # batches double (1 + 1 + 2 + ... + 256) until 0.05 s of 0.1 ms calls have run: 512 >= 500
    assert raw.warmup_calls == 512
    t2, dev2, op2, clock2 = _setup(warm=1.0)
    raw2 = time_callable(op2, device=dev2, clock=clock2, options=opts)
    assert raw2.warmup_calls == 3


def test_one_sync_per_sample_not_per_call():
    # A µs-scale op with a 10 µs sync: batching must put many calls in one sample.
    t, dev, op, clock = _setup(warm=1e-6, sync_cost=1e-5)
    opts = TimingOptions(samples=12, max_time=100.0)
    raw = time_callable(op, device=dev, clock=clock, options=opts)
    assert len(raw.samples) == 12
    assert raw.number > 1
    assert raw.syncs_in_samples == len(raw.samples) + 1  # one per sample + the opening read
    calls_in_samples = raw.number * len(raw.samples)
    assert op.calls - raw.warmup_calls == calls_in_samples


def test_batching_keeps_overhead_below_max_overhead():
    sync = 1e-5
    t, dev, op, clock = _setup(warm=1e-6, sync_cost=sync)
    opts = TimingOptions(samples=5, max_overhead=0.01, max_time=100.0)
    raw = time_callable(op, device=dev, clock=clock, options=opts)
    assert raw.overhead == pytest.approx(sync)
    # each sample = number calls + one sync; the sync is <= 1% of the sample
    assert sync / (raw.number * 1e-6 + sync) <= 0.01
    for s in raw.samples:
        assert s == pytest.approx(1e-6 * (1 + 0.01), rel=0.01)


def test_choose_number_math():
    opts = TimingOptions(max_overhead=0.01, min_sample_time=0.0, samples=10, max_time=100.0)
    # overhead 1e-5, call 1e-6: need number >= 1e-5 / (0.01 * 1e-6) = 1000
    assert choose_number(1e-6, 1e-5, opts) == 1000
    # big op: one call per sample
    assert choose_number(0.5, 1e-5, opts) == 1
    # min_sample_time: 1e-3 / 1e-5 = 100 calls
    opts2 = TimingOptions(max_overhead=0.5, min_sample_time=1e-3, samples=10, max_time=100.0)
    assert choose_number(1e-5, 1e-9, opts2) == 100
    # the time budget caps the duration rule but never the overhead rule
    opts3 = TimingOptions(max_overhead=0.01, min_sample_time=1.0, samples=10, max_time=1e-3)
    assert choose_number(1e-6, 1e-5, opts3) == 1000


def test_measure_clock_overhead_is_one_read():
    t = FakeTime(read_cost=3e-7)
    dev = FakeDevice(t, sync_cost=2e-6)
    assert measure_clock_overhead(SyncClock(dev, time_fn=t)) == pytest.approx(2.3e-6)


def test_sample_budget_stops_early_but_not_below_min_samples():
    t, dev, op, clock = _setup(warm=1.0)
    opts = TimingOptions(samples=50, min_samples=4, max_time=2.0, warmup_time=0.0, min_warmup_calls=1)
    raw = time_callable(op, device=dev, clock=clock, options=opts)
    assert len(raw.samples) == 4


def test_rotation_cycles_through_input_sets():
    t = FakeTime()
    dev = FakeDevice(t)
    seen = []
    fns = [lambda i=i: (seen.append(i), t.advance(1e-3)) for i in range(3)]
    time_callable(fns, device=dev, clock=SyncClock(dev, time_fn=t), options=TimingOptions(samples=3))
    assert set(seen) == {0, 1, 2}
    assert seen[:6] == [0, 1, 2, 0, 1, 2]


def test_cold_l2_flush_is_never_timed():
    t, dev, op, clock = _setup(warm=1e-3)
    flushes = []

    def flush():
        flushes.append(t.now)
        t.advance(0.1)  # a slow flush must not appear in samples

    opts = TimingOptions(samples=6, cold_l2=True, max_time=100.0)
    raw = time_callable(op, device=dev, clock=clock, options=opts, flush=flush)
    assert raw.number == 1 and raw.cold_l2
    assert len(flushes) == 6
    assert all(s == pytest.approx(1e-3) for s in raw.samples)


def test_events_mode_syncs_once_fake_cuda():
    t, dev, op, clock = _setup(warm=1e-5, sync_cost=1e-5)
    syncs_at_first_event: list[int] = []

    def event():
        if not syncs_at_first_event:
            syncs_at_first_event.append(dev.syncs)
        return FakeEvent(t)

    raw = time_callable(op, device=dev, clock=clock, options=TimingOptions(samples=8, mode="events"),
                        event_factory=event)
    assert raw.mode == "events"
    assert len(raw.samples) == 8
    assert all(s == pytest.approx(1e-5) for s in raw.samples)
    # warmup + overhead reads sync; the sampling itself syncs exactly once (counted on the device,
    # not taken from what the engine reports about itself)
    assert dev.syncs - syncs_at_first_event[0] == 1
    assert raw.syncs_in_samples == 1


def test_options_are_validated():
    with pytest.raises(ValueError):
        TimingOptions(mode="wallclock")
    with pytest.raises(ValueError):
        TimingOptions(max_overhead=0)
    with pytest.raises(ValueError):
        time_callable(lambda: None, device=FakeDevice(FakeTime()), options=TimingOptions(cold_l2=True))


CAP_NOTE = "4 of the 50 samples asked: the 2 s time cap ended the measurement (at least 4 are kept)"


@pytest.mark.parametrize("taken,disturbed,stopped_by,notes", [
    (4, None, "time cap", (CAP_NOTE,)),
    (4, 0, "time cap", (CAP_NOTE,)),
    (50, None, "samples", ()),
    (4, 2, "time cap", (CAP_NOTE,)),  # retakes and then the cap: the contention line says the first, this the second
    (4, 2, "hard time cap", ()),  # the hard cap binds only with disturbed samples: the contention line says so
    (4, 26, "attempts", ()),
])  # fmt: skip
def test_a_measurement_short_of_its_samples_says_the_time_cap_ended_it(monkeypatch, taken, disturbed, stopped_by,
                                                                        notes):
    """`bench --samples 30` on a 0.29 s op took 7 and said only "samples 7": the measurement's note says why,
    and `torchperf bench` prints it. The loop says which bound ended it (`RawTiming.stopped_by`); the note is
    its time cap's. Bugs caught: the note on a full measurement, the cap blamed where the attempts or the hard
    cap ended it, the asked count or the cap's seconds taken from the wrong place, the note not printed."""
    from torchperf_core.engine.contention import Contention
    from torchperf_core.engine.measurement import Case, prepare
    from torchperf_core.engine.timing import RawTiming
    from torchperf_core.render import render_measurement

    case = prepare("add", 8, "float32", "cpu")
    contention = None if disturbed is None else Contention(taken + disturbed, disturbed, False, None, 0.0, 0.0, 0.0)
    raw = RawTiming(tuple([1e-6] * taken), 1, 3, 1e-8, taken, "sync", False, contention, stopped_by)
    monkeypatch.setattr(Case, "time", lambda self, options, **kw: raw)
    m = case.measure(TimingOptions(samples=50, min_samples=4, max_time=2.0))
    assert m.notes == notes
    lines = render_measurement(m).splitlines()
    assert [line for line in lines if line.startswith("  note ")] == [f"  note       {n}" for n in notes]

"""The doctor/noise figures stored with results, as compare and the site read them."""

import json
import math

from torchperf_core.machine.doctor import Check, DoctorReport
from torchperf_core.machine.condition import load_condition
from torchperf_core.machine.noise import NoiseReport, ProbeNoise


def _write(tmp_path, doctor=None, noise=None):
    base = tmp_path / "meta" / "box"
    base.mkdir(parents=True)
    if doctor is not None:
        (base / "doctor.json").write_text(doctor if isinstance(doctor, str) else json.dumps(doctor.to_json()))
    if noise is not None:
        (base / "noise.json").write_text(json.dumps(noise.to_json()))
    return tmp_path / "meta"


def _noise():
    steady = tuple(tuple(1e-3 * (1 + 0.001 * i) for i in range(15)) for _ in range(3))
    drifting = tuple(tuple(0.1 * k * (1 + 0.001 * i) for i in range(15)) for k in (1, 2, 3))
    return NoiseReport((ProbeNoise("mm 256", steady), ProbeNoise("mm 2048", drifting)), taken_at="t")


def test_unchecked_when_nothing_saved(tmp_path):
    c = load_condition(tmp_path / "meta", "box")
    assert c.verdict == "unchecked" and c.mds_for_time(1e-3) is None
    assert "noise not measured" in c.summary()


def test_quiet_noisy_and_mds(tmp_path):
    warn = DoctorReport((Check("load", "WARN", "load 3.1"), Check("smt", "OK", "off")))
    meta = _write(tmp_path, warn, _noise())
    c = load_condition(meta, "box")
    assert c.verdict == "noisy" and "doctor warns: load" in c.summary()
    assert c.mds_for_time(1.2e-3) == c.noise.probe("mm 256").mds
    assert c.mds_for_time(0.2) == math.inf  # drift > 100%: nothing below that is detectable
    assert "mm 2048 >100%" in c.summary()


def test_corrupt_reports_are_named_and_left_alone(tmp_path):
    meta = _write(tmp_path, '{"format_version": 1, "checks": [')
    c = load_condition(meta, "box")
    assert c.doctor is None and len(c.problems) == 1 and "doctor.json" in c.problems[0]
    assert (meta / "box" / "doctor.json").read_text() == '{"format_version": 1, "checks": ['

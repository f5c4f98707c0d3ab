"""`torchperf compare` calls out a significant change smaller than the machine's minimum detectable
slowdown (MDS), and only that one.

The flag is a caveat next to a verdict: raised on every change it would say nothing; raised on none
it would let a change inside the machine's drift pass for a real one. The fixture (see
test_pins_factor.torch_run) has three significant changes at a 2-6 ms call time, +8.5%, +50% and
-50%, and a noise report whose only probe (3.2 ms a call) has an MDS of 24%: exactly the +8.5% one
is below it.
"""

from __future__ import annotations

import json

import pytest

from tests.compare_helpers import HEAD, MACHINE, ROOT, run_cli
from tests.test_pins_factor import torch_run
from torchperf_core import compare as cmp
from torchperf_core.compare import Source
from torchperf_core.machine.noise import NoiseReport, ProbeNoise

RUN_MEDIANS_MS = (3.0, 3.45)  # two runs of unchanged code, 15% apart


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def _noise() -> NoiseReport:
    runs = tuple(tuple(m * 1e-3 * (1 + 1e-4 * i) for i in range(10)) for m in RUN_MEDIANS_MS)
    return NoiseReport((ProbeNoise("mm 3ms", runs),), taken_at="2026-11-24T20:00:00Z")


def test_the_fixture_noise_report_has_an_mds_of_24_percent():
    noise = _noise()
    assert noise.probes[0].mds == pytest.approx(0.24)
    assert noise.mds_for_time(2e-3) == noise.mds_for_time(6e-3) == pytest.approx(0.24)


def test_only_the_change_below_the_mds_is_flagged(tmp_path):
    results, _head = torch_run(tmp_path, mix=True)
    (results.parent / "meta" / MACHINE / "noise.json").write_text(json.dumps(_noise().to_json()))
    c = cmp.compare_versions(Source(results), ["2.13.0", "2.14.1"], commit=HEAD)
    changed = sorted((r.name, r.verdict) for r in c.rows if r.significant)
    assert changed == [
        ("bench_toy.Work.time_work('faster', 1)", "faster"),
        ("bench_toy.Work.time_work('slower', 2)", "slower"),
        ("bench_toy.Work.time_work('steady', 1)", "slower"),
    ]
    assert c.warnings == (
        "machine cmpbox: unchecked; minimum detectable slowdown: mm 3ms 24%",
        "bench_toy.Work.time_work ('steady', 1): change +8% is below this machine's minimum detectable "
        "slowdown (24%) at that call time; confirm on a quieter machine",
    )


def test_no_noise_report_no_mds_flags(tmp_path):
    results, _head = torch_run(tmp_path, mix=True)
    c = cmp.compare_versions(Source(results), ["2.13.0", "2.14.1"], commit=HEAD)
    assert c.warnings == ()


def test_mds_flag_reaches_the_cli(tmp_path, capsys):
    results, _head = torch_run(tmp_path, mix=True)
    (results.parent / "meta" / MACHINE / "noise.json").write_text(json.dumps(_noise().to_json()))
    code, out, err = run_cli(capsys, "compare", "--torch", "2.13.0", "2.14.1", "--results-dir", str(results))
    assert (code, err) == (1, "")
    flagged = [line for line in out.splitlines() if "minimum detectable slowdown (" in line]
    assert len(flagged) == 1 and "time_work ('steady', 1): change +8%" in flagged[0]

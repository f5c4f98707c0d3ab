"""Noise arithmetic against hand-computed samples, the significance rule against asv's own, and the
`torchperf noise` command end to end on tiny probes."""

from __future__ import annotations

import json
import os
import random

import pytest

from torchperf_core import cli

from torchperf_core.machine import noise
from torchperf_core.engine.affinity import current_affinity
from torchperf_core.errors import TorchperfError
from torchperf_core.machine import checks as machine_checks
from torchperf_core.machine.noise import NoiseReport, ProbeNoise

TIGHT = tuple(1.0 + 0.0001 * k for k in range(15))  # 15 samples spread over 0.14%


def test_medians_iqr_cv_drift_by_hand():
    runs = [[1, 2, 3, 4, 5], [2, 4, 6, 8, 10]]
    assert noise.run_medians(runs) == (3, 6)
    # q25, q75 by linear interpolation: 2 and 4 (run 1), 4 and 8 (run 2)
    assert noise.run_relative_iqrs(runs) == pytest.approx((2 / 3, 2 / 3))
    # medians 3 and 6: mean 4.5, sample stdev sqrt(1.5² + 1.5²) = 2.1213
    assert noise.cv_of_medians(runs) == pytest.approx(2.1213203 / 4.5)
    assert noise.drift(runs) == pytest.approx(1.0)
    probe = ProbeNoise("p", ((1, 2, 3, 4, 5), (2, 4, 6, 8, 10)))
    assert probe.median == pytest.approx(4.5) and probe.relative_iqr == pytest.approx(2 / 3)


def test_identical_tight_runs_detect_just_above_the_factor():
    runs = [TIGHT] * 5
    # Samples never overlap once slowed by >= 1%, so significance is immediate (Mann-Whitney, 15+15)
    # and only the factor decides: the first grid point above 10.5% is 11%.
    assert noise.statistical_mds(runs, factor=1.105) == pytest.approx(0.11)
    assert noise.minimum_detectable_slowdown(runs, factor=1.105) == pytest.approx(0.11)
    assert noise.minimum_detectable_slowdown(runs, factor=1.0) == pytest.approx(0.01)
    assert noise.false_alarm_rate(runs) == 0.0
    assert noise.drift(runs) == 0.0
    assert noise.detection_rate(runs, 0.10, factor=1.105) == 0.0
    assert noise.detection_rate(runs, 0.11, factor=1.105) == 1.0


def test_drift_bounds_the_mds_from_below():
    # Ten identical runs and one 50% slower: 100 of the 110 ordered pairs detect a 1% slowdown
    # (91% >= 90%), but two runs of unchanged code already differ by 50%.
    runs = [TIGHT] * 10 + [tuple(1.5 * x for x in TIGHT)]
    grid = (0.01, 0.2, 0.4, 0.6, 0.8, 1.0)  # coarse: 110 pairs per point
    assert noise.detection_rate(runs, 0.01, factor=1.0) == pytest.approx(100 / 110)
    assert noise.statistical_mds(runs, factor=1.0, grid=grid) == pytest.approx(0.01)
    assert noise.drift(runs) == pytest.approx(0.5)
    assert noise.minimum_detectable_slowdown(runs, factor=1.0, grid=grid) == pytest.approx(0.5)


def test_every_larger_grid_point_must_pass_and_none_when_nothing_does():
    runs = [TIGHT] * 3
    assert noise.statistical_mds(runs, factor=1.05, grid=(0.01, 0.02, 0.03)) is None
    assert noise.minimum_detectable_slowdown(runs, factor=1.05, grid=(0.01, 0.10)) == pytest.approx(0.10)


def test_few_samples_use_the_confidence_interval_rule():
    # 5 + 5 samples cannot reach p < 0.002 with Mann-Whitney (min p = 1/252), so asv falls back to
    # non-overlapping 99% CIs, which for 5 samples extend past the data (Laplace posterior).
    # Here the 99% CI of the median is [0.991, 1.049]; slowed by 5% it starts at 1.041 (overlap),
    # slowed by 10% at 1.091 (no overlap).
    a = (1.00, 1.01, 1.02, 1.03, 1.04)
    assert not noise.is_regression(a, tuple(1.05 * x for x in a), factor=1.0)
    assert noise.is_regression(a, tuple(1.10 * x for x in a), factor=1.0)
    # Wider samples: a 50% slowdown clears the factor but not the CI test.
    wide = (1.0, 1.1, 1.2, 1.3, 1.4)
    assert not noise.is_regression(wide, tuple(1.5 * x for x in wide))
    assert noise.is_regression(wide, tuple(1.7 * x for x in wide))


def test_is_regression_matches_asv_compare_exactly():
    from asv.commands.compare import _is_result_better
    from asv_runner.statistics import compute_stats

    rng = random.Random(7)
    checked = 0
    for n_a, n_b in [(1, 1), (3, 3), (5, 7), (6, 6), (10, 15), (25, 25)]:
        for _ in range(40):
            a = [rng.lognormvariate(0, 0.1) for _ in range(n_a)]
            b = [rng.lognormvariate(rng.uniform(-0.1, 0.4), 0.1) for _ in range(n_b)]
            (va, sa), (vb, sb) = compute_stats(a, 1), compute_stats(b, 1)
            expected = _is_result_better(va, vb, (sa, a), (sb, b), 1.1)
            assert noise.is_regression(a, b, 1.1) == expected
            checked += expected
    assert 0 < checked < 240  # both verdicts were exercised


def test_report_json_round_trip_and_nearest_probe():
    report = NoiseReport(
        (ProbeNoise("fast", (TIGHT, TIGHT)), ProbeNoise("slow", (tuple(1000 * x for x in TIGHT),) * 2)),
        threads=2, cpus=(0, 1), taken_at="2026-01-01T00:00:00+00:00")
    data = json.loads(json.dumps(report.to_json()))
    assert data["format_version"] == 1 and data["factor"] == noise.DEFAULT_FACTOR == 1.07
    assert data["p_threshold"] == 0.002
    assert data["probes"][0]["samples_per_run"] == [15, 15]
    assert data["probes"][0]["mds"] == pytest.approx(0.08)  # the first grid point beyond the factor
    again = NoiseReport.from_json(data)
    assert again == report
    assert again.mds_for_time(2.0) == report.probe("fast").mds
    assert again.mds_for_time(500.0) == report.probe("slow").mds
    with pytest.raises(TorchperfError, match=r"^noise report format_version 99 not supported \(this torchperf reads 1\)"):
        NoiseReport.from_json({**data, "format_version": 99})


def test_one_run_is_refused():
    with pytest.raises(ValueError, match="at least 2 runs"):
        ProbeNoise("p", (TIGHT,))


def test_noise_command_tiny_probes_pinned(tmp_path, monkeypatch, capsys):
    from torchperf_core.render import render_noise

    monkeypatch.setattr(machine_checks, "PROBES", (("mm 32", "mm", 32), ("add 64x64", "add", 64)))
    monkeypatch.chdir(tmp_path)
    original = current_affinity()
    cpu = original[-1]
    try:
        rc = cli.main(["noise", "--runs", "2", "--samples", "6", "--threads", "1", "--cpus", str(cpu),
                       "--save", "--machine", "box", "--json"])
        assert current_affinity() == (cpu,)
    finally:
        os.sched_setaffinity(0, set(original))
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((tmp_path / "meta/box/noise.json").read_text())
    assert printed == saved
    report = NoiseReport.from_json(saved)
    assert [p.name for p in report.probes] == ["mm 32", "add 64x64"]
    assert all(len(p.runs) == 2 and all(len(r) == 6 for r in p.runs) for p in report.probes)
    assert report.threads == 1 and report.cpus == (cpu,)
    text = render_noise(report)
    assert text.splitlines()[0].split()[:3] == ["probe", "median", "IQR/median"]


@pytest.mark.parametrize("argv,message", [
    (["--runs", "1"], "--runs 1"), (["--samples", "1"], "--samples 1"), (["--threads", "0"], "--threads 0"),
    (["--factor", "0.9"], "--factor 0.9"), (["--cpus", "x"], "--cpus"),
])
def test_noise_command_user_errors(argv, message, capsys):
    assert cli.main(["noise", *argv]) == 2
    assert message in capsys.readouterr().err

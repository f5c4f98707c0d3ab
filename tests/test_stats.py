"""Statistics against hand-computed values."""

import dataclasses
import math

import pytest

from torchperf_core.engine import stats
from torchperf_core.engine.results import Measurement, TaskSpec, RESULTS_FORMAT_VERSION
from torchperf_core.errors import TorchperfError


def test_quantiles_by_hand():
    xs = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert stats.median(xs) == 3.0
    assert stats.quantile(xs, 0.25) == 2.0
    assert stats.quantile(xs, 0.75) == 4.0
    assert stats.iqr(xs) == 2.0
    assert stats.relative_iqr(xs) == 2.0 / 3.0
    # Skewed: median 3, mean 22; the noise figure is IQR / median.
    assert stats.relative_iqr([5.0, 1.0, 100.0, 2.0, 3.0, 4.0, 3.0]) == (4.5 - 2.5) / 3.0
    # even count interpolates: (n-1)*q = 1.5 -> halfway between 2 and 3
    assert stats.median([1.0, 2.0, 3.0, 4.0]) == 2.5
    assert stats.quantile([1.0, 2.0, 3.0, 4.0], 0.25) == pytest.approx(1.75)


def test_matches_asv_runner_statistics():
    asv_stats = pytest.importorskip("asv_runner.statistics")
    xs = [1.3, 1.1, 1.7, 1.2, 1.25, 1.22, 1.9, 1.18, 1.21, 1.24, 1.26, 1.23, 1.5, 1.19, 1.2]
    m, (a, b) = asv_stats.quantile_ci(xs, 0.5, alpha_min=0.01)
    assert stats.median(xs) == m
    assert stats.ci99_median(xs) == (a, b) == (1.19, 1.5)  # 3rd and 13th order statistics
    assert stats.quantile(xs, 0.25) == asv_stats.quantile(xs, 0.25)


def test_ci_of_median_by_hand():
    # n=15, Bin(15, 1/2): P(K<=2) = 121/32768 = 0.0037 <= 0.005, P(K<=3) = 0.0176 > 0.005
    # so the lower bound is the 3rd order statistic; symmetric upper bound the 13th.
    xs = list(range(1, 16))
    assert stats.ci99_median(xs) == (3, 13)


def test_ci_unbounded_with_too_few_samples():
    lo, hi = stats.ci99_median([1.0, 2.0, 3.0, 4.0, 5.0])
    assert math.isinf(lo) and math.isinf(hi)


def test_noise_warning():
    assert stats.noise_warning([1.0, 1.01, 0.99, 1.0]) is None
    msg = stats.noise_warning([1.0, 1.5, 0.7, 1.2, 0.9])
    assert msg and "IQR/median" in msg and "doctor" in msg
    assert stats.noise_warning([1.0]) is None


def test_empty_samples_refused():
    with pytest.raises(ValueError):
        stats.median([])


def _m() -> Measurement:
    spec = TaskSpec("mm", (("M", 2), ("N", 2), ("K", 2)), "float32", "cpu", threads=2)
    return Measurement(spec, (2e-3, 1e-3, 3e-3), number=4, warmup_calls=10, flops=2e9, bytes_moved=1e6)


def test_measurement_derives_statistics():
    m = _m()
    assert m.median == 2e-3
    assert m.gflops == pytest.approx(1000.0)
    assert m.gbps == pytest.approx(0.5)
    assert m.spec.label() == "mm[M=2,N=2,K=2] float32 on cpu"


def test_measurement_json_round_trip_and_version():
    m = _m()
    data = m.to_json()
    assert data["format_version"] == RESULTS_FORMAT_VERSION
    assert Measurement.from_json(data) == m
    data["format_version"] = 99
    with pytest.raises(TorchperfError, match="99"):
        Measurement.from_json(data)


def test_measurement_is_immutable():
    m = _m()
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.samples = ()  # type: ignore[misc]

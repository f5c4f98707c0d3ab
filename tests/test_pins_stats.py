"""The engine's statistics pinned to asv_runner's own functions, sample by sample.

torchperf prints a median, IQR and 99% CI next to every measurement and asv stores the same figures
for the same samples; if the two drift apart (a CI taken at 98%, an IQR divided by the mean) a
number on a report stops matching the number on the site. So each statistic is checked for exact
equality (or 1e-12 relative where a division is involved) against `asv_runner.statistics` over
small and large sample sizes and over skewed samples, where mean and median part ways.
"""

from __future__ import annotations

import math
import random

import pytest
from asv_runner import statistics as asv_stats

from torchperf_core.engine import stats

SIZES = (1, 2, 3, 5, 10, 31, 100)


def _lognormal(n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [1e-3 * rng.lognormvariate(0.0, 0.75) for _ in range(n)]


def _outlier(n: int, seed: int) -> list[float]:
    """Tight samples around 2 ms plus one sample 1000x larger (a preempted call)."""
    rng = random.Random(seed)
    xs = [2e-3 * (1.0 + 0.01 * rng.random()) for _ in range(n - 1)]
    return xs + [2.0] if n > 1 else [2.0]


def _samples() -> list[tuple[str, list[float]]]:
    out = []
    for n in SIZES:
        out.append((f"lognormal-{n}", _lognormal(n, seed=n)))
        out.append((f"outlier-{n}", _outlier(n, seed=1000 + n)))
        out.append((f"ramp-{n}", [float(i) for i in range(n, 0, -1)]))  # reversed: sorting matters
    return out


CASES = _samples()
IDS = [name for name, _ in CASES]


@pytest.mark.parametrize("xs", [xs for _, xs in CASES], ids=IDS)
def test_quantiles_equal_asv_runner(xs):
    for q in (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0):
        assert stats.quantile(xs, q) == asv_stats.quantile(xs, q), q


@pytest.mark.parametrize("xs", [xs for _, xs in CASES], ids=IDS)
def test_median_iqr_and_err_equal_compute_stats(xs):
    value, st = asv_stats.compute_stats(xs, 1)
    assert stats.median(xs) == value
    assert stats.iqr(xs) == st["q_75"] - st["q_25"]
    # asv shows "value ± err" with err = half the IQR (get_err); ours must be the same figure.
    assert stats.iqr(xs) / 2 == asv_stats.get_err(value, st)


@pytest.mark.parametrize("xs", [xs for _, xs in CASES], ids=IDS)
def test_relative_iqr_is_iqr_over_asvs_median(xs):
    value, st = asv_stats.compute_stats(xs, 1)
    expected = (st["q_75"] - st["q_25"]) / value
    assert stats.relative_iqr(xs) == pytest.approx(expected, rel=1e-12, abs=0.0)


@pytest.mark.parametrize("xs", [xs for _, xs in CASES], ids=IDS)
def test_ci99_equals_asvs_order_statistic_interval(xs):
    _, (a, b) = asv_stats.quantile_ci(xs, 0.5, alpha_min=0.01)
    assert stats.ci99_median(xs) == (a, b)
    if len(xs) >= 10:
        # With enough samples compute_stats stores exactly this interval (below 10 it widens an
        # unbounded side with a Laplace posterior; we report the honest infinity instead).
        _, st = asv_stats.compute_stats(xs, 1)
        assert math.isfinite(a) and math.isfinite(b)
        assert stats.ci99_median(xs) == (st["ci_99_a"], st["ci_99_b"])


def test_ci99_is_99_not_98_percent_by_hand():
    # Bin(31, 1/2): P(K <= 7) = 0.0017 <= 0.005 < P(K <= 8) = 0.0053, so the 99% interval starts at
    # the 8th order statistic; a 98% interval (alpha/2 = 0.01) would start at the 9th.
    xs = [float(i) for i in range(1, 32)]
    assert stats.ci99_median(xs) == (8.0, 24.0)
    assert stats.ci_median(xs, 0.98) == (9.0, 23.0)
    # Bin(100, 1/2): the 99% interval is (x(37), x(64)); at 98% it would be (x(38), x(63)).
    ys = [float(i) for i in range(1, 101)]
    assert stats.ci99_median(ys) == (37.0, 64.0)


def test_relative_iqr_divides_by_the_median_not_the_mean():
    # Median 3, IQR 4 - 2 = 2; the mean (22) would give 0.0909.
    assert stats.relative_iqr([1.0, 2.0, 3.0, 4.0, 100.0]) == 2.0 / 3.0
    # One huge outlier barely moves the median, so the noise figure stays small.
    xs = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1000.0]
    assert stats.relative_iqr(xs) == pytest.approx((1.075 - 1.0) / 1.0, rel=1e-12)

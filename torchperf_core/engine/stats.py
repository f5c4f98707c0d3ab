"""Statistics on raw timing samples: pure functions, no I/O, no torch.

The quantile definition (linear interpolation between order statistics) and the distribution-free
confidence interval of the median (order statistics picked from the binomial distribution) are the
ones asv_runner uses, so a median or IQR printed by torchperf matches what asv stores for the same
samples.
"""

from __future__ import annotations

import math
from typing import Sequence

NOISE_THRESHOLD = 0.10
"""IQR/median above which a measurement is flagged as noisy."""


def _checked(xs: Sequence[float]) -> list[float]:
    if len(xs) == 0:
        raise ValueError("no samples")
    return sorted(float(x) for x in xs)


def quantile(xs: Sequence[float], q: float) -> float:
    """The q-quantile with linear interpolation between order statistics (asv_runner's rule)."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} outside [0, 1]")
    y = _checked(xs)
    z = (len(y) - 1) * q
    j = int(math.floor(z))
    frac = z - j
    if j >= len(y) - 1:
        return y[-1]
    return (1.0 - frac) * y[j] + frac * y[j + 1]


def median(xs: Sequence[float]) -> float:
    return quantile(xs, 0.5)


def iqr(xs: Sequence[float]) -> float:
    """Interquartile range q75 - q25."""
    return quantile(xs, 0.75) - quantile(xs, 0.25)


def relative_iqr(xs: Sequence[float]) -> float:
    """IQR / median: the noise figure reported with every measurement."""
    m = median(xs)
    return iqr(xs) / m if m > 0 else math.inf


def _binom_pmf(n: int, k: int, p: float) -> float:
    return math.exp(
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        + k * math.log(p) + (n - k) * math.log1p(-p)
    )


def ci_median(xs: Sequence[float], confidence: float = 0.99) -> tuple[float, float]:
    """Distribution-free confidence interval of the median from order statistics.

    Pr[X(r) < m < X(s)] = Pr[r <= K <= s-1] with K ~ Bin(n, 1/2). With too few samples for the
    requested coverage the interval is unbounded on that side (±inf): a small sample honestly cannot
    bound the median at 99%, and callers must not pretend otherwise (5 samples give at most 94%).
    """
    y = _checked(xs)
    n = len(y)
    alpha = 1.0 - confidence
    lo_p, hi_p = alpha / 2.0, 1.0 - alpha / 2.0
    lo, hi = -math.inf, math.inf
    cdf = 0.0
    for k, value in enumerate(y):
        cdf += _binom_pmf(n, k, 0.5)
        if cdf <= lo_p:
            lo = value
        if cdf >= hi_p:
            hi = value
            break
    return lo, hi


def ci99_median(xs: Sequence[float]) -> tuple[float, float]:
    return ci_median(xs, 0.99)


def noise_warning(xs: Sequence[float], threshold: float = NOISE_THRESHOLD) -> str | None:
    """A sentence telling the user what to do when IQR/median exceeds `threshold`, else None."""
    if len(xs) < 2:
        return None
    r = relative_iqr(xs)
    if r <= threshold:
        return None
    return (
        f"noisy: IQR/median {r:.0%} > {threshold:.0%}; close other programs, pin threads/CPUs "
        "(--threads, --cpus), take more samples, and run `torchperf doctor` to see why"
    )

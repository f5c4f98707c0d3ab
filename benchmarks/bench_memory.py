"""Memory-bound elementwise ops and reductions on an n×n tensor: add, mul, sum.

Their figure of merit is GB/s (`bytes_moved` / median), not GFLOP/s.
"""

from .common import OpBenchmark, annotate, grid

_TIERS = {
    "smoke": {"size": [1024], "dtype": ["float32"]},
    "default": {"size": [256, 1024, 4096], "dtype": ["float32", "bfloat16"]},
    "full": {"size": [64, 256, 1024, 4096, 8192], "dtype": ["float32", "bfloat16", "float16", "float64"]},
}


class Add(OpBenchmark):
    op = "add"
    TIERS = _TIERS
    params, param_names = grid(TIERS)

    def track_add(self, *params):
        return self._run()

    annotate(track_add, op, TIERS, version="1")


class Mul(OpBenchmark):
    op = "mul"
    TIERS = _TIERS
    params, param_names = grid(TIERS)

    def track_mul(self, *params):
        return self._run()

    annotate(track_mul, op, TIERS, version="1")


class Sum(OpBenchmark):
    op = "sum"
    TIERS = _TIERS
    params, param_names = grid(TIERS)

    def track_sum(self, *params):
        return self._run()

    annotate(track_sum, op, TIERS, version="1")

"""GEMM family: mm, addmm, bmm, broadcast matmul, linear; transposed operands (Aᵀ, Bᵀ, AᵀBᵀ).

Transposed layouts are views of contiguous storage, so the library picks another kernel path;
aarch64 transposed matmul once regressed 25× while the contiguous case did not (pytorch#195629).
"""

from .common import OpBenchmark, annotate, grid

_GEMM_DTYPES = ["float32", "tf32", "bfloat16", "float16", "float64"]


class MM(OpBenchmark):
    op = "mm"
    TIERS = {
        "smoke": {"size": [256, 1024], "dtype": ["float32", "bfloat16"], "layout": ["contiguous"]},
        "default": {"size": [64, 256, 1024, 2048], "dtype": _GEMM_DTYPES, "layout": ["contiguous", "At", "Bt"]},
        "full": {"size": [64, 128, 256, 512, 1024, 2048, 4096, 8192], "dtype": _GEMM_DTYPES,
                 "layout": ["contiguous", "At", "Bt", "AtBt"]},
    }
    params, param_names = grid(TIERS)

    def track_mm(self, *params):
        return self._run()

    annotate(track_mm, op, TIERS, version="1")


class Addmm(OpBenchmark):
    op = "addmm"
    TIERS = {
        "smoke": {"size": [256], "dtype": ["float32"], "layout": ["contiguous"]},
        "default": {"size": [256, 1024, 2048], "dtype": ["float32", "tf32", "bfloat16"], "layout": ["contiguous", "Bt"]},
        "full": {"size": [64, 256, 1024, 2048, 4096, 8192], "dtype": _GEMM_DTYPES,
                 "layout": ["contiguous", "At", "Bt", "AtBt"]},
    }
    params, param_names = grid(TIERS)

    def track_addmm(self, *params):
        return self._run()

    annotate(track_addmm, op, TIERS, version="1")


class Bmm(OpBenchmark):
    op = "bmm"
    TIERS = {
        "smoke": {"size": [256], "dtype": ["float32"], "layout": ["contiguous"]},
        "default": {"size": [64, 256, 1024], "dtype": ["float32", "tf32", "bfloat16"],
                    "layout": ["contiguous", "At", "Bt"]},
        "full": {"size": [64, 256, 1024, 2048, 4096], "dtype": _GEMM_DTYPES,
                 "layout": ["contiguous", "At", "Bt", "AtBt"]},
    }
    params, param_names = grid(TIERS)

    def track_bmm(self, *params):
        return self._run()

    annotate(track_bmm, op, TIERS, version="1")


class Matmul(OpBenchmark):
    """torch.matmul broadcasting a batched A against one weight matrix."""

    op = "matmul"
    TIERS = {
        "smoke": {"size": [256], "dtype": ["float32"]},
        "default": {"size": [64, 256, 1024], "dtype": ["float32", "tf32", "bfloat16"]},
        "full": {"size": [64, 256, 1024, 2048, 4096], "dtype": _GEMM_DTYPES},
    }
    params, param_names = grid(TIERS)

    def track_matmul(self, *params):
        return self._run()

    annotate(track_matmul, op, TIERS, version="1")


class Linear(OpBenchmark):
    op = "linear"
    TIERS = {
        "smoke": {"size": [256], "dtype": ["float32"]},
        "default": {"size": [64, 256, 1024, 2048], "dtype": ["float32", "tf32", "bfloat16"]},
        "full": {"size": [64, 256, 1024, 2048, 4096, 8192], "dtype": _GEMM_DTYPES},
    }
    params, param_names = grid(TIERS)

    def track_linear(self, *params):
        return self._run()

    annotate(track_linear, op, TIERS, version="1")

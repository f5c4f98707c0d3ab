"""Neural-network ops: conv2d, scaled_dot_product_attention, softmax, layer_norm.

Sizes are the catalog's `n`: conv2d H=W=n (N=8, C=F=64, 3×3), attention sequence length S=n
(B=4, H=8, D=64), softmax and layer_norm an n×n tensor.
"""

from .common import OpBenchmark, annotate, grid


class Conv2d(OpBenchmark):
    op = "conv2d"
    TIERS = {
        "smoke": {"size": [32], "dtype": ["float32"]},
        "default": {"size": [32, 64, 128], "dtype": ["float32", "tf32", "bfloat16"]},
        "full": {"size": [32, 64, 128, 256], "dtype": ["float32", "tf32", "bfloat16", "float16"]},
    }
    params, param_names = grid(TIERS)

    def track_conv2d(self, *params):
        return self._run()

    annotate(track_conv2d, op, TIERS, version="1")


class ScaledDotProductAttention(OpBenchmark):
    op = "sdpa"
    TIERS = {
        "smoke": {"size": [256], "dtype": ["float32"]},
        "default": {"size": [256, 1024, 2048], "dtype": ["float32", "bfloat16"]},
        "full": {"size": [256, 1024, 2048, 4096, 8192], "dtype": ["float32", "bfloat16", "float16"]},
    }
    params, param_names = grid(TIERS)

    def track_sdpa(self, *params):
        return self._run()

    annotate(track_sdpa, op, TIERS, version="1")


class Softmax(OpBenchmark):
    op = "softmax"
    TIERS = {
        "smoke": {"size": [1024], "dtype": ["float32"]},
        "default": {"size": [256, 1024, 4096], "dtype": ["float32", "bfloat16"]},
        "full": {"size": [64, 256, 1024, 4096, 8192], "dtype": ["float32", "bfloat16", "float16", "float64"]},
    }
    params, param_names = grid(TIERS)

    def track_softmax(self, *params):
        return self._run()

    annotate(track_softmax, op, TIERS, version="1")


class LayerNorm(OpBenchmark):
    op = "layer_norm"
    TIERS = {
        "smoke": {"size": [1024], "dtype": ["float32"]},
        "default": {"size": [256, 1024, 4096], "dtype": ["float32", "bfloat16"]},
        "full": {"size": [64, 256, 1024, 4096, 8192], "dtype": ["float32", "bfloat16", "float16", "float64"]},
    }
    params, param_names = grid(TIERS)

    def track_layer_norm(self, *params):
        return self._run()

    annotate(track_layer_norm, op, TIERS, version="1")

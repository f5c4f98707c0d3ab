"""Forward + backward: linear (grads of x, W, b) and matmul (grads of A and B).

One timed call is a forward pass and a backward pass (6·M·N·K FLOPs); gradients are returned by
`torch.autograd.grad`, so nothing accumulates between calls.
"""

from .common import OpBenchmark, annotate, grid

_TIERS = {
    "smoke": {"size": [256], "dtype": ["float32"]},
    "default": {"size": [256, 1024, 2048], "dtype": ["float32", "tf32", "bfloat16"]},
    "full": {"size": [64, 256, 1024, 2048, 4096], "dtype": ["float32", "tf32", "bfloat16", "float16"]},
}


class LinearBackward(OpBenchmark):
    op = "linear_backward"
    TIERS = _TIERS
    params, param_names = grid(TIERS)

    def track_linear_backward(self, *params):
        return self._run()

    annotate(track_linear_backward, op, TIERS, version="1")


class MatmulBackward(OpBenchmark):
    op = "matmul_backward"
    TIERS = _TIERS
    params, param_names = grid(TIERS)

    def track_matmul_backward(self, *params):
        return self._run()

    annotate(track_matmul_backward, op, TIERS, version="1")

"""Instruction counts under Callgrind for a curated set of small CPU cases: below the noise floor.

Wall-clock time on a shared 2-core machine cannot see a 3% slowdown of a µs-scale op (the minimum
detectable slowdown there is 10-17%); the number of instructions a call executes is deterministic to
~0.1%: between separate collections of the curated set, <= 0.037% on every case once glibc malloc's
bin management and memcmp, whose paths follow the heap's layout rather than the op, are left out of
the count (torchperf_core.engine.instructions, HEAP_LAYOUT_FUNCTIONS; before that, add 1024 and
matmul_backward 64 moved by up to 0.72% and 0.18% from one collection to the next).
Each `track_` result is instructions per call (`unit = "instructions"`), so it has its own history,
`asv compare` works on it, and `torchperf compare` judges it with a tolerance (`count_tolerance`,
torchperf_core.verdict.counts) instead of a significance test.

Opt-in: Callgrind costs ~2,400x the run time, so nothing is collected unless
`TORCHPERF_METRICS` lists "instructions" (e.g. `TORCHPERF_METRICS=time,instructions`); otherwise
`setup` skips every case with NotImplementedError, cheaply. When requested, `setup_cache` counts the
whole curated set in ONE Callgrind child (torch is imported once), with this environment's own
interpreter (`sys.executable` of the asv environment, never the first `python` on PATH).

The curated set: µs-to-ms ops where wall-clock noise is worst — dispatch-dominated elementwise ops
and reductions (add 1024 floats, mul, sum, softmax, layer_norm on 64×64), small GEMMs (mm 64 fp32
and bf16, addmm, linear, bmm), one mid GEMM (mm 256, ~4 M instructions), an autograd pass
(matmul_backward 64), a small conv2d and sdpa. Large GEMMs are left to wall-clock time: their noise
is low and Callgrind would take minutes per call.

The counts describe the kernels valgrind runs: valgrind does not emulate AVX-512, so ATen runs at
AVX2 at most under it (`isa_note`); compare with a wall-clock run at `torchperf bench --isa avx2`.
`torchperf bench OP --metric instructions` prints the capability and kernels read back under
valgrind for any one case.

Importing this module is cheap: no torch, no valgrind.
"""

from __future__ import annotations

import os
from typing import Any

METRICS_ENV = "TORCHPERF_METRICS"
NOT_REQUESTED = "instruction counts not requested: set TORCHPERF_METRICS=instructions"

# (label, op, size, dtype, calls per repeat): calls chosen so one repeat counts >= ~2.5 M instructions
# (fewer calls left the A/A spread of softmax/layer_norm/matmul_backward at ~0.2%).
CURATED = (
    ("add 1024 float32", "add", "M=1,N=1024", "float32", 100),
    ("mul 64x64 float32", "mul", "M=64,N=64", "float32", 100),
    ("sum 64x64 float32", "sum", "M=64,N=64", "float32", 200),
    ("softmax 64x64 float32", "softmax", "M=64,N=64", "float32", 200),
    ("layer_norm 64x64 float32", "layer_norm", "M=64,N=64", "float32", 200),
    ("mm 64 float32", "mm", 64, "float32", 50),
    ("mm 64 bfloat16", "mm", 64, "bfloat16", 5),
    ("mm 256 float32", "mm", 256, "float32", 3),
    ("addmm 64 float32", "addmm", 64, "float32", 50),
    ("linear 64 float32", "linear", 64, "float32", 50),
    ("bmm 64 float32", "bmm", 64, "float32", 10),
    ("matmul_backward 64 float32", "matmul_backward", 64, "float32", 20),
    ("conv2d 8 float32", "conv2d", 8, "float32", 2),
    ("sdpa 64 float32", "sdpa", 64, "float32", 2),
)


def _wall_clock_size(size: int | str) -> int | str:
    """The wall-clock benchmarks' `size` for the same inputs: "M=n,N=n" is their n (the catalog reads
    both as n×n); any other string ("M=1,N=1024") has no wall-clock twin and stays as it is."""
    dims = dict(part.split("=") for part in size.split(",")) if isinstance(size, str) else {}
    return int(dims["M"]) if dims.keys() == {"M", "N"} and dims["M"] == dims["N"] else size


def requested() -> bool:
    """True when `TORCHPERF_METRICS` (comma list) includes "instructions"."""
    return "instructions" in {m.strip() for m in os.environ.get(METRICS_ENV, "").split(",")}


class Instructions:
    """Instructions per call of each curated case, counted once per environment in `setup_cache`."""

    params = [[label for label, *_ in CURATED]]
    param_names = ["case"]
    timeout = 1800  # setup_cache: one Callgrind child for the whole set (~3-10 min on 2 cores)

    def setup_cache(self) -> Any:
        if not requested():
            return {}  # not None: asv_runner would then call setup/track without the cache argument
        from torchperf_core.engine import InstructionCase, collect_instructions

        cases = [InstructionCase(op, size, dtype, calls=calls) for _, op, size, dtype, calls in CURATED]
        counts = collect_instructions(cases, repeats=3, timeout=self.timeout - 60)
        return {label: c.to_json() for (label, *_), c in zip(CURATED, counts)}

    def setup(self, cache: Any, case: str) -> None:
        if not cache:
            raise NotImplementedError(NOT_REQUESTED)

    def track_instructions(self, cache: Any, case: str) -> float:
        return float(cache[case]["value"])

    track_instructions.unit = "instructions"
    track_instructions.version = "2"  # 2: heap-layout functions left out of the count (up to 10% lower)
    track_instructions.count_tolerance = "1%"
    # Each case's op and parameters in the wall-clock benchmarks' terms (asv's reprs), keyed by asv's
    # parameter key: `torchperf compare` shows a count beside the time of the same case (compare.metrics).
    track_instructions.cases = {
        f"({label!r})": {"op": op, "params": {"size": repr(_wall_clock_size(size)), "dtype": repr(dtype)}}
        for label, op, size, dtype, _calls in CURATED
    }
    track_instructions.isa_note = "counted under valgrind: ATen AVX2 at most (valgrind does not emulate AVX-512)"

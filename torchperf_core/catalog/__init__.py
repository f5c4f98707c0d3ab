"""The operator catalog: what can be timed, its inputs, and its FLOP and byte models.

Each `OpDef` builds seeded random inputs (never zeros), calls the op, and counts FLOPs as
`torch.utils.flop_counter` does; an unsupported dtype/device/layout is an `UnsupportedCase`.
`torchperf_core.catalog` is a kept path: `benchmarks/` of every commit imports it.
"""

from torchperf_core.catalog.ops import (
    DTYPES,
    LAYOUTS,
    Shape,
    torch_dtype,
    itemsize,
    OpDef,
    ALIASES,
    list_ops,
    get_op,
    check_dtype,
    parse_size,
    unsupported_reason,
    check_supported,
    check_case,
)

__all__ = ['DTYPES', 'LAYOUTS', 'Shape', 'torch_dtype', 'itemsize', 'OpDef', 'ALIASES', 'list_ops', 'get_op', 'check_dtype', 'parse_size', 'unsupported_reason', 'check_supported', 'check_case']

"""Kept path: `benchmarks/` of any commit imports `torchperf_core.measure`. It lives in `engine`."""

from torchperf_core.engine import Case, measure, prepare, translate_error

__all__ = ["Case", "measure", "prepare", "translate_error"]

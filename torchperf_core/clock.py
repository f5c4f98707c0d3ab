"""Kept path: `benchmarks/` of any commit imports `torchperf_core.clock`. The clock lives in `engine`."""

from torchperf_core.engine import SyncClock, Synchronizer

__all__ = ["SyncClock", "Synchronizer"]

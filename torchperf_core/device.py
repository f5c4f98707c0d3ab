"""Kept path: `benchmarks/` of any commit imports `torchperf_core.device`. Devices live in `engine`."""

from torchperf_core.engine import Device, parse_device, unavailable_reason

__all__ = ["Device", "parse_device", "unavailable_reason"]

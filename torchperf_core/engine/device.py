"""Devices: parse a user's device string, synchronize, check availability, read peak memory.

The device is chosen when a timer or a measurement is built, never at import time; parsing a device
string never initialises CUDA unless a CUDA device is asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from torchperf_core.errors import TorchperfError

DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")
_DEVICE_RE = re.compile(r"^(cpu|cuda|mps|xpu)(?::(\d+))?$")


def _torch() -> Any:
    import torch

    return torch


@dataclass(frozen=True)
class Device:
    """A torch device we can synchronize and query. `index` is None for cpu/mps."""

    type: str
    index: int | None = None

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def torch(self) -> Any:
        return _torch().device(str(self))

    def synchronize(self) -> None:
        """Wait for all queued work on this device. CPU ops are synchronous: nothing to wait for."""
        torch = _torch()
        if self.type == "cuda":
            torch.cuda.synchronize(self.index)
        elif self.type == "mps":
            torch.mps.synchronize()
        elif self.type == "xpu":
            torch.xpu.synchronize(self.index)

    def reset_peak_memory(self) -> None:
        torch = _torch()
        if self.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.index)
        elif self.type == "xpu" and hasattr(torch.xpu, "reset_peak_memory_stats"):
            torch.xpu.reset_peak_memory_stats(self.index)

    def peak_memory_bytes(self) -> int | None:
        """Peak bytes allocated by torch on this device since the last reset; None without a counter."""
        torch = _torch()
        if self.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.index))
        if self.type == "xpu" and hasattr(torch.xpu, "max_memory_allocated"):
            return int(torch.xpu.max_memory_allocated(self.index))
        if self.type == "mps" and hasattr(torch.mps, "driver_allocated_memory"):
            return int(torch.mps.driver_allocated_memory())
        return None

    def empty_cache(self) -> None:
        """Give cached blocks back so an out-of-memory case leaves the allocator usable."""
        torch = _torch()
        if self.type == "cuda":
            torch.cuda.empty_cache()
        elif self.type == "mps" and hasattr(torch.mps, "empty_cache"):
            torch.mps.empty_cache()
        elif self.type == "xpu" and hasattr(torch.xpu, "empty_cache"):
            torch.xpu.empty_cache()


def unavailable_reason(device: Device) -> str | None:
    """Why `device` cannot be used in this process, or None when it can."""
    if device.type == "cpu":
        return None
    torch = _torch()
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = getattr(torch.version, "cuda", None)
            why = "this torch is a CPU-only build" if not build else f"no CUDA GPU visible (torch built for CUDA {build})"
            return f"device 'cuda' is not available: {why}"
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            return f"device {device} is not available: {count} CUDA device(s), indices 0..{count - 1}"
        return None
    if device.type == "mps":
        backend = getattr(torch.backends, "mps", None)
        if backend is None or not backend.is_available():
            return "device 'mps' is not available: needs Apple silicon and a torch built with MPS"
        return None
    if device.type == "xpu":
        xpu = getattr(torch, "xpu", None)
        if xpu is None or not xpu.is_available():
            return "device 'xpu' is not available: no Intel GPU visible to this torch"
        count = xpu.device_count()
        if device.index is not None and device.index >= count:
            return f"device {device} is not available: {count} XPU device(s)"
        return None
    return f"unknown device type {device.type!r}"


def parse_device(spec: str, *, check: bool = True) -> Device:
    """Parse "cpu", "cuda", "cuda:N", "mps", "xpu[:N]"; with `check`, refuse one that is not here."""
    text = (spec or "").strip().lower()
    m = _DEVICE_RE.match(text)
    if not m:
        raise TorchperfError(
            f"unknown device {spec!r}; accepted: cpu, cuda, cuda:N, mps, xpu, xpu:N"
        )
    kind, idx = m.group(1), m.group(2)
    if kind in ("cpu", "mps") and idx is not None:
        raise TorchperfError(f"device {spec!r} takes no index; use {kind!r}")
    index = int(idx) if idx is not None else (0 if kind in ("cuda", "xpu") else None)
    device = Device(kind, index)
    if check:
        reason = unavailable_reason(device)
        if reason:
            raise TorchperfError(reason)
    return device

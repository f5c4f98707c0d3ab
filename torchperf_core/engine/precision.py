"""Precision and thread settings are set explicitly for every measurement, never inherited.

The TF32 default for matmul changed in PyTorch 1.12 (on → off) while cuDNN's stayed on, so an
unpinned float32 benchmark can "regress" 5x between versions with no code change (pytorch#118349).
Every measurement therefore pins `torch.set_float32_matmul_precision` and the cuDNN TF32 switch, and
records what it pinned.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Iterator


@dataclass(frozen=True)
class PrecisionSettings:
    """`matmul` is torch's float32 matmul precision: "highest" (IEEE fp32), "high" (TF32), "medium"."""

    matmul: str = "highest"
    cudnn_tf32: bool = False

    @property
    def label(self) -> str:
        return "tf32" if self.matmul != "highest" or self.cudnn_tf32 else "highest"


IEEE = PrecisionSettings("highest", False)
TF32 = PrecisionSettings("high", True)


def for_dtype(dtype: str) -> PrecisionSettings:
    """`tf32` is float32 with tensor-core TF32 allowed; every other dtype runs at full precision."""
    return TF32 if dtype == "tf32" else IEEE


def _read(torch: Any) -> PrecisionSettings:
    matmul = torch.get_float32_matmul_precision() if hasattr(torch, "get_float32_matmul_precision") else "highest"
    conv = getattr(getattr(torch.backends.cudnn, "conv", None), "fp32_precision", None)
    if conv is not None:
        # Read through the API `_write` sets: newer torch refuses the legacy `allow_tf32` getter
        # (RuntimeError) once the conv precision was set with the fp32_precision API.
        cudnn = conv == "tf32"
    else:
        cudnn = bool(getattr(torch.backends.cudnn, "allow_tf32", False))
    return PrecisionSettings(matmul, cudnn)


def _write(torch: Any, settings: PrecisionSettings) -> None:
    if hasattr(torch, "set_float32_matmul_precision"):
        torch.set_float32_matmul_precision(settings.matmul)
    conv = getattr(getattr(torch.backends.cudnn, "conv", None), "fp32_precision", None)
    if conv is not None:
        # Newer torch: the fp32_precision API; mixing it with allow_tf32 is refused there.
        torch.backends.cudnn.conv.fp32_precision = "tf32" if settings.cudnn_tf32 else "ieee"
    else:
        torch.backends.cudnn.allow_tf32 = settings.cudnn_tf32


@contextlib.contextmanager
def pinned_precision(settings: PrecisionSettings) -> Iterator[PrecisionSettings]:
    import torch

    before = _read(torch)
    _write(torch, settings)
    try:
        yield settings
    finally:
        _write(torch, before)


def default_threads() -> int:
    """All cores this process may run on (affinity-aware), the eager-PyTorch default."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def pinned_threads(threads: int) -> Iterator[int]:
    """Set torch's intra-op thread count for the block; recorded with every measurement."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(before)

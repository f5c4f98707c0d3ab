"""BLAS backends side by side: torch's own matmul path against numpy's (OpenBLAS) on the same data.

"Is this a dispatch regression or a kernel regression?" and "MKL against OpenBLAS is 2-4x" are both
questions about *which library ran*. For each size and dtype this times, on the same seeded
operands and at the same thread count:

- `torch`: torch.mm as shipped (on x86 wheels MKL SGEMM for fp32, oneDNN for some dtypes);
- `numpy`: numpy.matmul on the same data (numpy wheels ship OpenBLAS; threadpoolctl names the
  library, its version and the kernel architecture it picked);
- `torch-no-onednn`: torch.mm under `torch.backends.mkldnn.flags(enabled=False)`.

The three are measured *interleaved*, round by round (this VM drifts ±5% over minutes, FACTS.md),
each with the engine's one timing loop, and each cell records the kernel it ran: the MKL/oneDNN
verbose lines of one call, captured from this process's stdout and named by the provenance parser
(`torchperf_core.env`). threadpoolctl cannot see torch's statically linked MKL, so torch's BLAS is
named from `torch.__config__.show()`. Pure results out; text is `render.blas`.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import tempfile
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from torchperf_core.engine import TimingOptions, parse_device, pinned_threads, time_callable
from torchperf_core.env import parse_config_show, parse_verbose_output
from torchperf_core.errors import TorchperfError
from torchperf_core.formats import check_format_version

# JSON history:
#   1 — first version: threads, libraries, one cell per (size, dtype, backend) with round medians.
BLAS_FORMAT_VERSION = 1
BACKENDS = ("torch", "numpy", "torch-no-onednn")
BLAS_DTYPES = ("float32", "float64")  # the dtypes numpy's BLAS has (no bfloat16/float16 GEMM)
_FIX = "re-run `torchperf blas`"


@dataclass(frozen=True)
class BlasCell:
    """One backend at one size and dtype: the median per-call seconds of each round, and its kernel."""

    backend: str
    size: int
    dtype: str
    round_medians: tuple[float, ...]
    kernel: str

    @property
    def median(self) -> float:
        return statistics.median(self.round_medians)


@dataclass(frozen=True)
class BlasRow:
    size: int
    dtype: str
    cells: Mapping[str, BlasCell]

    def ratio(self, backend: str = "torch", against: str = "numpy") -> float | None:
        """Time ratio `backend` ÷ `against` (below 1: `backend` is faster)."""
        a, b = self.cells.get(backend), self.cells.get(against)
        return a.median / b.median if a and b and b.median > 0 else None


@dataclass(frozen=True)
class BlasReport:
    threads: int
    torch_version: str
    torch_blas: str  # "mkl (MKL 2024.2 build 20240605), oneDNN 3.12.0 (…)"
    numpy_version: str
    numpy_blas: str  # "openblas 0.3.31 (Haswell, pthreads)"
    cells: tuple[BlasCell, ...]
    rounds: int

    def rows(self) -> tuple[BlasRow, ...]:
        keys = sorted({(c.size, c.dtype) for c in self.cells}, key=lambda k: (k[1], k[0]))
        return tuple(BlasRow(s, d, {c.backend: c for c in self.cells if (c.size, c.dtype) == (s, d)}) for s, d in keys)

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": BLAS_FORMAT_VERSION, "threads": self.threads, "rounds": self.rounds,
            "torch_version": self.torch_version, "torch_blas": self.torch_blas,
            "numpy_version": self.numpy_version, "numpy_blas": self.numpy_blas,
            "rows": [{"size": r.size, "dtype": r.dtype, "ratio_torch_to_numpy": r.ratio(),
                      "cells": {b: {"median_s": c.median, "round_medians_s": list(c.round_medians),
                                    "kernel": c.kernel} for b, c in r.cells.items()}} for r in self.rows()],
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Any, *, source: str = "") -> "BlasReport":
        """A saved report; another format_version is refused by the one shared check. Medians and
        ratios are recomputed from the round medians, not trusted from the file."""
        check_format_version(data, "BLAS report", BLAS_FORMAT_VERSION, source=source, fix=_FIX)
        try:
            cells = []
            for row in data["rows"]:
                size, dtype = _positive_int(row["size"], "size"), str(row["dtype"])
                for backend, cell in dict(row["cells"]).items():
                    if backend not in BACKENDS:
                        raise ValueError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
                    medians = tuple(_seconds(x) for x in cell["round_medians_s"])
                    if not medians:
                        raise ValueError(f"{backend} at {dtype} {size} has no round medians")
                    cells.append(BlasCell(backend, size, dtype, medians, str(cell["kernel"])))
            return cls(threads=_positive_int(data["threads"], "threads"), rounds=_positive_int(data["rounds"], "rounds"),
                       torch_version=str(data["torch_version"]), torch_blas=str(data["torch_blas"]),
                       numpy_version=str(data["numpy_version"]), numpy_blas=str(data["numpy_blas"]),
                       cells=tuple(cells))  # fmt: skip
        except KeyError as exc:
            raise TorchperfError(f"{source + ': ' if source else ''}malformed BLAS report (missing {exc}); {_FIX}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise TorchperfError(f"{source + ': ' if source else ''}malformed BLAS report ({exc}); {_FIX}") from None


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} is {value!r}, not a positive integer")
    return value


def _seconds(value: Any) -> float:
    """A per-call time is a finite positive number; anything else would make every ratio a lie."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"time {value!r} is not a positive number of seconds")
    return float(value)


def load_blas_report(path: str | os.PathLike[str]) -> BlasReport:
    """The one BLAS-report reader: a TorchperfError naming the file for anything it cannot use
    (missing, not JSON, another format_version, a time that is not a positive number)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TorchperfError(f"no BLAS report at {p}; {_FIX}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise TorchperfError(f"{p}: unreadable BLAS report ({type(exc).__name__}); {_FIX}") from None
    return BlasReport.from_json(data, source=str(p))


def describe_blas_libraries(info: Sequence[Mapping[str, Any]]) -> str:
    """threadpoolctl's BLAS entries as "openblas 0.3.31 (Haswell, pthreads)" (pure); "" when none."""
    out = []
    for lib in info:
        if lib.get("user_api") != "blas":
            continue
        extra = ", ".join(str(lib[k]) for k in ("architecture", "threading_layer") if lib.get(k))
        out.append(f"{lib.get('internal_api', '?')} {lib.get('version') or '?'}" + (f" ({extra})" if extra else ""))
    return "; ".join(out)


def describe_torch_blas(config_show: str) -> str:
    """torch's BLAS from `torch.__config__.show()`: "mkl (MKL 2024.2 build 20240605), oneDNN 3.12.0"."""
    facts = parse_config_show(config_show)
    text = str(facts.get("blas_info") or "unknown BLAS")
    if facts.get("mkl_version"):
        text += f" (MKL {facts['mkl_version']})"
    if facts.get("onednn_version"):
        text += f", oneDNN {facts['onednn_version']}"
    return text


@contextmanager
def captured_stdout_fd() -> Iterator[list[str]]:
    """Capture what C code writes to fd 1 (MKL/oneDNN verbose) into the yielded list, on exit."""
    import ctypes  # noqa: PLC0415
    import sys  # noqa: PLC0415

    lines: list[str] = []
    sys.stdout.flush()
    libc = ctypes.CDLL(None)
    libc.fflush(None)
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        try:
            yield lines
        finally:
            libc.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)
            tmp.seek(0)
            lines.extend(tmp.read().decode(errors="replace").splitlines())


def _torch_kernel(torch: Any, fn: Callable[[], Any]) -> str:
    """The backend kernel one call of `fn` ran, from MKL/oneDNN verbose ("mkl:SGEMM"), or "native ATen"."""
    with captured_stdout_fd() as lines:
        with torch.backends.mkl.verbose(torch.backends.mkl.VERBOSE_ON), \
                torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
            fn()
    backends, _ = parse_verbose_output(lines)
    compute = [b for b in backends if not b.startswith("onednn:reorder:")]
    return (compute or list(backends) or ["native ATen (no MKL/oneDNN call)"])[0]


@contextmanager
def _onednn_off(torch: Any) -> Iterator[None]:
    """`torch.backends.mkldnn.flags(enabled=False)`, without its warning about Intel-GPU TF32."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        with torch.backends.mkldnn.flags(enabled=False):
            yield


def compare_blas(sizes: Sequence[int], dtypes: Sequence[str] = ("float32",), *, threads: int = 1,
                 rounds: int = 5, samples: int = 5) -> BlasReport:
    """Time torch.mm, numpy.matmul and torch.mm without oneDNN on the same n×n operands (see module doc).

    Raises TorchperfError for a dtype numpy has no BLAS GEMM for, or a size below 1.
    """
    import numpy  # noqa: PLC0415
    import threadpoolctl  # noqa: PLC0415
    import torch  # noqa: PLC0415

    for d in dtypes:
        if d not in BLAS_DTYPES:
            raise TorchperfError(f"dtype {d!r} has no numpy BLAS GEMM to compare; accepted: {', '.join(BLAS_DTYPES)}")
    if not sizes or any(int(s) < 1 for s in sizes):
        raise TorchperfError(f"sizes {list(sizes)!r} must be positive integers")
    device = parse_device("cpu")
    options = TimingOptions(samples=samples, min_samples=min(5, samples), max_time=1.0)
    cells: dict[tuple[int, str, str], list[float]] = {}
    kernels: dict[tuple[int, str, str], str] = {}
    gen = torch.Generator().manual_seed(0)
    with pinned_threads(threads), threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
        numpy_blas = describe_blas_libraries(threadpoolctl.threadpool_info())
        for d in dtypes:
            for n in sizes:
                a = torch.randn(n, n, generator=gen, dtype=getattr(torch, d))
                b = torch.randn(n, n, generator=gen, dtype=getattr(torch, d))
                an, bn = a.numpy(), b.numpy()
                calls: dict[str, tuple[Callable[[], Any], Any]] = {
                    "torch": (lambda a=a, b=b: torch.mm(a, b), nullcontext),
                    "numpy": (lambda an=an, bn=bn: numpy.matmul(an, bn), nullcontext),
                    "torch-no-onednn": (lambda a=a, b=b: torch.mm(a, b), lambda: _onednn_off(torch)),
                }
                for backend, (fn, ctx) in calls.items():
                    with ctx():
                        kernels[(n, d, backend)] = (_torch_kernel(torch, fn) if backend != "numpy"
                                                    else f"numpy.matmul -> {numpy_blas or 'no BLAS seen'}")
                for _ in range(rounds):  # interleaved: every backend once per round
                    for backend, (fn, ctx) in calls.items():
                        with ctx():
                            raw = time_callable(fn, device=device, options=options)
                        cells.setdefault((n, d, backend), []).append(statistics.median(raw.samples))
    return BlasReport(
        threads=threads, torch_version=str(torch.__version__), torch_blas=describe_torch_blas(torch.__config__.show()),
        numpy_version=str(numpy.__version__), numpy_blas=numpy_blas, rounds=rounds,
        cells=tuple(BlasCell(backend, n, d, tuple(v), kernels[(n, d, backend)]) for (n, d, backend), v in cells.items()),
    )  # fmt: skip


__all__ = ["BACKENDS", "BLAS_DTYPES", "BLAS_FORMAT_VERSION", "BlasCell", "BlasReport", "BlasRow", "compare_blas",
           "describe_blas_libraries", "describe_torch_blas", "load_blas_report"]

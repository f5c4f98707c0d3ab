"""Kernel provenance: which backend kernel actually ran for an op and dtype.

A timing alone cannot say *why* an op got slower; the kernel name often can. pytorch#193951 (a oneDNN
3.12.0 -> 3.12.3 bump, 8 ms -> 15.5 s for a 2048^2 half matmul) was diagnosed by seeing the matmul
fall back to oneDNN's reference implementation, `ref:any`. On CPU the same dtype can go to MKL
(`SGEMM`), to oneDNN (`brg_matmul:avx512_core_bf16`) or to a native ATen loop, depending on the build
and the CPU's ISA.

How: the op runs in a *subprocess* of the same Python with `MKL_VERBOSE=1` and `ONEDNN_VERBOSE=1`
(`DNNL_VERBOSE=1` for older oneDNN), because both libraries read those variables once, at load time;
the verbose lines are parsed into backend names ("mkl:SGEMM", "onednn:matmul:brg_matmul:..."). On
CUDA (best effort) the child records the kernel names seen by `torch.profiler`.

Inputs come from the operator catalog (one definition of every op), seeded, under the same pinned
precision settings as a measurement.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from torchperf_core.errors import TorchperfError

NATIVE_NOTE = "no MKL/oneDNN verbose output (native ATen kernel)"
REFERENCE_NOTE = "REFERENCE implementation (ref:any): expect a catastrophic slowdown"


_MAX_RAW_LINES = 6
_MAX_LINE = 240
_MARK = "@@torchperf-kernels"


@dataclass(frozen=True)
class KernelInfo:
    """The backend kernels one (op, dtype, size, device) ran, from the libraries' own logs."""

    op: str
    dtype: str
    device: str
    backends: tuple[str, ...] = ()  # "mkl:SGEMM", "onednn:matmul:brg_matmul:avx512_core_bf16", ...
    raw_lines: tuple[str, ...] = ()  # a few of the verbose lines they came from, truncated
    note: str = ""
    size: int | None = None

    @property
    def is_reference(self) -> bool:
        """True when any kernel is oneDNN's reference implementation (the pytorch#193951 cliff)."""
        return any(_is_reference_backend(b) for b in self.backends)

    @property
    def primary(self) -> str | None:
        """The compute kernel: the first backend that is not a data reorder."""
        compute = [b for b in self.backends if not b.startswith("onednn:reorder:")]
        return (compute or list(self.backends) or [None])[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "dtype": self.dtype,
            "device": self.device,
            "size": self.size,
            "backends": list(self.backends),
            "is_reference": self.is_reference,
            "raw_lines": list(self.raw_lines),
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KernelInfo:
        try:
            return cls(
                op=str(data["op"]),
                dtype=str(data["dtype"]),
                device=str(data.get("device", "cpu")),
                backends=tuple(str(b) for b in data.get("backends", ())),
                raw_lines=tuple(str(x) for x in data.get("raw_lines", ())),
                note=str(data.get("note", "")),
                size=int(data["size"]) if data.get("size") is not None else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TorchperfError(f"malformed kernel record {dict(data)!r}: {exc}") from None


def kernel_key(op: str, dtype: str) -> str:
    """The key of a KernelInfo in `kernels_for`'s result and in JSON files: "mm/bfloat16"."""
    return f"{op}/{dtype}"


# --------------------------------------------------------------------------------------------------
# Parsing (pure, tested on captured lines).

_MKL_RE = re.compile(r"^MKL_VERBOSE\s+([A-Za-z][A-Za-z0-9_]*)\(")
_ONEDNN_PREFIXES = ("onednn_verbose,", "dnnl_verbose,")
_POINTER_RE = re.compile(r"0x[0-9a-fA-F]+")


def _is_reference_backend(backend: str) -> bool:
    if not backend.startswith("onednn:"):
        return False
    impl = backend.split(":", 2)[2] if backend.count(":") >= 2 else ""
    return impl.split(":")[0].startswith("ref")


def parse_verbose_line(line: str) -> str | None:
    """The backend name in one MKL/oneDNN verbose line, or None for banners and other lines.

    `MKL_VERBOSE SGEMM(N,N,1024,...)` -> "mkl:SGEMM";
    `onednn_verbose,v1,primitive,exec,cpu,matmul,brg_matmul:avx512_core_bf16,...`
    -> "onednn:matmul:brg_matmul:avx512_core_bf16". Older formats (`dnnl_verbose,exec,cpu,...`,
    no "v1", an optional timestamp) are read by locating the "exec" field.
    """
    line = line.strip()
    m = _MKL_RE.match(line)
    if m:
        return f"mkl:{m.group(1)}"
    if line.startswith(_ONEDNN_PREFIXES):
        fields = line.split(",")
        if "exec" not in fields:
            return None
        i = fields.index("exec")
        if fields[i - 1] == "graph":  # graph-API partitions have another layout; primitives follow
            return None
        if len(fields) < i + 4:
            return None
        engine, kind, impl = fields[i + 1], fields[i + 2], fields[i + 3]
        if engine != "cpu":
            kind = f"{engine}.{kind}"
        return f"onednn:{kind}:{impl}"
    return None


def parse_verbose_output(lines: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(backends, raw_lines): distinct backends, compute kernels before reorders; sample lines."""
    seen: dict[str, str] = {}
    for line in lines:
        backend = parse_verbose_line(line)
        if backend is not None and backend not in seen:
            seen[backend] = _POINTER_RE.sub("0x…", line.strip())[:_MAX_LINE]
    backends = sorted(seen, key=lambda b: b.startswith("onednn:reorder:"))  # stable
    return tuple(backends), tuple(seen[b] for b in backends)[:_MAX_RAW_LINES]


def _note_for(backends: tuple[str, ...]) -> str:
    if not backends:
        return NATIVE_NOTE
    if any(_is_reference_backend(b) for b in backends):
        return REFERENCE_NOTE
    return ""


def cuda_kernel_names(events: Iterable[Any]) -> tuple[str, ...]:
    """Distinct names of the device-side kernels in a torch.profiler event list, in first-seen order.

    An event counts as a GPU kernel when its `device_type` is CUDA (DeviceType.CUDA, whose str ends
    in "CUDA") — the CPU-side `aten::mm` and `cudaLaunchKernel` events are not kernels. Memcpy and
    memset entries are dropped: they are not the op's compute.
    """
    names: list[str] = []
    for event in events:
        device_type = getattr(event, "device_type", None)
        if device_type is None or not str(device_type).upper().endswith("CUDA"):
            continue
        name = str(getattr(event, "name", "") or getattr(event, "key", ""))
        if not name or name.lower().startswith(("memcpy", "memset")):
            continue
        if name not in names:
            names.append(name)
    return tuple(names)


# --------------------------------------------------------------------------------------------------
# The child process.


def default_size(op: str) -> int:
    """The provenance size for `op` when none is given: 512, but small spatial dims for conv2d.

    The catalog's conv2d shape for n is N=8, C=F=64, H=W=n: n=512 would be a 150 GFLOP, 0.5 GB
    call just to read a kernel name. An alias gets its op's size ("scaled_dot_product_attention": 256).
    """
    from torchperf_core import catalog  # noqa: PLC0415

    return _DEFAULT_SIZES.get(catalog.ALIASES.get(op, op), 512)


_DEFAULT_SIZES = {"conv2d": 56, "sdpa": 256}


def _run_one(torch: Any, op: str, dtype: str, size: int, device: str, calls: int) -> tuple[str, ...]:
    """Build the op's inputs with the catalog (seeded), call it `calls` times; CUDA: profile it."""
    from torchperf_core import catalog  # noqa: PLC0415
    from torchperf_core.engine import for_dtype, pinned_precision  # noqa: PLC0415

    opdef = catalog.get_op(op)
    gen = torch.Generator(device="cpu").manual_seed(0)
    inputs = opdef.build(
        opdef.shape_for_size(size), catalog.torch_dtype(dtype), torch.device(device), "contiguous", gen
    )
    with pinned_precision(for_dtype(dtype)):
        if not device.startswith("cuda"):
            for _ in range(calls):
                opdef.call(inputs)
            return ()
        from torch.profiler import ProfilerActivity, profile  # noqa: PLC0415

        opdef.call(inputs)  # handle/workspace creation outside the profile
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for _ in range(calls):
                opdef.call(inputs)
            torch.cuda.synchronize()
        return cuda_kernel_names(prof.events())


def _flush_c_stdio() -> None:
    """MKL/oneDNN print through C stdio, block-buffered on a pipe: flush before each marker."""
    try:
        import ctypes  # noqa: PLC0415

        ctypes.CDLL(None).fflush(None)
    except Exception:  # noqa: BLE001 — best effort; markers may then be misordered
        pass


def _emit(text: str) -> None:
    sys.stdout.flush()
    _flush_c_stdio()
    os.write(1, (text + "\n").encode())


def child_main(argv: list[str]) -> int:
    """Entry point of the provenance subprocess: argv[0] is a JSON list of [op, dtype, size, device]."""
    import torch  # noqa: PLC0415

    jobs = json.loads(argv[0])
    calls = int(argv[1]) if len(argv) > 1 else 3
    for i, (op, dtype, size, device) in enumerate(jobs):
        _emit(f"{_MARK} begin {i}")
        try:
            names = _run_one(torch, op, dtype, int(size), device, calls)
        except Exception as exc:  # noqa: BLE001 — reported per job, the others still run
            message = f"{type(exc).__name__}: {exc}".splitlines()[0][:200] if str(exc) else ""
            _emit(f"{_MARK} end {i} error {json.dumps(message or type(exc).__name__)}")
            continue
        _emit(f"{_MARK} end {i} ok {json.dumps(list(names))}")
    return 0


# --------------------------------------------------------------------------------------------------
# The parent side.


def _check(op: str, size: int, dtype: str, device: str) -> None:
    """Refuse an unknown op/dtype, an unsupported combination or a bad size before starting a subprocess."""
    from torchperf_core import catalog  # noqa: PLC0415

    catalog.check_case(op, size, dtype, device.partition(":")[0])


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"MKL_VERBOSE": "1", "ONEDNN_VERBOSE": "1", "DNNL_VERBOSE": "1"})
    # The child imports this package: make it importable even when it is not installed.
    # (the folder holding torchperf_core: this file is torchperf_core/env/kernels.py; putting
    # torchperf_core/ itself on the path would shadow standard modules with rooms such as `bisect`)
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    return env


def parse_child_output(
    text: str, jobs: list[tuple[str, str, int, str]]
) -> dict[str, KernelInfo]:
    """Split the child's combined stdout/stderr at its markers into one KernelInfo per job (pure)."""
    results: dict[str, KernelInfo] = {}
    current: int | None = None
    block: list[str] = []
    for line in text.splitlines():
        if line.startswith(f"{_MARK} begin "):
            current, block = int(line.split()[2]), []
            continue
        if line.startswith(f"{_MARK} end ") and current is not None:
            _, _, index, status, payload = line.split(" ", 4)
            op, dtype, size, device = jobs[int(index)]
            if status == "ok":
                cuda_names = tuple(json.loads(payload))
                if cuda_names:
                    backends = tuple(f"cuda:{n[:_MAX_LINE]}" for n in cuda_names)
                    raw: tuple[str, ...] = ()
                    note = ""
                else:
                    backends, raw = parse_verbose_output(block)
                    note = _note_for(backends)
                    if not backends and device.startswith("cuda"):
                        note = "no CUDA kernels seen by torch.profiler"
            else:
                backends, raw = (), ()
                note = f"op failed: {json.loads(payload)}"
            results[kernel_key(op, dtype)] = KernelInfo(
                op=op, dtype=dtype, device=device, backends=backends, raw_lines=raw, note=note,
                size=size,
            )  # fmt: skip
            current = None
            continue
        if current is not None:
            block.append(line)
    return results


def _run_jobs(jobs: list[tuple[str, str, int, str]], timeout: float) -> dict[str, KernelInfo]:
    code = "import sys; from torchperf_core.env.kernels import child_main; sys.exit(child_main(sys.argv[1:]))"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, json.dumps(jobs)],
            env=_child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        output, failure = proc.stdout, (
            f"provenance subprocess exited {proc.returncode}" if proc.returncode else ""
        )
    except subprocess.TimeoutExpired as exc:
        raw = exc.stdout or b""
        output = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        failure = f"provenance subprocess timed out after {timeout:g} s"
    results = parse_child_output(output, jobs)
    for op, dtype, size, device in jobs:
        key = kernel_key(op, dtype)
        if key not in results:
            tail = output.strip().splitlines()[-1][:200] if output.strip() else ""
            note = failure or "provenance subprocess gave no result"
            results[key] = KernelInfo(
                op=op, dtype=dtype, device=device, size=size,
                note=f"{note}: {tail}" if tail else note,
            )  # fmt: skip
    return results


def kernel_for(
    op: str, dtype: str, size: int | None = None, device: str = "cpu", timeout: float = 60
) -> KernelInfo:
    """Which backend kernels `op` ran for `dtype` at `size` on `device` (one subprocess).

    `size` is the catalog's size n (None: `default_size(op)`, 512 for the GEMMs). Raises
    TorchperfError for an unknown op/dtype or an unsupported combination; a failure inside the
    subprocess (op not implemented for the dtype, timeout) is reported in `KernelInfo.note`.
    """
    n = default_size(op) if size is None else int(size)
    _check(op, n, dtype, device)
    return _run_jobs([(op, dtype, n, device)], timeout)[kernel_key(op, dtype)]


def kernels_for(
    pairs: Iterable[tuple[str, str]],
    size: int | None = None,
    device: str = "cpu",
    timeout: float = 120,
) -> dict[str, KernelInfo]:
    """`kernel_for` for many (op, dtype) pairs in one subprocess (torch is imported once).

    Keys are `kernel_key(op, dtype)` ("mm/bfloat16"), in the order given.
    """
    jobs = []
    for op, dtype in pairs:
        n = default_size(op) if size is None else int(size)
        _check(op, n, dtype, device)
        jobs.append((op, dtype, n, device))
    if not jobs:
        return {}
    results = _run_jobs(jobs, timeout)
    return {kernel_key(op, dtype): results[kernel_key(op, dtype)] for op, dtype, _, _ in jobs}


__all__ = [
    "default_size",
    "NATIVE_NOTE",
    "KernelInfo",
    "cuda_kernel_names",
    "kernel_for",
    "kernel_key",
    "kernels_for",
    "parse_child_output",
    "parse_verbose_line",
    "parse_verbose_output",
]

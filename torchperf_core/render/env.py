"""Text rendering of a fingerprint and of kernel provenance (`torchperf env`). Returns strings only."""

from __future__ import annotations

from typing import Iterable

from torchperf_core.env import ABSENT, Fingerprint
from torchperf_core.env import KernelInfo


def _fmt(value: object) -> str:
    if value is None:
        return ABSENT
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value) if value else ABSENT
    return str(value)


def _gib(n: int | None) -> str:
    return ABSENT if n is None else f"{n / 2**30:.1f} GiB"


def _section(title: str, rows: Iterable[tuple[str, object]]) -> list[str]:
    rows = list(rows)
    width = max((len(k) for k, _ in rows), default=0)
    return [title] + [f"  {k:<{width}}  {_fmt(v)}" for k, v in rows] + [""]


def render_fingerprint(fp: Fingerprint) -> str:
    """The fingerprint as titled sections of "name  value" rows."""
    t, th, c, p, pl = fp.torch, fp.threads, fp.cpu, fp.precision, fp.platform
    lines: list[str] = []
    lines += _section("PyTorch", [
        ("version", t.version), ("git version", t.git_version), ("debug build", t.debug),
        ("CUDA", t.cuda), ("cuDNN", t.cudnn), ("HIP", t.hip),
        ("BLAS", t.blas_info), ("LAPACK", t.lapack_info), ("MKL", t.mkl_version),
        ("oneDNN", t.onednn_version), ("OpenMP", t.openmp), ("CPU capability", t.cpu_capability),
    ])  # fmt: skip
    lines += _section("Loaded BLAS/OpenMP libraries", [
        (lib.filename or ABSENT,
         f"{lib.user_api}/{lib.internal_api} {lib.version or '?'}, {lib.num_threads} threads")
        for lib in fp.libraries
    ] or [("(none found)", "")])  # fmt: skip
    lines += _section("Threads", [
        ("torch threads", th.torch_num_threads), ("interop threads", th.torch_num_interop_threads),
        ("OpenMP max", th.omp_max_threads), ("MKL max", th.mkl_max_threads),
        ("hardware concurrency", th.hardware_concurrency), ("parallel backend", th.parallel_backend),
    ])  # fmt: skip
    lines += _section("CPU", [
        ("model", c.model), ("vendor", c.vendor), ("ISA", c.flags),
        ("cores", f"{_fmt(c.physical_cores)} physical, {_fmt(c.logical_cores)} logical"),
        ("memory", _gib(c.memory_total_bytes)),
    ])  # fmt: skip
    if fp.gpu is None:
        lines += _section("GPU", [("device", "none")])
    else:
        g = fp.gpu
        lines += _section("GPU", [
            ("name", g.name), ("memory", _gib(g.memory_total_bytes)), ("SMs", g.sm_count),
            ("compute capability", g.compute_capability), ("driver", g.driver),
        ])  # fmt: skip
    lines += _section("Precision and determinism", [
        ("float32 matmul precision", p.float32_matmul_precision),
        ("cuda matmul allow_tf32", p.cuda_matmul_allow_tf32),
        ("cuda matmul fp16 reduced-precision reduction", p.cuda_matmul_allow_fp16_reduced_precision_reduction),
        ("cuda matmul bf16 reduced-precision reduction", p.cuda_matmul_allow_bf16_reduced_precision_reduction),
        ("cudnn allow_tf32", p.cudnn_allow_tf32), ("cudnn benchmark", p.cudnn_benchmark),
        ("cudnn deterministic", p.cudnn_deterministic),
        ("deterministic algorithms", p.deterministic_algorithms),
        ("deterministic warn only", p.deterministic_algorithms_warn_only),
        ("mkldnn enabled", p.mkldnn_enabled),
        ("fp32_precision (global)", p.fp32_precision),
        ("fp32_precision cuda matmul", p.cuda_matmul_fp32_precision),
        ("fp32_precision cudnn", p.cudnn_fp32_precision),
        ("fp32_precision mkldnn", p.mkldnn_fp32_precision),
        ("fp32_precision mkldnn matmul", p.mkldnn_matmul_fp32_precision),
    ])  # fmt: skip
    lines += _section("Platform", [
        ("device", fp.device), ("Python", f"{_fmt(pl.python)} ({_fmt(pl.python_implementation)})"),
        ("OS", f"{_fmt(pl.os)} {_fmt(pl.kernel)}"), ("machine", pl.machine),
    ])  # fmt: skip
    lines += _section("Environment (whitelisted variables)", list(fp.env) or [("(none set)", "")])
    return "\n".join(lines).rstrip() + "\n"


def render_kernels(kernels: Iterable[KernelInfo]) -> str:
    """One row per (op, dtype): the kernels that ran; a reference fallback is marked loudly."""
    rows = [
        (
            f"{k.op} {k.dtype}" + (f" n={k.size}" if k.size is not None else ""),
            ", ".join(k.backends) if k.backends else "-",
            ("!! " + k.note) if k.is_reference else k.note,
        )
        for k in kernels
    ]
    if not rows:
        return ""
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = ["Kernels (from MKL_VERBOSE / ONEDNN_VERBOSE, or the CUDA profiler)"]
    lines += [f"  {a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in rows]
    return "\n".join(lines) + "\n"

"""The environment fingerprint: a declared, typed record of everything that changes a timing.

Two timings of the same op are only comparable when the software stack (torch build, BLAS, oneDNN),
the hardware (CPU model and ISA, GPU), the thread counts and the precision flags are the same. The
fingerprint records those as frozen dataclasses with typed fields (not a dict grown ad hoc), so a
diff between two runs names exactly what changed, and `comparability_warnings` says loudly when a
key field differs.

Privacy: environment variables are read through a whitelist (`scrub_environment`); library paths
are reduced to their basenames; no hostname or user name is ever recorded.

This module does not import torch: `from_json`, `diff_fingerprints` and `comparability_warnings`
serve compare/publish, which never need torch. `collect_fingerprint` reads the live environment
through `torchperf_core.fingerprint_collect`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Mapping

from torchperf_core.errors import TorchperfError
from torchperf_core.formats import check_format_version

# Format history:
#   1 — first version: torch build, loaded libraries, threads, cpu, gpu, precision, platform, env.
FINGERPRINT_FORMAT_VERSION = 1

# ISA features worth recording: they pick the kernels (AVX-512 BF16 → oneDNN brgemm bf16, AMX → amx
# kernels, FP16 → native half GEMM). Only these are kept so that a diff is not drowned in
# irrelevant flags. Names are as Linux spells them in /proc/cpuinfo (x86 "flags", aarch64
# "Features").
ISA_FLAGS: tuple[str, ...] = (
    # x86
    "sse4_2", "avx", "avx2", "fma", "f16c",
    "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni", "avx512_bf16",
    "avx512_fp16", "avx_vnni", "avx_vnni_int8", "avx_ne_convert",
    "amx_tile", "amx_bf16", "amx_int8", "amx_fp16", "amx_complex",
    # aarch64
    "asimd", "asimdhp", "fphp", "asimddp", "bf16", "i8mm", "sve", "sve2", "sme", "sme2",
)  # fmt: skip

_ENV_PREFIXES = ("OMP_", "MKL_", "KMP_", "GOMP_", "DNNL_", "ONEDNN_")
_ENV_EXACT = ("CUDA_VISIBLE_DEVICES", "CUBLAS_WORKSPACE_CONFIG", "PYTORCH_CUDA_ALLOC_CONF")
_ENV_BASENAMES = ("LD_PRELOAD",)


def scrub_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The whitelisted part of `environ`: the variables that change kernels, threads or allocators.

    Names starting with OMP_, MKL_, KMP_, GOMP_, DNNL_ or ONEDNN_, plus exactly CUDA_VISIBLE_DEVICES,
    CUBLAS_WORKSPACE_CONFIG and PYTORCH_CUDA_ALLOC_CONF; LD_PRELOAD is kept as the basenames of its
    entries (a preloaded jemalloc/tcmalloc/iomp changes timings; its directory says who you are).
    Everything else — tokens, keys, paths, user names — is dropped, never recorded.
    """
    kept: dict[str, str] = {}
    for name, value in environ.items():
        if name.startswith(_ENV_PREFIXES) or name in _ENV_EXACT:
            kept[name] = value
        elif name in _ENV_BASENAMES:
            entries = [e for e in re.split(r"[:\s]+", value) if e]
            kept[name] = " ".join(os.path.basename(e) for e in entries)
    return dict(sorted(kept.items()))


# --------------------------------------------------------------------------------------------------
# The declared fields. Every field has a default so that a file missing an optional field still
# loads (`from_json`); `None` means "not known / not applicable here".


@dataclass(frozen=True)
class TorchInfo:
    """The torch build: versions and the libraries it was compiled against."""

    version: str | None = None
    git_version: str | None = None
    debug: bool | None = None
    cuda: str | None = None
    cudnn: str | None = None
    hip: str | None = None
    blas_info: str | None = None  # BLAS_INFO= in torch.__config__.show(): "mkl", "open", "accelerate"
    lapack_info: str | None = None
    mkl_version: str | None = None
    onednn_version: str | None = None
    openmp: str | None = None
    cpu_capability: str | None = None  # "CPU capability usage:" — the ATen dispatch level in use


@dataclass(frozen=True)
class LoadedLibrary:
    """A BLAS or OpenMP library actually loaded in the process (threadpoolctl)."""

    user_api: str | None = None  # "blas" | "openmp"
    internal_api: str | None = None  # "mkl", "openblas", "openmp", ...
    version: str | None = None
    num_threads: int | None = None
    filename: str | None = None  # basename only, never the path


@dataclass(frozen=True)
class Threads:
    """Thread counts as torch and its runtimes see them (`torch.__config__.parallel_info()`)."""

    torch_num_threads: int | None = None
    torch_num_interop_threads: int | None = None
    omp_max_threads: int | None = None
    mkl_max_threads: int | None = None
    hardware_concurrency: int | None = None
    parallel_backend: str | None = None
    cpu_affinity: str | None = None  # CPUs this process may run on, e.g. "0-1" (`--cpus` pins it)


@dataclass(frozen=True)
class CpuInfo:
    model: str | None = None
    vendor: str | None = None
    flags: tuple[str, ...] = ()  # the present subset of ISA_FLAGS, in ISA_FLAGS order
    logical_cores: int | None = None
    physical_cores: int | None = None
    memory_total_bytes: int | None = None


@dataclass(frozen=True)
class GpuInfo:
    name: str | None = None
    memory_total_bytes: int | None = None
    sm_count: int | None = None
    compute_capability: str | None = None  # "9.0"
    driver: str | None = None  # display driver version (nvidia-smi), when it can be read


@dataclass(frozen=True)
class Precision:
    """Precision and determinism flags: unpinned, TF32 alone fakes a 2-8x "regression"."""

    float32_matmul_precision: str | None = None
    cuda_matmul_allow_tf32: bool | None = None
    cuda_matmul_allow_fp16_reduced_precision_reduction: bool | None = None
    cuda_matmul_allow_bf16_reduced_precision_reduction: bool | None = None
    cudnn_allow_tf32: bool | None = None
    cudnn_benchmark: bool | None = None
    cudnn_deterministic: bool | None = None
    deterministic_algorithms: bool | None = None
    deterministic_algorithms_warn_only: bool | None = None
    mkldnn_enabled: bool | None = None
    # The newer per-backend `fp32_precision` switches ("none" | "tf32" | "bf16" | "ieee"), read
    # only where torch has them.
    fp32_precision: str | None = None
    cuda_matmul_fp32_precision: str | None = None
    cudnn_fp32_precision: str | None = None
    mkldnn_fp32_precision: str | None = None
    mkldnn_matmul_fp32_precision: str | None = None


@dataclass(frozen=True)
class PlatformInfo:
    python: str | None = None
    python_implementation: str | None = None
    os: str | None = None
    kernel: str | None = None
    machine: str | None = None


@dataclass(frozen=True)
class Fingerprint:
    """Everything about the environment that can change a timing. Build with `collect_fingerprint`."""

    device: str | None = None
    torch: TorchInfo = field(default_factory=TorchInfo)
    libraries: tuple[LoadedLibrary, ...] = ()
    threads: Threads = field(default_factory=Threads)
    cpu: CpuInfo = field(default_factory=CpuInfo)
    gpu: GpuInfo | None = None
    precision: Precision = field(default_factory=Precision)
    platform: PlatformInfo = field(default_factory=PlatformInfo)
    env: tuple[tuple[str, str], ...] = ()  # whitelisted variables, sorted by name

    @property
    def env_dict(self) -> dict[str, str]:
        return dict(self.env)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format_version": FINGERPRINT_FORMAT_VERSION}
        out.update(_to_json(self))
        return out

    @classmethod
    def from_json(cls, data: Any, *, source: str = "") -> Fingerprint:
        """Load a fingerprint; another format version is refused by the one shared check.

        Missing fields take their defaults (None) so that files written before a field was added
        still load; unknown keys are ignored. `source` names the file it came from.
        """
        check_format_version(data, "fingerprint", FINGERPRINT_FORMAT_VERSION, source=source,
                             fix="re-take it with `torchperf env --json` (`torchperf run` for a results file)")
        body = {k: v for k, v in data.items() if k != "format_version"}
        return _from_json(cls, body, "fingerprint")


# --------------------------------------------------------------------------------------------------
# JSON (de)serialisation driven by the declared types.

def _to_json(value: Any) -> Any:
    if isinstance(value, Fingerprint):
        out = {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        out["env"] = dict(value.env)
        return out
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def _from_json(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _from_json(inner, value, path)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise TorchperfError(f"fingerprint field {path!r} must be an object, got {value!r}")
        hints = typing.get_type_hints(tp)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(tp):
            if f.name not in value:
                continue  # the declared default applies
            if tp is Fingerprint and f.name == "env":
                env = value["env"] or {}
                if not isinstance(env, Mapping):
                    raise TorchperfError(f"fingerprint field 'env' must be an object, got {env!r}")
                kwargs["env"] = tuple(sorted((str(k), str(v)) for k, v in env.items()))
                continue
            kwargs[f.name] = _from_json(hints[f.name], value[f.name], f"{path}.{f.name}")
        return tp(**kwargs)
    if origin is tuple:
        inner = typing.get_args(tp)[0]
        if not isinstance(value, (list, tuple)):
            raise TorchperfError(f"fingerprint field {path!r} must be a list, got {value!r}")
        return tuple(_from_json(inner, v, f"{path}[{i}]") for i, v in enumerate(value))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if (tp is int and isinstance(value, bool)) or not isinstance(value, tp):
        raise TorchperfError(
            f"fingerprint field {path!r} must be {tp.__name__}, got {value!r}"
        )
    return value


# --------------------------------------------------------------------------------------------------
# Diff and comparability.


@dataclass(frozen=True)
class FieldDiff:
    path: str  # dotted, e.g. "torch.mkl_version", "env.OMP_NUM_THREADS", "libraries[libgomp.so.1]"
    before: str
    after: str


ABSENT = "(none)"

# Fields (or dotted prefixes) whose difference makes two runs not directly comparable.
KEY_FIELDS: tuple[str, ...] = (
    "device",
    "cpu.model",
    "cpu.flags",
    "gpu.name",
    "gpu.driver",
    "torch.version",
    "torch.git_version",
    "torch.cuda",
    "torch.cudnn",
    "torch.hip",
    "torch.blas_info",
    "torch.mkl_version",
    "torch.onednn_version",
    "torch.cpu_capability",
    "libraries",
    "threads.torch_num_threads",
    "threads.torch_num_interop_threads",
    "threads.omp_max_threads",
    "threads.mkl_max_threads",
    "precision",
)


def _leaf_str(value: Any) -> str:
    if value is None:
        return ABSENT
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value) if value else ABSENT
    return str(value)


def flatten(fp: Fingerprint) -> dict[str, str]:
    """Dotted path → printable value for every leaf; the shape `diff_fingerprints` compares."""
    flat: dict[str, str] = {"device": _leaf_str(fp.device)}
    for section in ("torch", "threads", "cpu", "precision", "platform"):
        obj = getattr(fp, section)
        for f in dataclasses.fields(obj):
            flat[f"{section}.{f.name}"] = _leaf_str(getattr(obj, f.name))
    if fp.gpu is None:
        flat["gpu"] = ABSENT
    else:
        for f in dataclasses.fields(fp.gpu):
            flat[f"gpu.{f.name}"] = _leaf_str(getattr(fp.gpu, f.name))
    for lib in fp.libraries:
        key = lib.filename or lib.internal_api or "?"
        for name in ("user_api", "internal_api", "version", "num_threads"):
            flat[f"libraries[{key}].{name}"] = _leaf_str(getattr(lib, name))
    for name, value in fp.env:
        flat[f"env.{name}"] = value
    return flat


def diff_fingerprints(a: Fingerprint, b: Fingerprint) -> list[FieldDiff]:
    """Every leaf that differs between `a` and `b` (a field present on one side only included)."""
    fa, fb = flatten(a), flatten(b)
    paths = list(fa) + [p for p in fb if p not in fa]
    return [
        FieldDiff(p, fa.get(p, ABSENT), fb.get(p, ABSENT))
        for p in paths
        if fa.get(p, ABSENT) != fb.get(p, ABSENT)
    ]


def is_key_field(path: str) -> bool:
    return any(
        path == key or path.startswith(key + ".") or path.startswith(key + "[") for key in KEY_FIELDS
    )


def comparability_warnings(a: Fingerprint, b: Fingerprint) -> list[str]:
    """One line per key-field difference: timings across it are not directly comparable."""
    return [
        f"{d.path} differs ({d.before} -> {d.after}): timings are not directly comparable"
        for d in diff_fingerprints(a, b)
        if is_key_field(d.path)
    ]


# --------------------------------------------------------------------------------------------------
# Collection lives in fingerprint_collect (it reads torch, /proc, threadpoolctl, the GPU).



__all__ = [
    "ABSENT",
    "FINGERPRINT_FORMAT_VERSION",
    "ISA_FLAGS",
    "KEY_FIELDS",
    "CpuInfo",
    "FieldDiff",
    "Fingerprint",
    "GpuInfo",
    "LoadedLibrary",
    "PlatformInfo",
    "Precision",
    "Threads",
    "TorchInfo",
    "comparability_warnings",
    "diff_fingerprints",
    "flatten",
    "is_key_field",
    "scrub_environment",
]

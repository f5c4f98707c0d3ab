"""Collecting the fingerprint: reads torch's build and runtime facts, /proc, threadpoolctl, the GPU.

The declared fields, JSON and diff live in `torchperf_core.fingerprint`; this module fills them in.
Parsers of captured text (`parse_config_show`, `parse_parallel_info`, `parse_cpuinfo`) are pure so
they are tested on text from other machines.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import warnings
from typing import Any, Callable, TypeVar

from torchperf_core.errors import TorchperfError
from torchperf_core.env.fingerprint import (
    ISA_FLAGS,
    CpuInfo,
    Fingerprint,
    GpuInfo,
    LoadedLibrary,
    PlatformInfo,
    Precision,
    Threads,
    TorchInfo,
    scrub_environment,
)

_T = TypeVar("_T")


# Collection. Every torch attribute is read through a guard: supported torch goes back to 2.0, and
# newer switches (fp32_precision, torch.accelerator) are feature-checked, never version-compared.


def _guard(fn: Callable[[], _T]) -> _T | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    except Exception:  # noqa: BLE001 — a missing/older attribute means "not known"
        return None


def _attr(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if obj is None or not hasattr(obj, part):
            return None
        obj = getattr(obj, part)
    return obj


def _search(pattern: str, text: str, group: int = 1) -> str | None:
    m = re.search(pattern, text, re.MULTILINE)
    return m.group(group).strip() if m else None


def parse_config_show(text: str) -> dict[str, str | None]:
    """The build facts in `torch.__config__.show()` (pure; tested on captured text)."""
    mkl = re.search(r"Math Kernel Library Version ([0-9][0-9.]*)(?:-Product Build (\d+))?", text)
    mkl_version = None
    if mkl:
        mkl_version = mkl.group(1) + (f" build {mkl.group(2)}" if mkl.group(2) else "")
    dnn = re.search(r"(?:MKL-DNN|oneDNN) v(\S+)(?: \(Git Hash (\w+)\))?", text)
    onednn_version = None
    if dnn:
        onednn_version = dnn.group(1) + (f" ({dnn.group(2)[:12]})" if dnn.group(2) else "")
    return {
        "blas_info": _search(r"BLAS_INFO=([^,\s]*)", text),
        "lapack_info": _search(r"LAPACK_INFO=([^,\s]*)", text),
        "mkl_version": mkl_version,
        "onednn_version": onednn_version,
        "openmp": _search(r"^\s*-\s*OpenMP (\d+)", text),
        "cpu_capability": _search(r"CPU capability usage: (\S+)", text),
    }


def parse_parallel_info(text: str) -> dict[str, Any]:
    """Thread counts from `torch.__config__.parallel_info()` (pure)."""

    def num(pattern: str) -> int | None:
        value = _search(pattern, text)
        return int(value) if value and value.isdigit() else None

    return {
        "torch_num_threads": num(r"at::get_num_threads\(\)\s*:\s*(\d+)"),
        "torch_num_interop_threads": num(r"at::get_num_interop_threads\(\)\s*:\s*(\d+)"),
        "omp_max_threads": num(r"omp_get_max_threads\(\)\s*:\s*(\d+)"),
        "mkl_max_threads": num(r"mkl_get_max_threads\(\)\s*:\s*(\d+)"),
        "hardware_concurrency": num(r"hardware_concurrency\(\)\s*:\s*(\d+)"),
        "parallel_backend": _search(r"ATen parallel backend:\s*(.+)$", text),
    }


def _torch_info(torch: Any) -> TorchInfo:
    show = _guard(lambda: torch.__config__.show()) or ""
    parsed = parse_config_show(show)
    cudnn = _guard(lambda: torch.backends.cudnn.version())
    return TorchInfo(
        version=_guard(lambda: str(torch.__version__)),
        git_version=_guard(lambda: torch.version.git_version),
        debug=_guard(lambda: bool(torch.version.debug)),
        cuda=_guard(lambda: torch.version.cuda),
        cudnn=str(cudnn) if cudnn is not None else None,
        hip=_guard(lambda: torch.version.hip),
        **parsed,
    )


def _threads(torch: Any) -> Threads:
    info = parse_parallel_info(_guard(lambda: torch.__config__.parallel_info()) or "")
    # The live getters win over the text (they are the same numbers unless parsing drifted).
    num = _guard(torch.get_num_threads)
    interop = _guard(torch.get_num_interop_threads)
    if num is not None:
        info["torch_num_threads"] = int(num)
    if interop is not None:
        info["torch_num_interop_threads"] = int(interop)
    info["cpu_affinity"] = _guard(_affinity)
    return Threads(**info)


def _affinity() -> str | None:
    from torchperf_core.engine import current_affinity, format_cpu_list

    return format_cpu_list(current_affinity())


def _libraries() -> tuple[LoadedLibrary, ...]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ()
    libs = []
    for entry in _guard(threadpool_info) or []:
        path = entry.get("filepath")
        libs.append(
            LoadedLibrary(
                user_api=entry.get("user_api"),
                internal_api=entry.get("internal_api"),
                version=entry.get("version"),
                num_threads=entry.get("num_threads"),
                filename=os.path.basename(path) if path else None,
            )
        )
    return tuple(sorted(libs, key=lambda lib: (lib.user_api or "", lib.filename or "")))


def parse_cpuinfo(text: str) -> dict[str, Any]:
    """Model, vendor, ISA flags and physical cores from Linux /proc/cpuinfo text (pure)."""
    model = _search(r"^model name\s*:\s*(.+)$", text)
    vendor = _search(r"^vendor_id\s*:\s*(.+)$", text)
    if vendor is None:
        vendor = _search(r"^CPU implementer\s*:\s*(.+)$", text)
    from torchperf_core.engine import cpu_flags  # noqa: PLC0415  (the one reader of the flags line)

    present = cpu_flags(text)
    cores: set[tuple[str, str]] = set()
    for block in text.split("\n\n"):
        phys = _search(r"^physical id\s*:\s*(\S+)", block)
        core = _search(r"^core id\s*:\s*(\S+)", block)
        if phys is not None and core is not None:
            cores.add((phys, core))
    return {
        "model": model,
        "vendor": vendor,
        "flags": tuple(f for f in ISA_FLAGS if f in present),
        "physical_cores": len(cores) or None,
    }


def cpu_model(cpuinfo_text: str | None = None) -> str:
    """This machine's CPU model name: /proc/cpuinfo's (or `cpuinfo_text`'s), else what `platform` says, else
    "unknown". The name asv files results under (run.asvglue's machine "cpu") and the scripts print."""
    text = _read("/proc/cpuinfo") if cpuinfo_text is None else cpuinfo_text
    return parse_cpuinfo(text or "")["model"] or platform.processor() or platform.machine() or "unknown"


def describe_cpu() -> str:
    """This machine in one line for a script's figures: the CPU model, its CPUs and the highest ISA level
    it runs, as ATen names it (engine.isa.EXPECTED_CAPABILITY: "AMD EPYC, 2 CPUs, AVX512"). Two hosts sold
    under one model name, one with AVX-512 and one without, run different cases (the bf16 ones skip on
    AVX2), so the level is part of the name (engine.highest_capability; none where it cannot be read).
    /proc/cpuinfo is read once for both."""
    from torchperf_core.engine import cpu_flags, highest_capability  # noqa: PLC0415

    text = _read("/proc/cpuinfo") or ""
    isa = highest_capability(cpu_flags(text))
    return f"{cpu_model(text)}, {os.cpu_count()} CPUs" + (f", {isa}" if isa else "")


def describe_load() -> str:
    """The load average in a script's figures ("load average 0.12 0.34 0.56"; nan where there is none)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def _memory_total_bytes() -> int | None:
    meminfo = _read("/proc/meminfo")
    if meminfo:
        kib = _search(r"^MemTotal:\s*(\d+)\s*kB", meminfo)
        if kib:
            return int(kib) * 1024
    return _guard(lambda: os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _cpu_info() -> CpuInfo:
    parsed = parse_cpuinfo(_read("/proc/cpuinfo") or "")
    return CpuInfo(
        # not cpu_model()'s fallback: a typed field where None means unknown, and compare skips its CPU check
        # when a model is None; "aarch64" or "unknown" there would start refusing comparisons
        model=parsed["model"] or (platform.processor() or None),
        vendor=parsed["vendor"],
        flags=parsed["flags"],
        logical_cores=os.cpu_count(),
        physical_cores=parsed["physical_cores"],
        memory_total_bytes=_memory_total_bytes(),
    )


def _nvidia_driver() -> str | None:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=15, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    line = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else ""
    return line.strip() or None


def _device_index(device: str | None) -> tuple[str, int | None]:
    """("cuda", 0) for "cuda"/"cuda:0"; ("cpu", None) for "cpu"; accepts None → best available."""
    if device is None:
        return ("", None)
    kind, _, index = device.partition(":")
    if index and not index.isdigit():
        raise TorchperfError(f"unknown device {device!r}; accepted: cpu, cuda, cuda:N, mps, xpu")
    return kind, int(index) if index else None


def _gpu_info(torch: Any, device: str | None) -> GpuInfo | None:
    kind, index = _device_index(device)
    if kind not in ("", "cuda"):
        return None
    if not _guard(lambda: torch.cuda.is_available()):
        return None
    idx = index if index is not None else (_guard(torch.cuda.current_device) or 0)
    props = _guard(lambda: torch.cuda.get_device_properties(idx))
    if props is None:
        return None
    major, minor = getattr(props, "major", None), getattr(props, "minor", None)
    driver = _nvidia_driver() if _guard(lambda: torch.version.hip) is None else None
    return GpuInfo(
        name=getattr(props, "name", None),
        memory_total_bytes=getattr(props, "total_memory", None),
        sm_count=getattr(props, "multi_processor_count", None),
        compute_capability=f"{major}.{minor}" if major is not None else None,
        driver=driver,
    )


def _precision(torch: Any) -> Precision:
    def flag(dotted: str) -> bool | None:
        value = _guard(lambda: _attr(torch, dotted))
        return bool(value) if value is not None else None

    def text(dotted: str) -> str | None:
        value = _guard(lambda: _attr(torch, dotted))
        return str(value) if value is not None else None

    return Precision(
        float32_matmul_precision=_guard(lambda: torch.get_float32_matmul_precision()),
        cuda_matmul_allow_tf32=flag("backends.cuda.matmul.allow_tf32"),
        cuda_matmul_allow_fp16_reduced_precision_reduction=flag(
            "backends.cuda.matmul.allow_fp16_reduced_precision_reduction"
        ),
        cuda_matmul_allow_bf16_reduced_precision_reduction=flag(
            "backends.cuda.matmul.allow_bf16_reduced_precision_reduction"
        ),
        cudnn_allow_tf32=flag("backends.cudnn.allow_tf32"),
        cudnn_benchmark=flag("backends.cudnn.benchmark"),
        cudnn_deterministic=flag("backends.cudnn.deterministic"),
        deterministic_algorithms=_guard(lambda: bool(torch.are_deterministic_algorithms_enabled())),
        deterministic_algorithms_warn_only=_guard(
            lambda: bool(torch.is_deterministic_algorithms_warn_only_enabled())
        ),
        mkldnn_enabled=flag("backends.mkldnn.enabled"),
        fp32_precision=text("backends.fp32_precision"),
        cuda_matmul_fp32_precision=text("backends.cuda.matmul.fp32_precision"),
        cudnn_fp32_precision=text("backends.cudnn.fp32_precision"),
        mkldnn_fp32_precision=text("backends.mkldnn.fp32_precision"),
        mkldnn_matmul_fp32_precision=text("backends.mkldnn.matmul.fp32_precision"),
    )


def _platform_info() -> PlatformInfo:
    uname = platform.uname()
    return PlatformInfo(
        python=platform.python_version(),
        python_implementation=platform.python_implementation(),
        os=uname.system or None,
        kernel=uname.release or None,
        machine=uname.machine or None,
    )


def collect(device: str | None = None) -> Fingerprint:
    """Fingerprint this process's environment.

    `device` ("cpu", "cuda", "cuda:N", ...) picks which GPU is described; None describes the
    current CUDA device when there is one. Importing torch happens here, not at module import.
    Reads the device's properties only; launches no kernels.
    """
    import torch  # noqa: PLC0415 — kept out of import time on purpose

    _device_index(device)  # validates the spec before any work
    gpu = _gpu_info(torch, device)
    return Fingerprint(
        device=device if device is not None else ("cuda" if gpu is not None else "cpu"),
        torch=_torch_info(torch),
        libraries=_libraries(),  # after `import torch`, so its BLAS/OpenMP are loaded
        threads=_threads(torch),
        cpu=_cpu_info(),
        gpu=gpu,
        precision=_precision(torch),
        platform=_platform_info(),
        env=tuple(scrub_environment(os.environ).items()),
    )


def collect_fingerprint(device: str | None = None) -> Fingerprint:
    """Fingerprint this process's environment.

    `device` ("cpu", "cuda", "cuda:N", ...) picks which GPU is described; None describes the
    current CUDA device when there is one. Imports torch (here, not at module import); reads device
    properties only, launches no kernels.
    """
    return collect(device)

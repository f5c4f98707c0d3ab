"""The environment fingerprint, collected on the real (CPU) torch of this environment."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import socket
import typing
from pathlib import Path

import pytest

from torchperf_core.env import collect_fingerprint
import torch

from torchperf_core.errors import TorchperfError
from torchperf_core.env.fingerprint import (
    FINGERPRINT_FORMAT_VERSION,
    KEY_FIELDS,
    CpuInfo,
    FieldDiff,
    GpuInfo,
    Fingerprint,
    LoadedLibrary,
    TorchInfo,
    comparability_warnings,
    diff_fingerprints,
    scrub_environment,
)
from torchperf_core.env.collect import parse_config_show, parse_cpuinfo, parse_parallel_info

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def fp() -> Fingerprint:
    return collect_fingerprint("cpu")


def _check_types(obj: object, path: str = "fp") -> None:
    """Every declared field holds a value of its declared type (recursively)."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        tp = hints[f.name]
        args = typing.get_args(tp)
        if value is None:
            assert type(None) in args, f"{path}.{f.name} is None but typed {tp}"
            continue
        if dataclasses.is_dataclass(value):
            _check_types(value, f"{path}.{f.name}")
        elif isinstance(value, tuple):
            for item in value:
                if dataclasses.is_dataclass(item):
                    _check_types(item, f"{path}.{f.name}[]")
        else:
            allowed = tuple(a for a in args if a is not type(None)) or (tp,)
            assert isinstance(value, allowed), f"{path}.{f.name}={value!r} is not {tp}"


def test_fields_present_and_typed_on_real_torch(fp: Fingerprint) -> None:
    _check_types(fp)
    assert fp.device == "cpu"
    assert fp.torch.version == str(torch.__version__)
    assert fp.torch.git_version == torch.version.git_version
    assert fp.torch.cuda == torch.version.cuda
    assert fp.torch.blas_info  # every torch build reports BLAS_INFO
    assert fp.torch.cpu_capability
    assert fp.threads.torch_num_threads == torch.get_num_threads()
    assert fp.threads.torch_num_interop_threads == torch.get_num_interop_threads()
    assert fp.cpu.logical_cores == os.cpu_count()
    assert fp.cpu.memory_total_bytes and fp.cpu.memory_total_bytes > 2**28
    assert fp.precision.float32_matmul_precision == torch.get_float32_matmul_precision()
    assert fp.precision.deterministic_algorithms == torch.are_deterministic_algorithms_enabled()
    assert fp.platform.python and fp.platform.machine
    if not torch.cuda.is_available():
        assert fp.gpu is None
    if "mkl" in (fp.torch.blas_info or ""):
        assert fp.torch.mkl_version


def test_libraries_are_basenames_only(fp: Fingerprint) -> None:
    for lib in fp.libraries:
        assert lib.filename and "/" not in lib.filename and "\\" not in lib.filename
    assert any(lib.user_api == "openmp" for lib in fp.libraries) or not fp.libraries


def test_no_hostname_or_user_in_json(monkeypatch: pytest.MonkeyPatch) -> None:
    real = platform.uname()
    planted = "planted-hostname-7f3a"
    monkeypatch.setattr(platform, "uname", lambda: real._replace(node=planted))
    monkeypatch.setattr(socket, "gethostname", lambda: planted)
    monkeypatch.setenv("USER", "planted-user-7f3a")
    monkeypatch.setenv("HOSTNAME", planted)
    text = json.dumps(collect_fingerprint("cpu").to_json())
    assert planted not in text and "planted-user" not in text


def test_json_round_trip(fp: Fingerprint) -> None:
    data = json.loads(json.dumps(fp.to_json()))
    assert data["format_version"] == FINGERPRINT_FORMAT_VERSION
    assert isinstance(data["env"], dict)
    assert Fingerprint.from_json(data) == fp


@pytest.mark.parametrize("version", [2, 0, None, "1"])
def test_refuses_unknown_format_version(fp: Fingerprint, version: object) -> None:
    data = fp.to_json()
    data["format_version"] = version
    with pytest.raises(TorchperfError, match=f"format_version {version!r}"):
        Fingerprint.from_json(data)


def test_tolerates_missing_optional_fields() -> None:
    fp = Fingerprint.from_json({"format_version": 1, "torch": {"version": "2.0.1"}, "gpu": None})
    assert fp.torch == TorchInfo(version="2.0.1")
    assert fp.cpu == CpuInfo() and fp.gpu is None and fp.env == () and fp.libraries == ()


def test_refuses_wrongly_typed_field() -> None:
    with pytest.raises(TorchperfError, match="threads.torch_num_threads"):
        Fingerprint.from_json({"format_version": 1, "threads": {"torch_num_threads": "two"}})


def test_fixture_v1_still_loads() -> None:
    data = json.loads((FIXTURES / "fingerprint_v1.json").read_text())
    fp = Fingerprint.from_json(data)
    assert fp.torch.version == "2.13.0+cpu"
    assert fp.torch.blas_info == "mkl"
    assert fp.env_dict == {"OMP_NUM_THREADS": "2"}
    assert all(isinstance(lib, LoadedLibrary) for lib in fp.libraries)
    assert Fingerprint.from_json(fp.to_json()) == fp


def test_diff_lists_every_differing_leaf(fp: Fingerprint) -> None:
    other = dataclasses.replace(
        fp,
        torch=dataclasses.replace(fp.torch, mkl_version="2099.1"),
        platform=dataclasses.replace(fp.platform, kernel="9.9.9"),
        env=fp.env + (("OMP_PROC_BIND", "close"),),
    )
    diffs = {d.path: d for d in diff_fingerprints(fp, other)}
    assert set(diffs) == {"torch.mkl_version", "platform.kernel", "env.OMP_PROC_BIND"}
    assert diffs["torch.mkl_version"] == FieldDiff(
        "torch.mkl_version", fp.torch.mkl_version or "(none)", "2099.1"
    )
    assert diffs["env.OMP_PROC_BIND"].before == "(none)"
    assert diff_fingerprints(fp, fp) == []


def test_comparability_warnings_name_key_fields_only(fp: Fingerprint) -> None:
    other = dataclasses.replace(
        fp,
        cpu=dataclasses.replace(fp.cpu, model="Some Other CPU"),
        precision=dataclasses.replace(fp.precision, float32_matmul_precision="high"),
        platform=dataclasses.replace(fp.platform, kernel="9.9.9"),
    )
    warnings = comparability_warnings(fp, other)
    assert len(warnings) == 2
    assert any(w.startswith("cpu.model differs") and "Some Other CPU" in w for w in warnings)
    assert any(w.startswith("precision.float32_matmul_precision differs") for w in warnings)
    assert "cpu.model" in KEY_FIELDS and "torch.version" in KEY_FIELDS


def test_library_version_change_is_a_key_difference() -> None:
    a = Fingerprint(libraries=(LoadedLibrary("blas", "openblas", "0.3.20", 2, "libopenblas.so"),))
    b = Fingerprint(libraries=(LoadedLibrary("blas", "openblas", "0.3.27", 2, "libopenblas.so"),))
    (warning,) = comparability_warnings(a, b)
    assert warning.startswith("libraries[libopenblas.so].version differs (0.3.20 -> 0.3.27)")


def test_scrub_environment_whitelist() -> None:
    environ = {
        "OMP_NUM_THREADS": "4", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "KMP_AFFINITY": "compact",
        "GOMP_CPU_AFFINITY": "0-3", "DNNL_MAX_CPU_ISA": "AVX2", "ONEDNN_VERBOSE": "0",
        "CUDA_VISIBLE_DEVICES": "0", "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
        "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
        "LD_PRELOAD": "/home/someone/lib/libjemalloc.so.2:/opt/x/libiomp5.so",
        "AWS_SECRET_ACCESS_KEY": "sk-planted-secret", "GITHUB_TOKEN": "x", "HF_TOKEN": "y",
        "HOME": "/home/someone", "USER": "someone", "PATH": "/usr/bin", "HOSTNAME": "box",
        "CUDA_HOME": "/usr/local/cuda", "XOMP_NUM_THREADS": "1",
    }  # fmt: skip
    kept = scrub_environment(environ)
    assert kept == {
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8", "CUDA_VISIBLE_DEVICES": "0",
        "DNNL_MAX_CPU_ISA": "AVX2", "GOMP_CPU_AFFINITY": "0-3", "KMP_AFFINITY": "compact",
        "LD_PRELOAD": "libjemalloc.so.2 libiomp5.so", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "OMP_NUM_THREADS": "4", "ONEDNN_VERBOSE": "0",
        "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
    }  # fmt: skip
    assert "someone" not in json.dumps(kept)


CONFIG_SHOW = """PyTorch built with:
  - GCC 13.3
  - Intel(R) oneAPI Math Kernel Library Version 2024.2-Product Build 20240605 for Intel(R) 64 architecture applications
  - Intel(R) MKL-DNN v3.12.0 (Git Hash 80afa71049cd69a3df32adcccb623b12cd7baa22)
  - OpenMP 201511 (a.k.a. OpenMP 4.5)
  - LAPACK is enabled (usually provided by MKL)
  - CPU capability usage: AVX512
  - Build settings: BLAS_INFO=mkl, BUILD_TYPE=Release, LAPACK_INFO=mkl, TORCH_VERSION=2.13.0, USE_CUDA=0,
"""

PARALLEL_INFO = """ATen/Parallel:
\tat::get_num_threads() : 2
\tat::get_num_interop_threads() : 1
OpenMP 201511 (a.k.a. OpenMP 4.5)
\tomp_get_max_threads() : 2
Intel(R) oneAPI Math Kernel Library Version 2024.2-Product Build 20240605 for Intel(R) 64 architecture applications
\tmkl_get_max_threads() : 2
std::thread::hardware_concurrency() : 4
ATen parallel backend: OpenMP
"""


def test_parse_config_show_captured_text() -> None:
    assert parse_config_show(CONFIG_SHOW) == {
        "blas_info": "mkl",
        "lapack_info": "mkl",
        "mkl_version": "2024.2 build 20240605",
        "onednn_version": "3.12.0 (80afa71049cd)",
        "openmp": "201511",
        "cpu_capability": "AVX512",
    }
    assert set(parse_config_show("").values()) == {None}


def test_parse_parallel_info_captured_text() -> None:
    assert parse_parallel_info(PARALLEL_INFO) == {
        "torch_num_threads": 2, "torch_num_interop_threads": 1, "omp_max_threads": 2,
        "mkl_max_threads": 2, "hardware_concurrency": 4, "parallel_backend": "OpenMP",
    }  # fmt: skip


def test_parse_cpuinfo_x86_and_aarch64() -> None:
    block = (
        "processor\t: {i}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n"
        "physical id\t: 0\ncore id\t\t: {core}\n"
        "flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512_bf16 avx512_fp16 amx_tile amx_bf16 ht\n"
    )
    text = "\n".join(block.format(i=i, core=i // 2) for i in range(4))  # 2 cores, 2 threads each
    parsed = parse_cpuinfo(text)
    assert parsed["model"] == "Intel(R) Xeon(R) Platinum 8480+"
    assert parsed["vendor"] == "GenuineIntel"
    assert parsed["flags"] == (
        "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",
    )  # fmt: skip
    assert parsed["physical_cores"] == 2
    arm = "processor\t: 0\nBogoMIPS\t: 2000.00\nFeatures\t: fp asimd bf16 i8mm sve sve2\nCPU implementer\t: 0x41\n"
    parsed = parse_cpuinfo(arm)
    assert parsed["flags"] == ("asimd", "bf16", "i8mm", "sve", "sve2")
    assert parsed["vendor"] == "0x41" and parsed["model"] is None and parsed["physical_cores"] is None


def test_cpu_model_is_the_model_line_else_what_platform_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """One fallback for the CPU's name (asv's machine "cpu", the scripts' machine lines): /proc/cpuinfo's model
    name, else platform.processor(), else platform.machine(), else "unknown"; never empty, never None."""
    import platform

    from torchperf_core.env import cpu_model

    assert cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 9654 96-Core Processor\n") == "AMD EPYC 9654 96-Core Processor"
    monkeypatch.setattr(platform, "processor", lambda: "")
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    assert cpu_model("processor\t: 0\nFeatures\t: fp asimd\n") == "aarch64"
    monkeypatch.setattr(platform, "machine", lambda: "")
    assert cpu_model("") == "unknown"
    monkeypatch.setattr(platform, "processor", lambda: "x86_64")
    monkeypatch.setattr(platform, "machine", lambda: "i686")
    assert cpu_model("") == "x86_64"  # processor() before machine()


def test_gpu_info_from_torch_cuda_fake_cuda_fake_nvidia_smi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No GPU here: a fake `torch.cuda` and a fake `nvidia-smi` stand in for them."""
    from types import SimpleNamespace

    from torchperf_core.env import collect as fingerprint_collect

    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 575.57.08\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    props = SimpleNamespace(name="NVIDIA H100 80GB HBM3", total_memory=85_000_000_000,
                            multi_processor_count=132, major=9, minor=0)  # fmt: skip
    fake_torch = SimpleNamespace(
        cuda=SimpleNamespace(is_available=lambda: True, current_device=lambda: 0,
                             get_device_properties=lambda i: props),  # fmt: skip
        version=SimpleNamespace(hip=None),
    )
    gpu = fingerprint_collect._gpu_info(fake_torch, "cuda:0")
    assert gpu == GpuInfo("NVIDIA H100 80GB HBM3", 85_000_000_000, 132, "9.0", "575.57.08")
    assert fingerprint_collect._gpu_info(fake_torch, "cpu") is None
    fp = Fingerprint(device="cuda:0", gpu=gpu)
    assert Fingerprint.from_json(json.loads(json.dumps(fp.to_json()))) == fp
    other = dataclasses.replace(fp, gpu=dataclasses.replace(gpu, name="NVIDIA H200"))
    assert comparability_warnings(fp, other) == [
        "gpu.name differs (NVIDIA H100 80GB HBM3 -> NVIDIA H200): timings are not directly comparable"
    ]
    (warning,) = [w for w in comparability_warnings(Fingerprint(device="cuda:0"), fp) if "gpu.name" in w]
    assert "(none) -> NVIDIA H100" in warning

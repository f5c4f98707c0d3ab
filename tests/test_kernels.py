"""Kernel provenance: parsing of captured verbose lines, and the real CPU kernels of this torch."""

from __future__ import annotations

import os
import json
from types import SimpleNamespace

import pytest

from torchperf_core.errors import TorchperfError, UnsupportedCase
from torchperf_core.env import collect_fingerprint
from torchperf_core.env.kernels import (
    NATIVE_NOTE,
    REFERENCE_NOTE,
    KernelInfo,
    _run_jobs,
    cuda_kernel_names,
    default_size,
    kernel_for,
    kernels_for,
    parse_child_output,
    parse_verbose_line,
    parse_verbose_output,
)

# Captured on torch 2.13.0+cpu (oneDNN 3.12.0, MKL 2024.2); the ref:any line is the shape of the
# pytorch#193951 fallback.
MKL_BANNER = (
    "MKL_VERBOSE oneMKL 2024.0 Update 2 Product build 20240605 for Intel(R) 64 architecture "
    "Intel(R) Architecture processors, Lnx 2.60GHz lp64 gnu_thread"
)
MKL_SGEMM = (
    "MKL_VERBOSE SGEMM(N,N,1024,1024,1024,0x7ffca9c6a820,0x561de5c3d0c0,1024,0x561de5bfd040,1024,"
    "0x7ffca9c6a840,0x561de5c7d100,1024) 752.95us CNR:OFF Dyn:1 FastMM:1 TID:0  NThr:2"
)
ONEDNN_INFO = "onednn_verbose,v1,info,cpu,isa:Intel AVX-512 with Intel DL Boost and bfloat16 support"
ONEDNN_BRG = (
    "onednn_verbose,v1,primitive,exec,cpu,matmul,brg_matmul:avx512_core_bf16,undef,"
    "src:bf16::blocked:ab::f0 wei:bf16::blocked:ab::f0 dst:bf16::blocked:ab::f0,attr-scratchpad:user,,"
    "256x256:256x256,0.170898"
)
ONEDNN_REF = (
    "onednn_verbose,v1,primitive,exec,cpu,matmul,ref:any,undef,src:f16::blocked:ab::f0 "
    "wei:f16::blocked:ab::f0 dst:f16::blocked:ab::f0,attr-scratchpad:user,,2048x2048:2048x2048,15512.3"
)
ONEDNN_REORDER = (
    "onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:bf16::blocked:abcd::f0 "
    "dst:bf16::blocked:AcdB16a2b::f0,attr-scratchpad:user,,16x8x3x3,0.0168457"
)
DNNL_OLD = "dnnl_verbose,exec,cpu,inner_product,gemm:jit,forward_inference,src_f32::blocked:ab:f0,,mb64ic512oc512,0.1"
ONEDNN_TIMESTAMPED = (
    "onednn_verbose,v1,1732450000123.5,primitive,exec,cpu,convolution,jit:avx2,forward_training,src,,mb1,0.2"
)
ONEDNN_CREATE = "onednn_verbose,v1,primitive,create:cache_miss,cpu,matmul,brg_matmul:avx512_core_bf16,undef,src,,256x256,0.1"
ONEDNN_GRAPH = "onednn_verbose,v1,graph,exec,cpu,100002,matmul_post_ops,MatMul,any,f32,strict,dnnl_backend,0.1"


@pytest.mark.parametrize(
    ("line", "backend"),
    [
        (MKL_BANNER, None),
        (MKL_SGEMM, "mkl:SGEMM"),
        ("MKL_VERBOSE SGEMM_BATCH(N,N,0x1,0x2) 18.18ms CNR:OFF", "mkl:SGEMM_BATCH"),
        (ONEDNN_INFO, None),
        (ONEDNN_BRG, "onednn:matmul:brg_matmul:avx512_core_bf16"),
        (ONEDNN_REF, "onednn:matmul:ref:any"),
        (DNNL_OLD, "onednn:inner_product:gemm:jit"),
        (ONEDNN_TIMESTAMPED, "onednn:convolution:jit:avx2"),
        (ONEDNN_CREATE, None),
        (ONEDNN_GRAPH, None),
        ("some warning from torch", None),
    ],
)
def test_parse_verbose_line(line: str, backend: str | None) -> None:
    assert parse_verbose_line(line) == backend


def test_reference_kernel_is_flagged_on_captured_line() -> None:
    backends, raw = parse_verbose_output([ONEDNN_INFO, ONEDNN_REF, ONEDNN_REF])
    assert backends == ("onednn:matmul:ref:any",)
    assert raw[0].startswith("onednn_verbose,v1,primitive,exec,cpu,matmul,ref:any")
    info = KernelInfo("mm", "float16", "cpu", backends, raw)
    assert info.is_reference
    assert not KernelInfo("mm", "bfloat16", "cpu", ("onednn:matmul:brg_matmul:avx512_core_bf16",)).is_reference
    assert not KernelInfo("mm", "float32", "cpu", ("mkl:SGEMM",)).is_reference


def test_verbose_output_puts_compute_before_reorders_and_hides_pointers() -> None:
    backends, raw = parse_verbose_output([ONEDNN_REORDER, ONEDNN_BRG, MKL_SGEMM, ONEDNN_REORDER])
    assert backends == ("onednn:matmul:brg_matmul:avx512_core_bf16", "mkl:SGEMM", "onednn:reorder:jit:uni")
    assert "0x7ffca9c6a820" not in " ".join(raw)
    assert KernelInfo("conv2d", "bfloat16", "cpu", ("onednn:reorder:jit:uni", "onednn:convolution:x")).primary == (
        "onednn:convolution:x"
    )


def _child_text(*blocks: tuple[int, list[str], str, str]) -> str:
    out = []
    for index, lines, status, payload in blocks:
        out.append(f"@@torchperf-kernels begin {index}")
        out.extend(lines)
        out.append(f"@@torchperf-kernels end {index} {status} {payload}")
    return "\n".join(out)


def test_parse_child_output_splits_jobs() -> None:
    jobs = [("mm", "float32", 512, "cpu"), ("mm", "float16", 2048, "cpu"), ("mm", "bfloat16", 512, "cpu"),
            ("conv2d", "float16", 56, "cpu")]  # fmt: skip
    text = _child_text(
        (0, [MKL_BANNER, MKL_SGEMM], "ok", "[]"),
        (1, [ONEDNN_REF], "ok", "[]"),
        (2, [], "ok", "[]"),
        (3, ["Traceback..."], "error", json.dumps("RuntimeError: not implemented for 'Half'")),
    )
    got = parse_child_output(text, jobs)
    assert got["mm/float32"].backends == ("mkl:SGEMM",) and got["mm/float32"].note == ""
    assert got["mm/float16"].is_reference and got["mm/float16"].note == REFERENCE_NOTE
    assert got["mm/float16"].size == 2048
    assert got["mm/bfloat16"].backends == () and got["mm/bfloat16"].note == NATIVE_NOTE
    assert got["conv2d/float16"].note == "op failed: RuntimeError: not implemented for 'Half'"


def test_cuda_kernel_names_from_profiler_events_fake_cuda() -> None:
    events = [
        SimpleNamespace(name="aten::mm", device_type="DeviceType.CPU"),
        SimpleNamespace(name="cudaLaunchKernel", device_type="DeviceType.CPU"),
        SimpleNamespace(name="sm90_xmma_gemm_f32f32_tf32f32_f32_nn_n_tilesize128x128x32", device_type="DeviceType.CUDA"),
        SimpleNamespace(name="Memcpy HtoD (Pageable -> Device)", device_type="DeviceType.CUDA"),
        SimpleNamespace(name="sm90_xmma_gemm_f32f32_tf32f32_f32_nn_n_tilesize128x128x32", device_type="DeviceType.CUDA"),
        SimpleNamespace(name="void cutlass::Kernel2<cutlass_80_wmma_tensorop_bf16>(Params)", device_type="DeviceType.CUDA"),
    ]  # fmt: skip
    assert cuda_kernel_names(events) == (
        "sm90_xmma_gemm_f32f32_tf32f32_f32_nn_n_tilesize128x128x32",
        "void cutlass::Kernel2<cutlass_80_wmma_tensorop_bf16>(Params)",
    )
    text = _child_text((0, [], "ok", json.dumps(list(cuda_kernel_names(events)))))
    info = parse_child_output(text, [("mm", "tf32", 512, "cuda:0")])["mm/tf32"]
    assert info.device == "cuda:0"
    assert info.backends[0] == "cuda:sm90_xmma_gemm_f32f32_tf32f32_f32_nn_n_tilesize128x128x32"
    assert not info.is_reference
    empty = parse_child_output(_child_text((0, [], "ok", "[]")), [("mm", "float32", 512, "cuda")])
    assert empty["mm/float32"].note == "no CUDA kernels seen by torch.profiler"


def test_kernel_info_json_round_trip() -> None:
    info = KernelInfo("mm", "float16", "cpu", ("onednn:matmul:ref:any",), (ONEDNN_REF,), REFERENCE_NOTE, 2048)
    data = json.loads(json.dumps(info.to_json()))
    assert data["is_reference"] is True
    assert KernelInfo.from_json(data) == info
    with pytest.raises(TorchperfError, match="malformed kernel record"):
        KernelInfo.from_json({"dtype": "float32"})


def test_bad_op_or_dtype_refused_before_any_subprocess() -> None:
    with pytest.raises(TorchperfError, match="unknown op 'gemm'"):
        kernel_for("gemm", "float32")
    with pytest.raises(TorchperfError, match="unknown dtype 'fp8'"):
        kernel_for("mm", "fp8")
    with pytest.raises(UnsupportedCase, match="tf32"):
        kernel_for("mm", "tf32", device="cpu")
    with pytest.raises(TorchperfError, match=r"^size 0 must be a positive integer"):  # was a subprocess's note
        kernel_for("mm", "float32", size=0)
    with pytest.raises(TorchperfError, match=r"^size 0 must be a positive integer"):
        kernels_for([("mm", "float32")], size=0)


def test_subprocess_timeout_is_reported_not_raised() -> None:
    info = _run_jobs([("mm", "float32", 64, "cpu")], timeout=0.01)["mm/float32"]
    assert info.backends == () and "timed out" in info.note


def test_real_cpu_kernels_fp32_mkl_and_bf16_onednn() -> None:
    """What this torch build really runs (observed on torch 2.13.0+cpu: SGEMM and brg_matmul bf16)."""
    fp = collect_fingerprint("cpu")
    got = kernels_for([("mm", "float32"), ("mm", "bfloat16")], size=256)
    fp32, bf16 = got["mm/float32"], got["mm/bfloat16"]
    assert not fp32.is_reference and not bf16.is_reference
    if fp.torch.blas_info != "mkl":
        pytest.skip(f"torch BLAS is {fp.torch.blas_info!r}, not MKL: no SGEMM to expect")
    assert fp32.backends == ("mkl:SGEMM",), fp32
    assert fp32.raw_lines[0].startswith("MKL_VERBOSE SGEMM(N,N,256,256,256,")
    if "avx512_bf16" not in fp.cpu.flags:
        pytest.skip("CPU lacks avx512_bf16: bf16 mm takes another oneDNN or native path here")
    # oneDNN names the ISA from CPUID: an AMX CPU is avx512_core_amx (Sapphire Rapids) or
    # avx10_1_512_amx (Granite Rapids: AVX10.1, which /proc/cpuinfo's flags need not list).
    isas = ("avx512_core_amx", "avx10_1_512_amx") if "amx_bf16" in fp.cpu.flags else ("avx512_core_bf16",)
    assert len(bf16.backends) == 1 and bf16.backends[0] in {f"onednn:matmul:brg_matmul:{i}" for i in isas}, bf16


def test_the_provenance_child_finds_the_package_without_shadowing_the_standard_library() -> None:
    """PYTHONPATH gets the folder *holding* torchperf_core: torchperf_core/ itself on the path would
    make its rooms shadow standard modules (`import bisect` found torchperf_core/bisect)."""
    from pathlib import Path

    from torchperf_core.env import kernels

    first = Path(kernels._child_env()["PYTHONPATH"].split(os.pathsep)[0])
    assert (first / "torchperf_core" / "__init__.py").is_file()
    assert not (first / "bisect" / "__init__.py").exists()


def test_default_size_by_the_op_an_alias_names() -> None:
    """The alias reads its op's provenance size: SDPA at S=256, not the GEMMs' 512 (was 512 by the alias)."""
    assert default_size("sdpa") == 256
    assert default_size("scaled_dot_product_attention") == 256
    assert default_size("conv2d") == 56
    assert default_size("mm") == 512

"""BLAS backends side by side: library naming from captured text, a real tiny run (no timing
assertions: only which kernels ran and that every cell exists), and the rendered table."""

from __future__ import annotations

import pytest

from torchperf_core.compare import BlasReport, compare_blas
from torchperf_core.compare.blas import BlasCell, describe_blas_libraries, describe_torch_blas
from torchperf_core.errors import TorchperfError
from torchperf_core.render import render_blas

# threadpoolctl.threadpool_info() in this project's venv (numpy 2.4.6 wheel), and torch's config lines.
THREADPOOL_INFO = [
    {"user_api": "blas", "internal_api": "openblas", "num_threads": 2, "prefix": "libscipy_openblas",
     "version": "0.3.31.188.0", "threading_layer": "pthreads", "architecture": "Haswell"},
    {"user_api": "openmp", "internal_api": "openmp", "num_threads": 2, "prefix": "libgomp", "version": None},
]
CONFIG_SHOW = """PyTorch built with:
  - Intel(R) oneAPI Math Kernel Library Version 2024.2-Product Build 20240605 for Intel(R) 64 architecture applications
  - Intel(R) MKL-DNN v3.12.0 (Git Hash 80afa71049cd69a3df32adcccb623b12cd7baa22)
  - Build settings: BLAS_INFO=mkl, BUILD_TYPE=Release, LAPACK_INFO=mkl, TORCH_VERSION=2.13.0,
"""


def test_libraries_are_named_with_versions() -> None:
    assert describe_blas_libraries(THREADPOOL_INFO) == "openblas 0.3.31.188.0 (Haswell, pthreads)"
    assert describe_blas_libraries([]) == ""
    assert describe_torch_blas(CONFIG_SHOW) == "mkl (MKL 2024.2 build 20240605), oneDNN 3.12.0 (80afa71049cd)"


def test_a_dtype_numpy_cannot_multiply_is_refused() -> None:
    with pytest.raises(TorchperfError, match="dtype 'bfloat16' has no numpy BLAS GEMM"):
        compare_blas([64], ["bfloat16"])
    with pytest.raises(TorchperfError, match="sizes"):
        compare_blas([0])


def test_real_side_by_side_names_the_kernel_each_ran() -> None:
    import torch

    report = compare_blas([32, 48], ["float32"], threads=1, rounds=2, samples=3)
    assert report.threads == 1 and report.rounds == 2
    rows = report.rows()
    assert [(r.size, r.dtype) for r in rows] == [(32, "float32"), (48, "float32")]
    for r in rows:
        assert set(r.cells) == {"torch", "numpy", "torch-no-onednn"}
        assert all(len(c.round_medians) == 2 and c.median > 0 for c in r.cells.values())
        assert r.cells["numpy"].kernel.startswith("numpy.matmul -> openblas")
        if "BLAS_INFO=mkl" in torch.__config__.show():
            assert r.cells["torch"].kernel == "mkl:SGEMM"
            assert r.cells["torch-no-onednn"].kernel == "mkl:SGEMM"  # fp32 mm never used oneDNN here
        assert r.ratio() == pytest.approx(r.cells["torch"].median / r.cells["numpy"].median)
    assert report.numpy_blas.startswith("openblas ")
    assert report.to_json()["rows"][0]["cells"]["numpy"]["kernel"] == rows[0].cells["numpy"].kernel


def test_rendered_table() -> None:
    report = BlasReport(
        threads=1, torch_version="2.13.0+cpu", torch_blas="mkl (MKL 2024.2)", numpy_version="2.4.6",
        numpy_blas="openblas 0.3.31 (Haswell, pthreads)", rounds=3,
        cells=(BlasCell("torch", 256, "float32", (1e-3, 2e-3, 3e-3), "mkl:SGEMM"),
               BlasCell("numpy", 256, "float32", (4e-3, 4e-3, 4e-3), "numpy.matmul -> openblas 0.3.31"),
               BlasCell("torch-no-onednn", 256, "float32", (2e-3,), "mkl:SGEMM")),
    )  # fmt: skip
    text = render_blas(report)
    assert text.splitlines()[0] == ("BLAS backends side by side: torch 2.13.0+cpu [mkl (MKL 2024.2)] vs numpy 2.4.6 "
                                    "[openblas 0.3.31 (Haswell, pthreads)]")
    assert "1 thread(s) each, 3 interleaved rounds" in text
    row = next(line for line in text.splitlines() if line.startswith("float32 256"))
    assert "[mkl:SGEMM]" in row and row.split()[-2:] == ["0.50", "0.50"]  # 2 ms / 4 ms, both ratios

"""Forced ISA levels: parsing, the CPU check that keeps ATen from SIGILL, the child's environment, and
the level read back from a real child (torch imported there: a few seconds each).

ATen accepts ATEN_CPU_CAPABILITY=avx512 without checking the CPU (torch 2.13.0: get_cpu_capability()
says AVX512, the next vectorised kernel dies with SIGILL on this AVX2-only VM), so "unavailable" must
be decided from the CPUID flags and the fallback read back from the child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from torchperf_core.engine import read_isa
from torchperf_core.engine.isa import (cpu_flags, isa_environment, onednn_isa, parse_isa, split_output,
                                       unavailable_reason)
from torchperf_core.errors import TorchperfError

ROOT = Path(__file__).resolve().parents[1]
AVX2_ONLY = frozenset("fpu sse sse2 avx avx2 fma bmi2".split())
AVX512 = AVX2_ONLY | {"avx512f", "avx512vl", "avx512bw", "avx512dq"}
HAS_AVX512 = unavailable_reason("avx512") is None
HAS_AVX2 = unavailable_reason("avx2") is None


def test_levels_parse_and_a_bad_one_names_itself() -> None:
    assert parse_isa("AVX2") == "avx2" and parse_isa(None) == "default"
    with pytest.raises(TorchperfError) as exc:
        parse_isa("avx9")
    assert str(exc.value) == "unknown --isa 'avx9'; accepted: default, avx2, avx512"


def test_cpu_flags_are_read_from_cpuinfo_text() -> None:
    text = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx avx2 fma\n\nprocessor\t: 1\nflags\t: sse\n"
    assert cpu_flags(text) == frozenset({"fpu", "avx", "avx2", "fma"})
    assert cpu_flags("no flags here") == frozenset()


def test_a_level_the_cpu_lacks_is_unavailable_naming_the_missing_flags() -> None:
    reason = unavailable_reason("avx512", AVX2_ONLY)
    assert reason is not None and "avx512f, avx512vl, avx512bw, avx512dq" in reason and "SIGILL" in reason
    assert unavailable_reason("avx512", AVX512) is None
    assert unavailable_reason("avx2", AVX2_ONLY) is None
    assert unavailable_reason("default", frozenset({"sse"})) is None


def test_child_environment_per_level() -> None:
    base = {"PATH": "/bin", "ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}
    assert isa_environment("default", base, AVX512) == {"PATH": "/bin"}  # inherited values removed
    assert isa_environment("avx2", base, AVX2_ONLY) == {
        "PATH": "/bin", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2"}
    assert isa_environment("avx512", base, AVX512)["ATEN_CPU_CAPABILITY"] == "avx512"
    assert isa_environment("avx512", base, AVX512)["ONEDNN_MAX_CPU_ISA"] == "AVX512_CORE"
    assert isa_environment("avx512", base, AVX2_ONLY) == {"PATH": "/bin"}  # not forced: would SIGILL


def test_child_output_is_split_at_the_markers() -> None:
    out = ("noise\n@@torchperf-isa verbose-begin\nonednn_verbose,v1,info,cpu,isa:Intel AVX2\n"
           "MKL_VERBOSE SGEMM(N,N,64,64,64,...)\n@@torchperf-isa verbose-end\n"
           '@@torchperf-isa result {"capability": "AVX2"}\n')
    verbose, result = split_output(out)
    assert verbose == ("onednn_verbose,v1,info,cpu,isa:Intel AVX2", "MKL_VERBOSE SGEMM(N,N,64,64,64,...)")
    assert result == {"capability": "AVX2"}
    assert onednn_isa(verbose) == "Intel AVX2"
    assert onednn_isa(verbose[1:]) is None


@pytest.mark.skipif(not HAS_AVX2, reason="this CPU has no AVX2")
def test_forced_avx2_is_read_back_from_the_child() -> None:
    before = {k: os.environ.get(k) for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")}
    reading = read_isa("avx2", "conv2d", 8)  # conv2d goes through oneDNN, which prints its ISA
    assert {k: os.environ.get(k) for k in before} == before  # only the child's environment was changed
    assert reading.forced and reading.honoured
    assert reading.capability == "AVX2"
    assert reading.onednn_isa is not None and "AVX2" in reading.onednn_isa.upper()
    assert any(line.startswith("onednn_verbose") and ",exec," in line for line in reading.verbose_lines)


def test_avx512_is_forced_only_where_the_cpu_has_it() -> None:
    reading = read_isa("avx512")
    if HAS_AVX512:
        assert reading.forced and reading.capability == "AVX512" and reading.honoured
    else:  # this VM: refused up front, the child ran at the default level and says what ATen used
        assert not reading.forced and not reading.honoured
        assert reading.capability in ("AVX2", "DEFAULT")
        assert "avx512 unavailable on this CPU" in reading.note
        assert "ATen AVX2" in reading.describe() or "ATen DEFAULT" in reading.describe()


def test_default_level_drops_an_inherited_capability(monkeypatch: pytest.MonkeyPatch) -> None:
    """ATEN_CPU_CAPABILITY=default would force scalar kernels: our "default" must unset it."""
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    reading = read_isa("default")
    assert reading.capability != "DEFAULT" or not HAS_AVX2


def _bench(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "torchperf_core", "bench", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_bad_isa_is_a_one_line_error_exit_2() -> None:
    proc = _bench("mm", "--isa", "avx9")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "torchperf: error: unknown --isa 'avx9'; accepted: default, avx2, avx512"
    assert proc.stdout == ""


@pytest.mark.skipif(HAS_AVX512, reason="this CPU has AVX-512")
def test_bench_refuses_avx512_on_a_cpu_without_it() -> None:
    proc = _bench("mm", "--isa", "avx512")
    assert proc.returncode == 2
    assert "avx512 unavailable on this CPU" in proc.stderr and "available here: default, avx2" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not HAS_AVX2, reason="this CPU has no AVX2")
def test_bench_at_avx2_times_in_the_child_and_reports_what_ran() -> None:
    proc = _bench("mm", "--size", "64", "--isa", "avx2", "--threads", "1", "--samples", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["isa"]["requested"] == "avx2" and data["isa"]["capability"] == "AVX2"
    assert data["isa"]["kernels"] == "mkl:SGEMM" or "BLAS_INFO=mkl" not in _torch_config()
    assert len(data["samples"]) == 3 and data["spec"]["threads"] == 1


def _torch_config() -> str:
    import torch

    return torch.__config__.show()


"""`torchperf compare` on the real `torchperf run` output of the suite (tests/fixtures/asv_run_v1:
torch 2.13.0 and 2.14.1, two commits, fingerprint and kernel sidecars)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.compare_helpers import ROOT, check_golden, replicate, run_cli, scale_result
from torchperf_core import compare as cmp
from torchperf_core.compare import Source

FIX = Path("tests/fixtures/asv_run_v1")
RESULTS = str(FIX / "results")
BASE, HEAD = "df00b9c6", "48669f7b"
ENV = "virtualenv-py3.11-numpy-packaging-pip+torch{}-setuptools-threadpoolctl"

@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("markdown", "md"), ("json", "json")])
def test_torch_versions_golden(capsys, fmt, ext):
    code, out, err = run_cli(capsys, "compare", "--torch", "2.13.0", "2.14.1", "--results-dir", RESULTS, "--format", fmt)
    assert code == 0 and err == ""  # the fixture's recorded run: one run per side, nothing decided but "same"
    check_golden(f"suite_compare_torch.{ext}", out)


def test_commits_golden(capsys):
    code, out, err = run_cli(capsys, "compare", BASE, HEAD, "--results-dir", RESULTS, "--format", "markdown")
    assert code == 0 and err == ""
    check_golden("suite_compare_commits.md", out)


def test_environments_paired_across_versions():
    c = cmp.compare_versions(Source(ROOT / FIX / "results"), ["2.13.0", "2.14.1"])
    assert c.before.commit.startswith(HEAD)
    assert {r.env for r in c.rows} == {"virtualenv-py3.11-numpy-packaging-setuptools-threadpoolctl"}
    assert all(r.verdict not in (cmp.ONLY_BEFORE, cmp.ONLY_AFTER) for r in c.rows)
    mm = next(r for r in c.rows if r.name == "bench_matmul.MM.track_mm(1024, 'float32', 'contiguous', 'cpu')")
    assert mm.gflops_before == pytest.approx(2 * 1024**3 / mm.before / 1e9)


def test_kernel_keys_of_suite_benchmarks():
    bench = json.loads((ROOT / FIX / "results" / "benchmarks.json").read_text())
    keys = ["mm/float32", "mm/bfloat16", "linear/float32", "linear/bfloat16", "conv2d/float32"]
    params = (("size", "256"), ("dtype", "'bfloat16'"), ("layout", "'contiguous'"), ("device", "'cpu'"))
    assert cmp.kernel_keys_for("bench_matmul.MM.track_mm", params, bench["bench_matmul.MM.track_mm"], keys) == ["mm/bfloat16"]
    lb = "bench_autograd.LinearBackward.track_linear_backward"
    p2 = (("size", "256"), ("dtype", "'float32'"), ("device", "'cpu'"))
    assert cmp.kernel_keys_for(lb, p2, bench[lb], keys) == ["linear/float32"]
    assert cmp.kernel_keys_for("bench_memory.Sum.track_sum", p2, bench["bench_memory.Sum.track_sum"], keys) == []


def test_reference_kernel_named_for_changed_op(tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(ROOT / FIX / "results", run / "results")
    shutil.copytree(ROOT / FIX / "meta", run / "meta")
    stem = f"{HEAD}-{ENV.format('2.14.1')}.json"
    results = run / "results" / "fixture-box" / stem
    # 2.14.1 ends up 40x slower on the bf16 mm and its sidecar says why: oneDNN's reference kernel.
    scale_result(results, "bench_matmul.MM.track_mm", _index(run, "(256, 'bfloat16', 'contiguous', 'cpu')"), 40000.0)
    sidecar = run / "meta" / "fixture-box" / stem
    data = json.loads(sidecar.read_text())
    data["kernels"]["mm/bfloat16"]["backends"] = ["onednn:matmul:ref:any"]
    sidecar.write_text(json.dumps(data))
    replicate(run, machine="fixture-box")  # three runs a side agreeing with the results: decided
    code, out, _ = run_cli(capsys, "compare", "--torch", "2.13.0", "2.14.1", "--results-dir", str(run / "results"), "--format", "markdown")
    assert code == 1
    (line,) = [x for x in out.splitlines() if x.startswith("- mm/bfloat16 (")]
    assert "bench_matmul.MM.track_mm(256, 'bfloat16', 'contiguous', 'cpu')" in line
    assert "onednn:matmul:brg_matmul:avx512_core_bf16 → onednn:matmul:ref:any" in line and "REFERENCE" in line


def _index(run: Path, params_text: str) -> int:
    import itertools

    results = json.loads(next((run / "results" / "fixture-box").glob(f"{HEAD}-*2.14.1*.json")).read_text())
    stored = results["results"]["bench_matmul.MM.track_mm"][1]  # the params column of this file
    combos = ["(" + ", ".join(c) + ")" for c in itertools.product(*stored)]
    return combos.index(params_text)

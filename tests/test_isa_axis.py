"""The ISA axis (issue 12): `torchperf run --isa LEVEL` as an asv matrix variable, applied by the
suite before torch loads, the capability ATen reported recorded per case, and compare's "why"
telling a kernel regression (one level) from dispatch (the default moved) from the op itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compare_helpers import (
    BASE,
    HEAD,
    MACHINE,
    ROOT,
    copy_fixture,
    drop_benchmark,
    edit_sidecar,
    replicate,
    results_file,
    run_cli,
    scale_result,
)
from torchperf_core import compare as cmp
from torchperf_core.engine import apply_isa, require_isa
from torchperf_core.errors import TorchperfError
from torchperf_core.run import RunPlan
from torchperf_core.run.suite import suite_environment
from torchperf_core.store import ISA_ENV, CaseCondition, merge_case_records, read_config

AVX2_ONLY = frozenset({"sse2", "avx", "avx2", "fma"})
AVX512 = AVX2_ONLY | {"avx512f", "avx512vl", "avx512bw", "avx512dq"}


# --------------------------------------------------------------------------------------------------
# The run side: validation, the matrix variable, the environment.


def test_require_isa_accepts_levels_and_refuses_avx512_without_its_flags() -> None:
    assert require_isa("AVX2", AVX2_ONLY) == "avx2"
    assert require_isa("default", AVX2_ONLY) == "default"
    assert require_isa("avx512", AVX512) == "avx512"
    with pytest.raises(TorchperfError) as err:
        require_isa("avx512", AVX2_ONLY)
    message = str(err.value)
    assert message.startswith("--isa avx512: avx512 unavailable on this CPU (its CPUID flags lack avx512f, avx512vl, "
                              "avx512bw, avx512dq)")
    assert "SIGILL" in message and message.endswith("available here: default, avx2")
    assert "\n" not in message


def test_run_isa_unknown_level_exits_2_naming_it_and_the_accepted(capsys) -> None:
    code, out, err = run_cli(capsys, "run", "--torch", "2.13.0", "--isa", "sse4")
    assert code == 2 and out == ""
    assert "unknown --isa 'sse4'; accepted: default, avx2, avx512" in err
    assert "Traceback" not in err


def test_run_isa_avx512_refused_on_a_cpu_without_it_fake_cpuinfo(capsys, monkeypatch) -> None:
    """This machine has no AVX-512 either; the flags are faked so the test holds on one that has it."""
    import torchperf_core.engine.isa as isa

    monkeypatch.setattr(isa, "cpu_flags", lambda cpuinfo_text=None: AVX2_ONLY)
    code, out, err = run_cli(capsys, "run", "--torch", "2.13.0", "--isa", "avx512")
    assert code == 2 and out == ""
    assert "--isa avx512: avx512 unavailable on this CPU" in err and "SIGILL" in err
    assert err.strip().count("\n") == 0


def test_isa_becomes_a_no_build_matrix_variable_beside_threads() -> None:
    config = read_config(ROOT / "asv.conf.json")
    conf = config.derived(["2.13.0"], isa="avx2")
    assert conf["matrix"]["env_nobuild"] == {ISA_ENV: ["avx2"]}
    both = config.derived(["2.13.0"], threads=1, isa="avx512")
    assert both["matrix"]["env_nobuild"] == {"TORCHPERF_THREADS": ["1"], ISA_ENV: ["avx512"]}
    # The library's own dispatch keeps the usual environment name (and history).
    for none in (None, "default"):
        assert "env_nobuild" not in config.derived(["2.13.0"], isa=none)["matrix"]
    assert ISA_ENV == "TORCHPERF_ISA"


def test_the_plan_reaches_the_suite_environment() -> None:
    env = suite_environment(RunPlan(("2.13.0",), isa="avx2"), base={})
    assert env[ISA_ENV] == "avx2"
    assert ISA_ENV not in suite_environment(RunPlan(("2.13.0",)), base={})


def test_apply_isa_sets_removes_and_does_not_force_a_missing_level() -> None:
    env = {"ATEN_CPU_CAPABILITY": "default", "OTHER": "x"}
    apply_isa("avx2", env, AVX2_ONLY)
    assert env == {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2", "OTHER": "x"}
    apply_isa("avx512", env, AVX2_ONLY)  # ATen would take it unchecked and SIGILL: nothing is forced
    assert env == {"OTHER": "x"}
    env["ATEN_CPU_CAPABILITY"] = "avx2"
    apply_isa("default", env, AVX2_ONLY)
    assert env == {"OTHER": "x"}


# --------------------------------------------------------------------------------------------------
# The benchmark process: the level is applied before torch loads, and read back.

_CHILD = """
import json, os, sys
import benchmarks.bench_matmul as bm
torch_loaded_at_import = 'torch' in sys.modules
b = bm.MM()
b.setup(256, 'float32', 'contiguous', 'cpu')
b.track_mm(256, 'float32', 'contiguous', 'cpu')
import torch
print(json.dumps({"at_import": torch_loaded_at_import, "recorded": b.capability,
                  "torch": torch.backends.cpu.get_cpu_capability(),
                  "aten_var": os.environ.get("ATEN_CPU_CAPABILITY")}))
"""


def _benchmark_process(tmp_path: Path, **extra: str) -> tuple[dict, list[dict]]:
    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA",
                                                               "DNNL_MAX_CPU_ISA", ISA_ENV)}
    log = tmp_path / f"cases-{len(list(tmp_path.iterdir()))}.jsonl"
    env.update(TORCHPERF_TIER="smoke", TORCHPERF_DEVICES="cpu", TORCHPERF_THREADS="1",
               TORCHPERF_CASE_LOG=str(log), **extra)
    proc = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    return json.loads(proc.stdout.strip().splitlines()[-1]), lines


@pytest.mark.skipif("avx2" not in Path("/proc/cpuinfo").read_text(errors="replace") if Path("/proc/cpuinfo").exists()
                    else True, reason="needs an x86 CPU with AVX2")
def test_the_benchmark_process_runs_at_the_forced_level_and_records_it(tmp_path: Path) -> None:
    """An inherited ATEN_CPU_CAPABILITY=default (the scalar kernels) is what the child runs at
    without the axis (the control: the variable is read); with TORCHPERF_ISA=avx2 the suite replaces
    it before torch loads, so torch reports AVX2 — a level applied after torch's import would leave
    DEFAULT. The capability goes to the case log, read back, not assumed."""
    control, control_log = _benchmark_process(tmp_path, ATEN_CPU_CAPABILITY="default")
    assert control["torch"] == control["recorded"] == "DEFAULT"
    assert [line["capability"] for line in control_log] == ["DEFAULT"]

    forced, forced_log = _benchmark_process(tmp_path, ATEN_CPU_CAPABILITY="default", TORCHPERF_ISA="avx2")
    assert forced["at_import"] is False
    assert forced["aten_var"] == "avx2"
    assert forced["torch"] == forced["recorded"] == "AVX2"
    assert [line["capability"] for line in forced_log] == ["AVX2"]
    assert forced_log[0]["benchmark"] == "bench_matmul.MM.track_mm"


def test_an_unknown_isa_level_fails_the_suite_import_loudly() -> None:
    env = dict(os.environ, TORCHPERF_ISA="sse4")
    proc = subprocess.run([sys.executable, "-c", "import benchmarks.bench_matmul"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "TORCHPERF_ISA='sse4' is not an ISA level; accepted: default, avx2, avx512" in proc.stderr


# --------------------------------------------------------------------------------------------------
# The sidecar's case record.


def test_case_record_capability_is_optional_checked_and_merged() -> None:
    old = {"threads": 2, "contention": None, "run_medians": [1.0]}
    assert CaseCondition.from_record(old).capability is None  # records written before the field
    assert CaseCondition.from_record({**old, "capability": "AVX2"}).capability == "AVX2"
    for bad in ("", 2, ["AVX2"]):
        with pytest.raises(ValueError, match="capability must be a non-empty string"):
            CaseCondition.from_record({**old, "capability": bad})
    line = {"benchmark": "b.C.track_x", "params": "(1,)", "median": 2.0, "contention": None, "threads": 1}
    merged = merge_case_records({}, [{**line, "capability": "AVX2"}])
    assert merged["b.C.track_x"]["(1,)"]["capability"] == "AVX2"
    # A log line without it (an older suite) keeps the recorded one.
    assert merge_case_records(merged, [line])["b.C.track_x"]["(1,)"]["capability"] == "AVX2"


# --------------------------------------------------------------------------------------------------
# compare's why: fixture results at three levels, BASE -> HEAD, torch 2.13.0.

ENV = "virtualenv-py3.11-torch2.13.0"
PLAIN = "bench_toy.time_plain"


def _isa_run(tmp_path: Path, levels: tuple[str, ...] = ("avx2", "avx512")) -> Path:
    """The real fixture with its torch 2.13.0 results (both commits) also filed at forced levels,
    as `run --isa` files them: env name `<env>-TORCHPERF_ISA<level>`, with a sidecar each."""
    run = copy_fixture(tmp_path, replicated=False)
    for commit in (BASE, HEAD):
        src = results_file(run, commit, "2.13.0")
        for level in levels:
            env = f"{ENV}-{ISA_ENV}{level}"
            dst = src.with_name(f"{commit}-{env}.json")
            data = json.loads(src.read_text())
            data.update(env_name=env, env_vars={ISA_ENV: level})
            dst.write_text(json.dumps(data))
            side = json.loads((run / "meta" / MACHINE / src.name).read_text())
            side.update(env_name=env, results_file=dst.name)
            (run / "meta" / MACHINE / dst.name).write_text(json.dumps(side))
    return run


def _level_file(run: Path, commit: str, level: str) -> Path:
    suffix = "" if level == "default" else f"-{ISA_ENV}{level}"
    return run / "results" / MACHINE / f"{commit}-{ENV}{suffix}.json"


def _capability(run: Path, commit: str, level: str, value: str) -> None:
    def edit(data: dict) -> None:
        data["cases"][PLAIN]["()"]["capability"] = value

    edit_sidecar(run, _level_file(run, commit, level), edit)


def _why(run: Path, capsys) -> tuple[list, list[str]]:
    envs = [ENV, f"{ENV}-{ISA_ENV}avx2", f"{ENV}-{ISA_ENV}avx512"]
    c = cmp.compare_commits(cmp.Source(run / "results"), BASE, HEAD, envs=envs)
    argv = ["compare", BASE, HEAD, "--results-dir", str(run / "results")] + [a for e in envs for a in ("--env", e)]
    code, out, _ = run_cli(capsys, *argv)
    assert code == 1  # the fixture's 'slower' cases
    lines = out.splitlines()
    title = lines.index("ISA levels (the same wheel at forced ATen/oneDNN levels):")
    return [f for f in c.isa_findings if f.benchmark == PLAIN], lines[title + 1:]


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_one_level_changed_is_that_levels_kernel(tmp_path: Path, capsys) -> None:
    run = _isa_run(tmp_path)
    scale_result(_level_file(run, HEAD, "avx2"), PLAIN, 0, 1.5)
    replicate(run)
    (finding,), lines = _why(run, capsys)
    assert finding.conclusion == cmp.ISA_KERNEL and finding.levels_changed == ("avx2",)
    assert (f"  {PLAIN} [{ENV}]: default 1.00 (same), avx2 1.50 (slower), avx512 1.00 (same) "
            "→ kernel regression at avx2 only") in lines


def test_default_moved_with_its_capability_is_dispatch(tmp_path: Path, capsys) -> None:
    run = _isa_run(tmp_path)
    scale_result(_level_file(run, HEAD, "default"), PLAIN, 0, 1.5)
    replicate(run)
    _capability(run, BASE, "default", "AVX512")
    _capability(run, HEAD, "default", "AVX2")
    (finding,), lines = _why(run, capsys)
    assert finding.conclusion == cmp.ISA_DISPATCH and (finding.ran, finding.now_runs) == ("AVX512", "AVX2")
    assert (f"  {PLAIN} [{ENV}]: default 1.50 (slower), avx2 1.00 (same), avx512 1.00 (same) "
            "→ dispatch: the default level now runs the avx2 kernel (was avx512)") in lines


def test_default_moved_on_the_same_capability_is_its_kernel_and_unrecorded_is_no_conclusion(tmp_path, capsys) -> None:
    run = _isa_run(tmp_path)
    scale_result(_level_file(run, HEAD, "default"), PLAIN, 0, 1.5)
    replicate(run)
    (finding,), lines = _why(run, capsys)  # no capability recorded: dispatch cannot be ruled out
    assert finding.conclusion is None
    assert (f"  {PLAIN} [{ENV}]: default 1.50 (slower), avx2 1.00 (same), avx512 1.00 (same) → no conclusion: "
            "the default's capability is not recorded on both sides (dispatch or kernel?)") in lines
    _capability(run, BASE, "default", "AVX2")
    _capability(run, HEAD, "default", "AVX2")
    (finding,), lines = _why(run, capsys)
    assert finding.conclusion == cmp.ISA_KERNEL
    assert (f"  {PLAIN} [{ENV}]: default 1.50 (slower), avx2 1.00 (same), avx512 1.00 (same) "
            "→ kernel regression at default only") in lines


def test_every_level_changed_is_the_op_itself(tmp_path: Path, capsys) -> None:
    run = _isa_run(tmp_path)
    for level in ("default", "avx2", "avx512"):
        scale_result(_level_file(run, HEAD, level), PLAIN, 0, 1.5)
    replicate(run)
    (finding,), lines = _why(run, capsys)
    assert finding.conclusion == cmp.ISA_OP and finding.levels_changed == ("default", "avx2", "avx512")
    assert (f"  {PLAIN} [{ENV}]: default 1.50 (slower), avx2 1.50 (slower), avx512 1.50 (slower) "
            "→ all levels: the op itself") in lines


def test_a_level_missing_on_one_side_gives_no_conclusion(tmp_path: Path, capsys) -> None:
    """avx2 alone changed — but avx512 was measured at BASE only: it might have changed too (then
    the op itself), so no conclusion rather than "kernel regression at avx2 only"."""
    run = _isa_run(tmp_path)
    scale_result(_level_file(run, HEAD, "avx2"), PLAIN, 0, 1.5)
    drop_benchmark(_level_file(run, HEAD, "avx512"), PLAIN)
    replicate(run)
    (finding,), lines = _why(run, capsys)
    assert finding.conclusion is None and finding.undecided == "avx512 measured on one side only"
    assert (f"  {PLAIN} [{ENV}]: default 1.00 (same), avx2 1.50 (slower), avx512 n/a (only before) "
            "→ no conclusion: avx512 measured on one side only") in lines
    assert not any("kernel regression" in line and PLAIN in line for line in lines)


def test_two_levels_only_is_enough_and_a_single_level_prints_nothing(tmp_path: Path, capsys) -> None:
    run = _isa_run(tmp_path, levels=("avx2",))
    scale_result(_level_file(run, HEAD, "avx2"), PLAIN, 0, 1.5)
    replicate(run)
    c = cmp.compare_commits(cmp.Source(run / "results"), BASE, HEAD, envs=[ENV, f"{ENV}-{ISA_ENV}avx2"])
    (finding,) = [f for f in c.isa_findings if f.benchmark == PLAIN]
    assert [lv.level for lv in finding.levels] == ["default", "avx2"]
    assert finding.conclusion == cmp.ISA_KERNEL and finding.levels_changed == ("avx2",)
    alone = cmp.compare_commits(cmp.Source(run / "results"), BASE, HEAD, envs=[ENV])
    assert alone.isa_findings == ()
    assert cmp.isa_level_of(f"{ENV}-{ISA_ENV}avx512-TORCHPERF_THREADS1") == (f"{ENV}-TORCHPERF_THREADS1", "avx512")
    assert cmp.isa_level_of(ENV) == (ENV, "default")

"""The real thing: `torchperf run` drives real asv over torch 2.13.0 and 2.14.1 in real virtualenvs.

Slow (two environments, ~6 GB, built once per test session), but part of the default run: it is the
only test that shows the suite, asv, pip and the sidecars working together. Both torch wheels are
found locally by pip on the CI machines (no download). Set TORCHPERF_TEST_ENV_DIR to a folder to
keep the environments between sessions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts._snapshot import git as _git, snapshot_checkout as copy_project
from torchperf_core.store.sidecars import sidecar_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
VERSIONS = ("2.13.0", "2.14.1")
BENCH = r"Sum|MM"
MACHINE = "itest-box"


def torchperf_run(repo: Path, home: Path, *args: str, machine_checks: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, HOME=str(home))
    # pyenv shims find their versions through PYENV_ROOT, which defaults to ~/.pyenv.
    real_pyenv = Path(os.path.expanduser("~/.pyenv"))
    if "PYENV_ROOT" not in os.environ and real_pyenv.is_dir():
        env["PYENV_ROOT"] = str(real_pyenv)
    cmd = [sys.executable, "-m", "torchperf_core", "run", "--torch", *VERSIONS, "--tier", "smoke",
           "--bench", BENCH, "--machine", MACHINE, "--no-publish", *args]
    if not machine_checks:
        cmd.append("--no-machine-checks")
    return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=900)


# `env_dir` (the session's shared asv environments) is in tests/conftest.py.


@pytest.fixture(scope="session")
def first_run(tmp_path_factory: pytest.TempPathFactory, env_dir: Path):
    repo = copy_project(tmp_path_factory.mktemp("project"))
    (repo / ".asv").mkdir()
    (repo / ".asv" / "env").symlink_to(env_dir, target_is_directory=True)
    home = tmp_path_factory.mktemp("home")
    # --quick: asv itself would take one cold call; the engine must still warm up and sample.
    proc = torchperf_run(repo, home, "--quick", machine_checks=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return repo, home, proc


def _results(repo: Path, commit: str) -> dict[str, dict]:
    out = {}
    for path in (repo / "results" / MACHINE).glob(f"{commit[:8]}-*.json"):
        data = json.loads(path.read_text())
        out[data["requirements"]["pip+torch"]] = dict(data, _path=path)
    return out


def _entry(data: dict, name: str) -> dict:
    return dict(zip(data["result_columns"], data["results"][name]))


def test_results_hold_both_versions_with_statistics(first_run) -> None:
    repo, _, _ = first_run
    results = _results(repo, _git(repo, "rev-parse", "HEAD"))
    assert set(results) == set(VERSIONS)
    benchmarks = json.loads((repo / "results" / "benchmarks.json").read_text())
    assert benchmarks["bench_memory.Sum.track_sum"]["unit"] == "seconds"
    assert benchmarks["bench_matmul.MM.track_mm"]["flops"]["(1024, 'float32', 'contiguous', 'cpu')"] == 2 * 1024**3
    for version, data in results.items():
        entry = _entry(data, "bench_memory.Sum.track_sum")
        median = entry["result"][0]
        assert median > 0
        assert entry["stats_ci_99_a"][0] <= median <= entry["stats_ci_99_b"][0]
        assert entry["stats_q_25"][0] <= median <= entry["stats_q_75"][0]
        samples = entry["samples"][0]
        # Warm, engine-made samples despite --quick: asv alone would have stored one cold call.
        assert len(samples) >= 6 and entry["stats_repeat"][0] == len(samples)
        assert entry["stats_number"][0] >= 1
        assert data["params"]["gpu"] == "none" and data["params"]["cpu"]


def test_sidecars_record_each_environment(first_run) -> None:
    repo, _, proc = first_run
    results = _results(repo, _git(repo, "rev-parse", "HEAD"))
    sides = {v: sidecar_for(d["_path"]) for v, d in results.items()}
    assert all(s is not None for s in sides.values())
    for version, side in sides.items():
        assert side.torch_version.split("+")[0] == version
        assert side.fingerprint["torch"]["version"] == side.torch_version
        assert side.kernels and side.fingerprint_error is None
        assert side.results_file == results[version]["_path"].name
        # Every timed case logged how disturbed it was; asv's results have no column for that.
        record = side.cases["bench_memory.Sum.track_sum"]["(1024, 'float32', 'cpu')"]
        assert record["contention"]["attempts"] >= 6 and record["threads"] >= 1
        entry = _entry(results[version], "bench_memory.Sum.track_sum")
        if not record["contention"]["contended"]:  # a clean run is a between-run replicate
            assert record["run_medians"] == [pytest.approx(entry["result"][0])]
        assert "bench_matmul.MM.track_mm" in side.cases and set(side.cases) <= set(results[version]["results"])
    # The machine's speed right before each version: the first version's is the start of the run (the
    # noise probes it saved), the second's the probes taken again before its asv run; both by
    # torchperf's own torch, and noise.json keeps the start's.
    import torch
    from torchperf_core.machine import PROBES, load_condition

    noise = load_condition(repo / "meta", MACHINE).noise
    assert noise.torch == torch.__version__
    first, (second,) = sides["2.13.0"].speed, sides["2.14.1"].speed
    assert first == (noise.speed_record(),)
    assert second != first[0] and second.taken_at > first[0].taken_at
    assert (second.threads, second.torch) == (noise.threads, torch.__version__)
    assert [name for name, _ in second.probes] == [label for label, _, _ in PROBES]
    assert all(len(runs) == 3 for _, runs in second.probes)
    assert "the machine's speed before torch 2.14.1: the noise probes again" in proc.stderr
    a, b = sides["2.13.0"], sides["2.14.1"]
    assert a.fingerprint["torch"]["git_version"] != b.fingerprint["torch"]["git_version"]
    assert a.fingerprint["cpu"] == b.fingerprint["cpu"]  # same machine


def test_summary_printed(first_run) -> None:
    _, _, proc = first_run
    assert "vs oldest" in proc.stdout
    assert "Sum.track_sum(1024, 'float32', 'cpu')" in proc.stdout
    assert "2.14.1" in proc.stdout and "2.13.0" in proc.stdout


def test_second_commit_does_not_reinstall_torch(first_run, env_dir: Path) -> None:
    repo, home, _ = first_run
    torch_files = sorted(env_dir.glob("*/lib/python3*/site-packages/torch/__init__.py"))
    assert len(torch_files) >= len(VERSIONS)  # more when TORCHPERF_TEST_ENV_DIR holds others
    before = {p: p.stat().st_mtime_ns for p in torch_files}
    (repo / "README.md").write_text((repo / "README.md").read_text() + "\nanother commit\n")
    _git(repo, "commit", "-q", "-am", "second")
    proc = torchperf_run(repo, home, "--quick")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in torch_files} == before
    # The matrix pin of asv_runner is honoured in every environment.
    assert len(list(env_dir.glob("*/lib/python3*/site-packages/asv_runner-0.3.2.dist-info"))) >= len(VERSIONS)
    assert "Installing" in proc.stdout  # our package was installed for the new commit...
    assert "Collecting torch" not in proc.stdout and "Installing collected packages: torch" not in proc.stdout
    assert set(_results(repo, _git(repo, "rev-parse", "HEAD"))) == set(VERSIONS)


def test_run_records_the_machine_condition(first_run) -> None:
    """doctor verdict, noise probes and the ceilings are saved before the benchmarks run."""
    from torchperf_core.machine import checks as machine_checks
    from torchperf_core.machine.calibration import load
    from torchperf_core.machine.condition import load_condition

    repo, _home, proc = first_run
    condition = load_condition(repo / "meta", MACHINE)
    assert condition.problems == () and condition.doctor is not None and condition.noise is not None
    assert {p.name for p in condition.noise.probes} == {label for label, _op, _size in machine_checks.PROBES}
    assert load(repo / "meta" / MACHINE / "calibration.json").peak_gflops["float32"] > 0
    assert "doctor:" in proc.stderr and "minimum detectable slowdown" in proc.stderr


def test_rounds_at_one_thread_file_their_own_environment_with_a_replicate_per_round(first_run) -> None:
    """`--threads 1` is a matrix variable (its own results, same built environment); `--rounds 2`
    measures each version twice in separate asv runs: two between-run replicates per case."""
    repo, home, _ = first_run
    env = dict(os.environ, HOME=str(home))
    cmd = [sys.executable, "-m", "torchperf_core", "run", "--torch", "2.13.0", "--tier", "smoke", "--bench", "Sum",
           "--machine", MACHINE, "--no-publish", "--no-machine-checks", "--threads", "1", "--rounds", "2"]
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "round 1 of 2" in proc.stderr and "round 2 of 2" in proc.stderr
    commit = _git(repo, "rev-parse", "HEAD")
    files = sorted((repo / "results" / MACHINE).glob(f"{commit[:8]}-*TORCHPERF_THREADS1*.json"))
    assert len(files) == 1
    side = sidecar_for(files[0])
    record = side.cases["bench_memory.Sum.track_sum"]["(1024, 'float32', 'cpu')"]
    assert record["threads"] == 1
    assert len(record["run_medians"]) + record.get("contended_runs", 0) == 2

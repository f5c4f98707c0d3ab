"""The GitHub workflows: their YAML, and the local scripts they call, run here for real.

No GitHub access from the test machines, so the workflows are validated structurally and the
scripts they run (the same `asv`/`torchperf` commands a person runs) are executed on a tiny real asv
project: two commits, a real virtualenv, interleaved `asv continuous`, `torchperf compare`,
`asv publish` and `torchperf regressions`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
SCRIPTS = ROOT / "scripts"


def load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(data, dict)
    # YAML 1.1 reads the bare key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(job: dict) -> list[dict]:
    out = job["steps"]
    for step in out:
        assert ("uses" in step) != ("run" in step), f"a step needs exactly one of uses/run: {step}"
        if "uses" in step:
            assert "@v" in step["uses"], f"pin actions to a major version: {step['uses']}"
    return out


def test_pr_workflow_structure():
    wf = load("pr.yml")
    assert "pull_request" in wf["on"]
    assert wf["permissions"]["pull-requests"] == "write"
    job = wf["jobs"]["compare"]
    assert job["runs-on"] and job["timeout-minutes"] > 0
    st = steps(job)
    checkout = next(s for s in st if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # both commits must be reachable
    gate = next(s for s in st if "ci_pr_gate.sh" in s.get("run", ""))
    assert "pull_request.base.sha" in gate["run"] and "pull_request.head.sha" in gate["run"]
    assert "continue-on-error" not in gate  # a regression must fail the job
    comment = next(s for s in st if "gh pr comment" in s.get("run", ""))
    assert comment["if"].startswith("always()") and "compare.md" in comment["run"]
    assert "GH_TOKEN" in comment["env"]
    for key in ("TORCHPERF_TIER", "TORCHPERF_BUDGET", "ASV_MACHINE"):
        assert key in job["env"]


def test_nightly_workflow_structure():
    wf = load("nightly.yml")
    assert "schedule" in wf["on"] and wf["on"]["push"]["branches"] == ["main"]
    assert wf["permissions"]["pages"] == "write" and wf["permissions"]["id-token"] == "write"
    bench = wf["jobs"]["benchmark"]
    st = steps(bench)
    assert any("ci_nightly.sh" in s.get("run", "") for s in st)
    cache = next(s for s in st if s.get("uses", "").startswith("actions/cache@"))
    assert "results/" in cache["with"]["path"] and "meta/" in cache["with"]["path"]
    upload = next(s for s in st if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"].rstrip("/") == "html"
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "benchmark" and deploy["environment"]["name"] == "github-pages"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in steps(deploy))


def test_scripts_exist_are_executable_and_parse():
    referenced = set()
    for name in ("pr.yml", "nightly.yml"):
        for job in load(name)["jobs"].values():
            for s in job["steps"]:
                for word in s.get("run", "").split():
                    if word.startswith("scripts/"):
                        referenced.add(word)
    assert referenced == {"scripts/ci_pr_gate.sh", "scripts/ci_nightly.sh"}
    for rel in referenced:
        path = ROOT / rel
        assert os.access(path, os.X_OK), rel
        subprocess.run(["bash", "-n", str(path)], check=True)


# --------------------------------------------------------------------------------------------------
# The scripts, for real, on a tiny asv project (no torch in its environment: builds in seconds).

TOY_CONF = {
    "version": 1,
    "project": "gatetoy",
    "project_url": "https://example.org/gatetoy",
    "repo": ".",
    "branches": ["main"],
    "environment_type": "virtualenv",
    "pythons": [f"{sys.version_info.major}.{sys.version_info.minor}"],
    "build_command": ["python -m pip wheel --no-deps --no-build-isolation --no-index -w {build_cache_dir} {build_dir}"],
    "install_command": ["in-dir={env_dir} python -m pip install --no-deps --force-reinstall {wheel_file}"],
    "uninstall_command": ["return-code=any python -m pip uninstall -y gatetoy"],
    "benchmark_dir": "benchmarks",
    "env_dir": ".asv/env",
    "results_dir": "results",
    "html_dir": "html",
}


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A two-commit project whose head makes the benchmark busy-wait 3x longer."""
    root = tmp_path_factory.mktemp("gatetoy")
    (root / "gatetoy").mkdir()
    (root / "benchmarks").mkdir()
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "gatetoy"\nversion = "0.1"\n'
    )
    code = textwrap.dedent(
        """
        import time
        COST = {cost}
        def work():
            end = time.perf_counter() + COST
            while time.perf_counter() < end:
                pass
        """
    )
    (root / "gatetoy" / "__init__.py").write_text(code.format(cost=0.001))
    (root / "benchmarks" / "__init__.py").write_text("")
    (root / "benchmarks" / "bench_gate.py").write_text(
        "import gatetoy\n\n\ndef time_work():\n    gatetoy.work()\n\n\ntime_work.version = '1'\n"
    )
    (root / "asv.conf.json").write_text(json.dumps(TOY_CONF, indent=2))
    (root / ".gitignore").write_text(".asv/\nresults/\nhtml/\nmeta/\nout*/\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    (root / "gatetoy" / "__init__.py").write_text(code.format(cost=0.003))
    _git(root, "commit", "-qam", "head: 3x slower")
    home = root / "home"  # asv keeps its machine file in $HOME: never touch the real one
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHON": sys.executable,
        "ASV_MACHINE": "gate-test",
    }
    env.pop("GITHUB_STEP_SUMMARY", None)
    return root, env


@pytest.mark.slow
def test_pr_gate_script_real_run(toy):
    root, env = toy
    summary = root / "summary.md"
    proc = subprocess.run(
        [str(SCRIPTS / "ci_pr_gate.sh"), "HEAD~1", "HEAD", "out"],
        cwd=root, env={**env, "GITHUB_STEP_SUMMARY": str(summary)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # Whether a 3x busy-wait is decided within the budget depends on this machine's load: the
    # verdict is not asserted, only that the gate ran end to end and reported consistently.
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    base, head = _git(root, "rev-parse", "HEAD~1")[:8], _git(root, "rev-parse", "HEAD")[:8]
    md = (root / "out" / "compare.md").read_text()
    assert md.startswith("❌" if proc.returncode else ("✅", "⚠️"))
    assert f"{base} → {head}" in md and "bench_gate.time_work" in md
    data = json.loads((root / "out" / "compare.json").read_text())
    assert data["exit_code"] == proc.returncode and data["before"]["commit"].startswith(base)
    assert data["kind"] == "gate" and [c["benchmark"] for c in data["cases"]] == ["bench_gate.time_work"]
    assert summary.read_text() == md
    assert f"torchperf continuous: {data['headline']}" in proc.stdout
    assert "factor 1.03 " in proc.stdout and data["factor"] == 1.03  # the gate's factor, not compare's
    assert (root / ".asv" / "gate" / data["before"]["commit"] / "gatetoy" / "__init__.py").is_file()  # its tree


@pytest.mark.slow
def test_nightly_script_real_run(toy):
    root, env = toy
    proc = subprocess.run(
        [str(SCRIPTS / "ci_nightly.sh"), "out-nightly"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (root / "html" / "index.html").is_file() and (root / "html" / "regressions.json").is_file()
    assert (root / "out-nightly" / "regressions.md").read_text().startswith(("✅", "❌", "⚠️"))
    assert "torchperf regressions:" in proc.stdout
    assert (root / "html" / "torchperf").is_dir()  # torchperf publish: asv's site plus torchperf's pages


def _ci_project(folder: Path, conf: dict) -> dict:
    """A folder with an asv config and a private $HOME (asv keeps its machine file there)."""
    (folder / "home").mkdir(parents=True)
    (folder / "asv.conf.json").write_text(json.dumps(conf))
    return {**os.environ, "HOME": str(folder / "home"), "PYTHON": sys.executable,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_ci_config_script_derives_through_the_library_and_registers_hardware(tmp_path):
    """The CI scripts' preparation: the library's derived config (meta/ of the project) and the
    machine entry with the hardware keys a plain `asv machine --yes` leaves out."""
    from torchperf_core.run import HARDWARE_KEYS, hardware_keys
    from torchperf_core.store import read_config

    env = _ci_project(tmp_path, {**TOY_CONF, "matrix": {"req": {"pip+torch": ["2.12.0", "2.13.0"]}}})
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "asv_ci_config.py"), "--out", ".asv/ci.conf.json", "--machine", "ci-box",
         "--torch", "2.14.1 2.13.0"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    derived = tmp_path.resolve() / ".asv" / "ci.conf.json"
    assert proc.stdout == f"{derived}\n"
    conf = read_config(derived)
    assert conf.meta_dir == tmp_path.resolve() / "meta" and conf.results_dir == tmp_path.resolve() / "results"
    assert conf.torch_requirement == ["2.13.0", "2.14.1"]
    entry = json.loads((tmp_path / "home" / ".asv-machine.json").read_text())["ci-box"]
    assert {k: entry[k] for k in HARDWARE_KEYS} == hardware_keys()
    assert entry["cpu"] and entry["num_cpu"] and entry["machine"] == "ci-box"


@pytest.mark.parametrize("script", ["ci_pr_gate.sh", "ci_nightly.sh"])
def test_ci_scripts_stop_on_a_misspelt_config(tmp_path, script):
    """One line naming the key, exit 2, before any machine is registered or asv runs."""
    env = _ci_project(tmp_path, {**TOY_CONF, "results_dri": "out"})
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "commit", "-q", "--allow-empty", "-m", "one")
    args = ["HEAD", "HEAD"] if script == "ci_pr_gate.sh" else []
    proc = subprocess.run([str(SCRIPTS / script), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == ("asv_ci_config: error: asv config 'asv.conf.json': unknown key 'results_dri' (did you "
                           "mean 'results_dir'?); asv would ignore it silently (accepted: the keys of "
                           "https://asv.readthedocs.io/en/v0.6.6/asv.conf.json.html)\n")
    assert not (tmp_path / "home" / ".asv-machine.json").exists() and not (tmp_path / ".asv").exists()


def test_pr_gate_rejects_unknown_revision(toy):
    root, env = toy
    proc = subprocess.run(
        [str(SCRIPTS / "ci_pr_gate.sh"), "no-such-rev", "HEAD"], cwd=root, env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0 and "no-such-rev" in proc.stderr

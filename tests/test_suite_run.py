"""`torchperf run` pieces that need no benchmark environment: validation, machine, config, sidecars."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from torchperf_core.run import asvglue

from torchperf_core.store import sidecars as sidecar

from torchperf_core.run import suite
from torchperf_core.errors import TorchperfError
from torchperf_core.store import read_config

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "asv_run_v1"


@pytest.mark.parametrize("good", ["2.13.0", "2.14.1", "2.12", " 2.13.0 "])
def test_plain_releases_accepted(good: str) -> None:
    assert suite.parse_torch_version(good) == {"2.12": "2.12.0"}.get(good, good.strip())


@pytest.mark.parametrize(
    "bad",
    ["2.13.0rc1", "2.13.0+cpu", "2.13.0.post1", "1!2.13.0", "2.13.0.dev0", "latest", "--index-url=http://x",
     "2.13.0; rm -rf /", "2", "2.13.0.1", ""],
)
def test_anything_else_refused_before_pip(bad: str) -> None:
    with pytest.raises(TorchperfError, match="torch version"):
        suite.parse_torch_version(bad)


def test_versions_sorted_and_deduplicated() -> None:
    assert suite.parse_torch_versions(["2.14.1", "2.12.0", "2.14.1"]) == ("2.12.0", "2.14.1")


@pytest.mark.parametrize(
    ("fn", "bad", "msg"),
    [
        (suite.parse_bench, "mm(", "not a valid regular expression"),
        (suite.parse_bench, "--quick", "must not start"),
        (suite.parse_tier, "huge", "accepted: smoke, default, full"),
        (suite.parse_commits, "HEAD; rm -rf /", "commit range"),
        (suite.parse_commits, "--all", "commit range"),
        (suite.parse_machine, "../etc", "machine name"),
        (suite.parse_devices, ["tpu"], "accepted: cpu, cuda"),
    ],
)
def test_bad_choices_are_one_line_errors(fn, bad, msg) -> None:
    with pytest.raises(TorchperfError, match=msg) as info:
        fn(bad)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "argv",
    [["--torch", "2.13.0rc1"], ["--bench", "mm("], ["--tier", "huge"], ["--device", "tpu"],
     ["--commits", "a;b"]],
)
def test_cli_bad_input_exit_2(argv: list[str], tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "torchperf_core", "run", *argv], cwd=ROOT,
                          capture_output=True, text=True, env=dict(os.environ, HOME=str(tmp_path)))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("torchperf: error:"), proc.stderr
    assert not (tmp_path / ".asv-machine.json").exists(), "nothing may run before validation"


def test_configured_versions_are_the_matrix() -> None:
    conf = read_config(ROOT / "asv.conf.json")  # the project's own config passes the key check
    assert suite.configured_torch_versions(conf) == ("2.12.0", "2.13.0", "2.14.1")
    # The install command must not reinstall torch on every commit.
    assert all("--no-deps" in c for c in conf.raw["install_command"])
    assert conf.requirements["pip+asv_runner"] == ["==0.3.2"]


def test_configured_versions_missing_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "asv.conf.json"
    path.write_text('{"version": 1, "repo": ".", "matrix": {"req": {"numpy": [""]}}}')
    with pytest.raises(TorchperfError) as info:
        suite.configured_torch_versions(read_config(path))
    assert str(info.value) == (f"asv config {str(path)!r} has no torch versions in matrix.req "
                               '(expected "pip+torch": [...])')


def test_run_config_narrows_matrix_with_absolute_paths(tmp_path: Path) -> None:
    out = asvglue.write_run_config(ROOT, ["2.13.0"], path=tmp_path / "run.json")
    conf = json.loads(out.read_text())
    assert conf["matrix"]["req"]["pip+torch"] == ["2.13.0"]
    assert {k for k in conf["matrix"]["req"] if "torch" in k} == {"pip+torch"}
    assert conf["torchperf_project_root"] == str(ROOT)
    for key in ("repo", "benchmark_dir", "env_dir", "results_dir", "html_dir"):
        assert conf[key] == str(ROOT / read_config(ROOT / "asv.conf.json").raw[key])


def test_run_config_without_versions_keeps_the_matrix(tmp_path: Path) -> None:
    """The CI scripts' default (no TORCHPERF_TORCH): every pinned version stays."""
    out = asvglue.write_run_config(ROOT, None, path=tmp_path / "run.json")
    assert json.loads(out.read_text())["matrix"] == dict(read_config(ROOT / "asv.conf.json").matrix)


def test_run_command_never_goes_through_a_shell() -> None:
    plan = suite.RunPlan(("2.13.0",), "smoke", bench="Sum", quick=True)
    cmd = suite.asv_run_command(plan, Path("/x/run.json"), "box", commit="a" * 40)
    assert cmd[:3] == [sys.executable, "-m", "asv"]
    assert f"{'a' * 40}^!" in cmd and cmd[cmd.index("--bench") + 1] == "Sum" and "--quick" in cmd
    existing = suite.asv_run_command(suite.RunPlan(("2.13.0",), existing=True), Path("/x"), "box", commit="b" * 40)
    assert existing[existing.index("-E") + 1] == f"existing:{sys.executable}"
    assert existing[existing.index("--set-commit-hash") + 1] == "b" * 40


def _fake_nvidia_smi(folder: Path) -> None:
    script = folder / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--query-gpu=name,driver_version" ]; then\n'
        '  echo "NVIDIA H100 80GB HBM3, 550.54.15"; echo "NVIDIA H100 80GB HBM3, 550.54.15"; exit 0\n'
        "fi\n"
        'echo "| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4 |"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_hardware_keys_fake_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_nvidia_smi(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    keys = asvglue.hardware_keys()
    assert keys["gpu"] == "2x NVIDIA H100 80GB HBM3"
    assert keys["gpu_driver"] == "550.54.15" and keys["cuda"] == "12.4"
    assert keys["cpu"]


def test_hardware_keys_without_gpu(tmp_path: Path) -> None:
    keys = asvglue.hardware_keys(nvidia_smi=str(tmp_path / "absent"))
    assert keys["gpu"] == keys["gpu_driver"] == keys["cuda"] == "none"
    from torchperf_core.env import cpu_model

    assert keys["cpu"] == cpu_model()  # asv files results under the one name for this CPU


def test_register_machine_is_non_interactive_and_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    name = asvglue.register_machine("ci-box", extra={"cpu": "Test CPU", "gpu": "none", "gpu_driver": "none", "cuda": "none"})
    entry = json.loads((tmp_path / ".asv-machine.json").read_text())["ci-box"]
    assert name == "ci-box"
    assert entry["gpu"] == "none" and entry["cpu"] == "Test CPU"
    # asv 0.6.6 records only the name with --machine; the rest must have been filled in.
    for key in ("os", "arch", "num_cpu", "ram"):
        assert entry[key]


def test_sidecar_roundtrip_and_path(tmp_path: Path) -> None:
    results_file = tmp_path / "results" / "box" / "abcd1234-virtualenv-py3.11-pip+torch2.13.0.json"
    path = sidecar.sidecar_path(results_file)
    assert path == tmp_path / "meta" / "box" / results_file.name
    written = sidecar.Sidecar(results_file.name, "box", "abcd" * 10, "virtualenv-py3.11-pip+torch2.13.0",
                              "2.13.0+cpu", {"format_version": 1}, {"mm/float32": {}})
    sidecar.write_sidecar(written, path)
    assert sidecar.sidecar_for(results_file) == written
    assert sidecar.sidecar_for(results_file.with_name("other.json")) is None


def test_sidecar_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"format_version": 99}))
    with pytest.raises(TorchperfError, match="format_version 99"):
        sidecar.load_sidecar(path)
    path.write_text("{")
    with pytest.raises(TorchperfError, match="not a JSON sidecar"):
        sidecar.load_sidecar(path)


@pytest.mark.skipif(not (FIXTURE / "READY").exists(), reason="fixture not recorded yet")
def test_fixture_sidecars_and_summary() -> None:
    results = sorted(p for p in (FIXTURE / "results").glob("*/*.json") if p.name != "machine.json")
    assert results
    versions = set()
    for path in results:
        side = sidecar.sidecar_for(path)
        assert side is not None and side.fingerprint and side.kernels
        versions.add(side.torch_version.split("+")[0])
    assert versions == {"2.13.0", "2.14.1"}
    commit = json.loads(results[0].read_text())["commit_hash"][:8]
    rows = suite.summarize([p for p in results if p.name.startswith(commit)], FIXTURE / "results" / "benchmarks.json")
    # One torch-version rule: the release is the version, the build's tag its flavour.
    assert rows and {(r.torch_version, r.flavour) for r in rows} == {("2.13.0", "cpu"), ("2.14.1", "cu130")}
    assert all(r.ratio == 1.0 for r in rows if r.torch_version.startswith("2.13.0") and r.ratio is not None)
    mm = [r for r in rows if "track_mm(1024, 'float32'" in r.benchmark + r.params]
    assert mm and all(r.gflops and r.gflops > 0 for r in mm)


@pytest.mark.skipif(not (FIXTURE / "READY").exists(), reason="fixture not recorded yet")
def test_summary_ranks_decided_changes_first_with_compares_verdicts() -> None:
    """The summary's verdicts are `compare --torch OLDEST V`'s (one owner), and only decided changes
    rank as changes: decided first (biggest ratio first), then unknown/contended, then the same."""
    from torchperf_core.compare import Source, compare_versions

    results = [p for p in (FIXTURE / "results").glob("*/*.json") if p.name != "machine.json"]
    commit = sorted(p.name[:8] for p in results)[0]
    current = [p for p in results if p.name.startswith(commit)]
    rows = suite.summarize(current, FIXTURE / "results" / "benchmarks.json")
    data = json.loads(current[0].read_text())
    comparison = compare_versions(Source(FIXTURE / "results"), ["2.13.0", "2.14.1"], commit=data["commit_hash"])
    expected = {(r.benchmark, "(" + ", ".join(v for _, v in r.params) + ")"): r.verdict for r in comparison.rows}
    later = [r for r in rows if r.torch_version == "2.14.1"]
    assert later and {(r.benchmark, r.params): r.verdict for r in later} == {
        k: v for k, v in expected.items() if k in {(r.benchmark, r.params) for r in later}}
    assert all(r.verdict is None for r in rows if r.torch_version == "2.13.0")
    rank = {"slower": 0, "failed": 0, "faster": 1, "fixed": 1, "unknown": 2, "contended": 2, "same": 3}
    order = []
    for r in rows:
        if r.verdict is not None and (r.benchmark, r.params) not in [k for k, _ in order]:
            order.append(((r.benchmark, r.params), rank.get(r.verdict, 4)))
    assert [g for _, g in order] == sorted(g for _, g in order)


def test_write_sidecars_maps_results_to_their_environment(tmp_path: Path) -> None:
    res = tmp_path / "results" / "box"
    res.mkdir(parents=True)
    for env in ("virtualenv-py3.11-pip+torch2.13.0", "virtualenv-py3.11-pip+torch2.14.1", "elsewhere"):
        (res / f"abcd1234-{env}.json").write_text(json.dumps({"env_name": env, "commit_hash": "abcd1234" * 5}))
    pythons = {"virtualenv-py3.11-pip+torch2.13.0": "/e1/bin/python", "virtualenv-py3.11-pip+torch2.14.1": "/e2/bin/python"}
    seen = []

    def fake_fingerprint(python: str):
        seen.append(python)
        version = "2.13.0+cpu" if python == "/e1/bin/python" else "2.14.1+cu130"
        return {"torch": {"version": version}}, {"mm/float32": {"backends": ["x"]}}, version, None

    written = suite.write_sidecars(sorted(res.glob("*.json")), pythons, fingerprint=fake_fingerprint)
    assert len(written) == 2 and sorted(seen) == ["/e1/bin/python", "/e2/bin/python"]
    side = sidecar.sidecar_for(res / "abcd1234-virtualenv-py3.11-pip+torch2.14.1.json")
    assert side.torch_version == "2.14.1+cu130" and side.kernels == {"mm/float32": {"backends": ["x"]}}
    assert sidecar.sidecar_for(res / "abcd1234-elsewhere.json") is None


def test_register_machine_default_name_is_the_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import platform

    monkeypatch.setenv("HOME", str(tmp_path))
    asvglue.register_machine("other-box", extra={})
    assert asvglue.register_machine(None, extra={"gpu": "none"}) == platform.node()
    data = json.loads((tmp_path / ".asv-machine.json").read_text())
    assert data[platform.node()]["gpu"] == "none" and "other-box" in data


def test_accepted_keys_are_the_ones_asv_reads() -> None:
    """Every key asv's Config sets is accepted (a real key is never refused); the only others are
    the two asv reads with getattr defaults."""
    from asv.config import Config

    from torchperf_core.store.config import ASV_KEYS

    assert set(vars(Config())) <= ASV_KEYS
    assert ASV_KEYS - set(vars(Config())) == {"version", "build_cache_size"}

"""`torchperf merge DIR...`: results folders from elsewhere merged into this project's.

Built from a real `torchperf run` results folder (tests/fixtures/asv_run_v1: asv's own files and
their sidecars); a second machine is made from it by renaming (asv records the machine name inside
every results file) and optionally changing its hardware keys, timings or run time.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

import pytest

from torchperf_core.errors import TorchperfError
from torchperf_core.fleet import identity_conflicts, merge_results
from torchperf_core.store import ResultsStore

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "asv_run_v1"
SOURCE = "fixture-box"
STEM_213 = "48669f7b-virtualenv-py3.11-numpy-packaging-pip+torch2.13.0-setuptools-threadpoolctl"


def make_machine(dest: Path, name: str, *, hardware: Mapping[str, Any] | None = None, scale: float = 1.0,
                 later_ms: int = 0, with_meta: bool = True) -> Path:
    """A results folder (dest/results, dest/meta) holding the fixture's runs as machine `name`:
    timings multiplied by `scale`, runs started `later_ms` later, hardware keys overridden."""
    results = dest / "results" / name
    results.mkdir(parents=True)
    shutil.copy(FIXTURE / "results" / "benchmarks.json", dest / "results" / "benchmarks.json")
    info = json.loads((FIXTURE / "results" / SOURCE / "machine.json").read_text())
    info.update({"machine": name, **(hardware or {})})
    (results / "machine.json").write_text(json.dumps(info, indent=4))
    for path in sorted((FIXTURE / "results" / SOURCE).glob("*-*.json")):
        data = json.loads(path.read_text())
        data["params"].update({"machine": name, **(hardware or {})})
        cols = data["result_columns"]
        for values in data["results"].values():
            entry = dict(zip(cols, values))
            entry["result"] = [v * scale if isinstance(v, float) else v for v in entry["result"]]
            for stat in ("stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75"):
                if entry.get(stat):
                    entry[stat] = [v * scale if isinstance(v, float) else v for v in entry[stat]]
            if entry.get("samples"):
                entry["samples"] = [[x * scale for x in s] if s else s for s in entry["samples"]]
            entry["started_at"] = entry["started_at"] + later_ms
            values[:] = [entry.get(c) for c in cols][: len(values)]
        (results / path.name).write_text(json.dumps(data))
    if with_meta:
        meta = dest / "meta" / name
        meta.mkdir(parents=True)
        for path in sorted((FIXTURE / "meta" / SOURCE).glob("*.json")):
            side = json.loads(path.read_text())
            side["machine"] = name
            (meta / path.name).write_text(json.dumps(side))
    return dest


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_merge_two_machines_then_again_changes_nothing(tmp_path: Path) -> None:
    a = make_machine(tmp_path / "a", "box-a")
    b = make_machine(tmp_path / "b", "box-b", hardware={"cpu": "Intel Xeon", "num_cpu": "8"}, scale=0.5)
    here = tmp_path / "project"
    report = merge_results([a, b / "results"], here / "results", here / "meta")
    assert report.machines == ["box-a", "box-b"]
    assert sorted(report.added) == sorted(
        [f"{m}/{p.name}" for m in ("box-a", "box-b") for p in (FIXTURE / "results" / SOURCE).glob("*.json")]
        + [f"meta/{m}/{p.name}" for m in ("box-a", "box-b") for p in (FIXTURE / "meta" / SOURCE).glob("*.json")]
        + ["benchmarks.json"])
    store = ResultsStore(here / "results")
    assert store.machines() == ["box-a", "box-b"]
    assert len(store.files("box-b")) == 4
    before = _tree(here)
    again = merge_results([a, b], here / "results", here / "meta")
    assert not again.changed and again.kept_newer == []
    assert sorted(again.unchanged) == sorted(report.added + report.unchanged)
    assert _tree(here) == before  # idempotent: not one byte rewritten


def test_different_machine_under_the_same_name_is_refused_and_nothing_written(tmp_path: Path) -> None:
    here = make_machine(tmp_path / "here", "box")
    impostor = make_machine(tmp_path / "other", "box", hardware={"cpu": "Intel Xeon"})
    fresh = make_machine(tmp_path / "fresh", "fresh-box")
    before = _tree(here)
    with pytest.raises(TorchperfError) as info:
        merge_results([fresh, impostor], here / "results", here / "meta")
    assert str(info.value) == (
        f"{str(impostor / 'results' / 'box')!r} is a different machine from this project's 'box' under the same name "
        "(cpu 'AMD EPYC' vs 'Intel Xeon'); nothing was merged — rename one of them (torchperf run --machine)")
    assert _tree(here) == before and not (here / "results" / "fresh-box").exists()
    # Two incoming folders disagreeing with each other are refused the same way.
    with pytest.raises(TorchperfError, match="is a different machine from"):
        merge_results([make_machine(tmp_path / "x", "y"), make_machine(tmp_path / "z", "y", hardware={"num_cpu": "64"})],
                      tmp_path / "p" / "results", tmp_path / "p" / "meta")


def test_identity_ignores_the_kernel_release_and_missing_keys() -> None:
    assert identity_conflicts({"os": "Linux 6.1.0-1", "cpu": "X"}, {"os": "Linux 6.8.0-9"}) == []
    assert identity_conflicts({"os": "Linux 6.1"}, {"os": "Darwin 23"}) == ["os 'Linux' vs 'Darwin'"]
    assert identity_conflicts({"ram": "1"}, {"ram": "2", "arch": "arm64"}) == ["ram '1' vs '2'"]


def test_newer_run_replaces_older_and_never_the_reverse(tmp_path: Path) -> None:
    here = make_machine(tmp_path / "here", "box")
    newer = make_machine(tmp_path / "newer", "box", scale=2.0, later_ms=60_000)
    older = make_machine(tmp_path / "older", "box", scale=3.0, later_ms=-60_000)
    target = here / "results" / "box" / f"{STEM_213}.json"
    newer_sidecar = newer / "meta" / "box" / f"{STEM_213}.json"
    newer_sidecar.write_text(newer_sidecar.read_text().replace('"fingerprint_error": null', '"fingerprint_error": "newer"'))
    report = merge_results([older], here / "results", here / "meta")
    assert sorted(report.kept_newer) == sorted(f"box/{p.name}" for p in (FIXTURE / "results" / SOURCE).glob("*-*.json"))
    assert target.read_bytes() == (tmp_path / "here" / "results" / "box" / f"{STEM_213}.json").read_bytes()
    assert not report.changed
    report = merge_results([newer], here / "results", here / "meta")
    assert f"box/{STEM_213}.json" in report.updated and f"meta/box/{STEM_213}.json" in report.updated
    assert target.read_bytes() == (newer / "results" / "box" / f"{STEM_213}.json").read_bytes()
    assert (here / "meta" / "box" / f"{STEM_213}.json").read_bytes() == newer_sidecar.read_bytes()  # it followed
    report = merge_results([older], here / "results", here / "meta")  # still the newer one
    assert target.read_bytes() == (newer / "results" / "box" / f"{STEM_213}.json").read_bytes()
    assert f"box/{STEM_213}.json" in report.kept_newer


def test_corrupt_incoming_results_file_is_named(tmp_path: Path) -> None:
    bad = make_machine(tmp_path / "bad", "box")
    (bad / "results" / "box" / f"{STEM_213}.json").write_text("{not json")
    with pytest.raises(TorchperfError, match=r"corrupt results file .*" + STEM_213.replace("+", r"\+")):
        merge_results([bad], tmp_path / "p" / "results", tmp_path / "p" / "meta")


def test_cli_merge_reports_and_refuses(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "asv.conf.json", project / "asv.conf.json")
    make_machine(tmp_path / "a", "box-a")

    def merge(*folders: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "torchperf_core", "merge", *map(str, folders)], cwd=project,
                              capture_output=True, text=True)

    first = merge(tmp_path / "a")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == ("merged 10 new and 0 newer file(s); 0 unchanged, 0 older one(s) skipped; "
                                            "machines: box-a")
    second = merge(tmp_path / "a")
    assert second.returncode == 0
    assert second.stdout.splitlines() == ["merged 0 new and 0 newer file(s); 10 unchanged, 0 older one(s) skipped; "
                                          "machines: box-a"]
    make_machine(tmp_path / "b", "box-a", hardware={"arch": "aarch64"})
    refused = merge(tmp_path / "b")
    assert refused.returncode == 2
    assert refused.stderr.strip().startswith("torchperf: error: ") and "arch 'x86_64' vs 'aarch64'" in refused.stderr
    missing = merge(tmp_path / "nowhere")
    assert missing.returncode == 2 and "does not exist" in missing.stderr

"""Build a publishable project from committed asv results fixtures (shared by the site tests).

`asv publish` looks every results commit up in the project's git repository. The fixtures were
recorded in other repositories, so `make_project` makes a fresh repository with one commit per recorded
commit (same order) and rewrites the copied results files (and their sidecars) to the new hashes.
The measured values are not touched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


# Ceilings in `torchperf calibrate`'s format (calibrate.Ceilings.to_json); the figures are this
# machine kind's measured fp32/bf16 GEMM and copy rates, used only to draw roofs.
CALIBRATION = {
    "format_version": 1, "device": "cpu", "threads": 2, "torch_version": "2.13.0",
    "measured_at": "2026-11-24T20:00:00+00:00", "peak_gflops": {"float32": 173.0, "bfloat16": 395.0},
    "bandwidth_gbps": 40.0, "method": {},
}


def site_fixture() -> Path:
    """The suite's real run over torch 2.13.0 and 2.14.1 (two commits, fingerprint sidecars)."""
    return FIXTURES / "asv_run_v1"


def _git(cwd: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.email=site@test.invalid", "-c", "user.name=site test", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def make_project(dest: Path, *fixtures: Path, project: str = "torchperf-site-test") -> Path:
    """A git project at `dest` holding the fixtures' results and sidecars; returns asv.conf.json."""
    dest.mkdir(parents=True)
    results, meta = dest / "results", dest / "meta"
    benchmarks: dict = {}
    for fixture in fixtures:
        benchmarks.update(json.loads((fixture / "results" / "benchmarks.json").read_text()))
        shutil.copytree(fixture / "results", results, dirs_exist_ok=True)
        if (fixture / "meta").is_dir():
            shutil.copytree(fixture / "meta", meta, dirs_exist_ok=True)
    (results / "benchmarks.json").write_text(json.dumps(benchmarks))
    # old commit -> date, for ordering the new commits the same way
    dates: dict[str, int] = {}
    for path in results.glob("*/*.json"):
        if path.name != "machine.json":
            data = json.loads(path.read_text())
            dates[data["commit_hash"]] = max(dates.get(data["commit_hash"], 0), int(data.get("date") or 0))
    (dest / ".gitignore").write_text("results/\nhtml/\nmeta/\n")
    _git(dest, "init", "-q", "-b", "main")
    mapping = {}
    for i, old in enumerate(sorted(dates, key=lambda c: (dates[c], c))):
        (dest / "rev.txt").write_text(f"{i}\n")
        _git(dest, "add", "-A")
        _git(dest, "commit", "-q", "-m", f"revision {i}")
        mapping[old] = _git(dest, "rev-parse", "HEAD")
    for path in sorted(results.glob("*/*.json")):
        if path.name == "machine.json":
            continue
        data = json.loads(path.read_text())
        old = data["commit_hash"]
        data["commit_hash"] = mapping[old]
        new_name = path.name.replace(old[:8], mapping[old][:8], 1)
        path.write_text(json.dumps(data))
        path.rename(path.with_name(new_name))
        sidecar = meta / path.parent.name / path.name
        if sidecar.exists():
            side = json.loads(sidecar.read_text())
            if isinstance(side, dict):
                side["commit_hash"] = mapping[old]
                side["results_file"] = new_name
            sidecar.write_text(json.dumps(side))
            sidecar.rename(sidecar.with_name(new_name))
    for machine_dir in results.iterdir():
        calibration = meta / machine_dir.name / "calibration.json"
        if machine_dir.is_dir() and not calibration.exists():
            calibration.parent.mkdir(parents=True, exist_ok=True)
            calibration.write_text(json.dumps({**CALIBRATION, "machine": machine_dir.name}))
    config = dest / "asv.conf.json"
    config.write_text(json.dumps({
        "version": 1, "project": project, "project_url": "https://example.org/", "repo": ".",
        "branches": ["main"], "environment_type": "virtualenv", "results_dir": "results", "html_dir": "html",
    }, indent=2))
    return config


def results_medians(results_dir: Path) -> dict[tuple[str, str, str, int, str], float]:
    """(machine, commit, benchmark, flat param index, torch version) -> median, read with json only."""
    out = {}
    for path in sorted(results_dir.glob("*/*.json")):
        if path.name == "machine.json":
            continue
        data = json.loads(path.read_text())
        columns = data["result_columns"]
        torch_version = next((str(v) for k, v in data["params"].items() if k.rsplit("+", 1)[-1] == "torch"), "")
        for bench, row in data["results"].items():
            values = row[columns.index("result")]
            if not isinstance(values, list):
                values = [values]
            for index, value in enumerate(values):
                if isinstance(value, (int, float)) and value == value:
                    out[(data["params"]["machine"], data["commit_hash"], bench, index, torch_version)] = float(value)
    return out

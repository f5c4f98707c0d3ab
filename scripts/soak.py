#!/usr/bin/env python
"""Soak: several full `torchperf run` in a row (one new commit each), then publish and compare.

Checks what a long-lived checkout needs: results accumulate (one results file and one sidecar per
commit × torch version, none duplicated, every one readable), the site builds and lists every
commit, compare and regressions still work. Prints the figures (wall time per step, sizes).

    python scripts/soak.py --torch 2.13.0 --runs 3 [--env-dir DIR] [--bench REGEX] [--keep]

Runs in a fresh temporary copy of this checkout (tracked and unignored files, committed there), so
the working tree is never touched. `--env-dir` reuses asv environments between soaks.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MACHINE = "soak-box"

from scripts._snapshot import git, snapshot_checkout  # noqa: E402


def copy_checkout(dest: Path) -> Path:
    return snapshot_checkout(dest, "soak start")


def torchperf(repo: Path, home: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "torchperf_core", *args], cwd=repo,
                          env=dict(os.environ, HOME=str(home)), capture_output=True, text=True)
    return proc, time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch", nargs="+", default=["2.13.0"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tier", default="smoke")
    parser.add_argument("--bench", help="benchmark regex (default: the whole tier)")
    parser.add_argument("--env-dir", help="asv environments to reuse (default: built in the temp copy)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="torchperf-soak-"))
    repo = copy_checkout(tmp / "project")
    home = tmp / "home"
    home.mkdir()
    if args.env_dir:
        (repo / ".asv").mkdir(exist_ok=True)
        (repo / ".asv" / "env").symlink_to(Path(args.env_dir).resolve(), target_is_directory=True)
    problems: list[str] = []
    run_args = ["run", "--torch", *args.torch, "--tier", args.tier, "--machine", MACHINE]
    if args.bench:
        run_args += ["--bench", args.bench]
    for i in range(args.runs):
        if i:
            (repo / "README.md").write_text((repo / "README.md").read_text() + f"\nsoak {i}\n")
            git(repo, "commit", "-q", "-am", f"soak {i}")
        proc, seconds = torchperf(repo, home, *run_args)
        print(f"run {i + 1}: exit {proc.returncode}, {seconds:.0f} s", flush=True)
        if proc.returncode != 0:
            problems.append(f"run {i + 1} exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}")

    results = sorted((repo / "results" / MACHINE).glob("*-*.json"))
    sidecars = sorted((repo / "meta" / MACHINE).glob("*-*.json"))
    expected = args.runs * len(args.torch)
    keys = []
    for path in results:
        try:
            data = json.loads(path.read_text())
            keys.append((data["commit_hash"], data["env_name"]))
        except (ValueError, KeyError) as exc:
            problems.append(f"{path.name}: unreadable ({exc})")
    if len(results) != expected or len(set(keys)) != len(keys):
        problems.append(f"{len(results)} results files ({len(set(keys))} distinct), expected {expected}")
    if {p.name for p in sidecars} != {p.name for p in results}:
        problems.append(f"{len(sidecars)} sidecars for {len(results)} results files")

    from torchperf_core.store.asv_results import ResultsStore  # noqa: E402 - after the runs: import errors are findings too

    store = ResultsStore(repo / "results")
    files = store.files(MACHINE)
    entries = sum(len(f.entries) for f in files)
    measured = sum(1 for f in files for s in f.entries.values() if not s.is_missing)

    proc, publish_s = torchperf(repo, home, "publish")
    if proc.returncode != 0:
        problems.append(f"publish exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
    index = repo / "html" / "index.json"
    revisions = len(json.loads(index.read_text()).get("revision_to_hash", {})) if index.is_file() else 0
    if revisions < args.runs:
        problems.append(f"the site lists {revisions} revisions, expected >= {args.runs}")
    for page in ("index.html", "torchperf/versions.html", "torchperf/environment.html"):
        if not (repo / "html" / page).is_file():
            problems.append(f"html/{page} missing")
    cmp_proc, compare_s = torchperf(repo, home, "compare", f"HEAD~{args.runs - 1}", "HEAD", "--machine", MACHINE)
    if cmp_proc.returncode not in (0, 1):
        problems.append(f"compare exit {cmp_proc.returncode}: {cmp_proc.stderr.strip()[-300:]}")
    reg_proc, _ = torchperf(repo, home, "regressions")
    if reg_proc.returncode not in (0, 1):
        problems.append(f"regressions exit {reg_proc.returncode}: {reg_proc.stderr.strip()[-300:]}")

    size = sum(p.stat().st_size for p in (repo / "results").rglob("*") if p.is_file())
    html_size = sum(p.stat().st_size for p in (repo / "html").rglob("*") if p.is_file())
    print(f"results files: {len(results)} (expected {expected}), sidecars: {len(sidecars)}, "
          f"cases: {entries} ({measured} measured), results/ {size / 1e3:.0f} kB")
    print(f"publish: {publish_s:.0f} s, html/ {html_size / 1e6:.1f} MB, {revisions} revisions; "
          f"compare: {compare_s:.1f} s (exit {cmp_proc.returncode}); regressions exit {reg_proc.returncode}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if args.keep:
        print(f"kept {repo}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("soak: OK" if not problems else f"soak: {len(problems)} problem(s)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())

"""The two sides of a gate: (python interpreter, code tree) each.

Two commits: each commit's tracked tree is extracted with `git archive` into `.asv/gate/<sha>/`
(ignored, reused when complete) and measured with the same interpreter, so only the code differs.
Two torch versions at one commit: one tree, two interpreters (the asv environments that pin those
versions, built by `torchperf run --torch ...`; the gate never builds one).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from torchperf_core.errors import TorchperfError

GATE_DIR = Path(".asv") / "gate"
_COMPLETE = ".torchperf-gate-complete"


@dataclass(frozen=True)
class GateSide:
    """What one side runs: `python` with `benchmark_dir` (and its parent on the path)."""

    label: str  # "b8a3a8cb" or "torch 2.13.0"
    python: str
    benchmark_dir: Path
    commit: str | None = None
    torch_version: str | None = None
    env: Mapping[str, str] = field(default_factory=dict, compare=False)  # extra worker environment


def resolve_commit(repo: Path, rev: str) -> str:
    """The full hash of `rev` in `repo` (a branch, tag, short hash, HEAD~1, ...)."""
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                          capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise TorchperfError(f"unknown revision {rev!r} in {repo}; give a commit, branch or tag")
    return proc.stdout.strip()


def extract_tree(repo: Path, commit: str, dest_root: Path) -> Path:
    """The commit's tracked files under `dest_root/<commit>/` (extracted once, then reused)."""
    dest = dest_root / commit
    if (dest / _COMPLETE).is_file():
        return dest
    if dest.exists():
        shutil.rmtree(dest)  # an interrupted extraction
    proc = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit], capture_output=True)
    if proc.returncode != 0:
        raise TorchperfError(f"git archive {commit[:8]} failed: {proc.stderr.decode(errors='replace').strip()}")
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")
    (dest / _COMPLETE).write_text(commit + "\n")
    return dest


def commit_sides(repo: Path, base: str, head: str, benchmark_dir: str, *, python: str | None = None) -> tuple[GateSide, GateSide]:
    """BASE and HEAD as extracted trees run by one interpreter (the tool's own by default)."""
    interpreter = python or sys.executable
    sides = []
    for rev in (base, head):
        commit = resolve_commit(repo, rev)
        tree = extract_tree(repo, commit, repo / GATE_DIR)
        bench = tree / benchmark_dir
        if not bench.is_dir():
            raise TorchperfError(f"commit {commit[:8]} has no benchmark folder {benchmark_dir!r}")
        sides.append(GateSide(commit[:8], interpreter, bench, commit=commit))
    return sides[0], sides[1]


def version_sides(repo: Path, commit_rev: str, benchmark_dir: str, pythons: Mapping[str, str],
                  versions: Sequence[str]) -> tuple[GateSide, GateSide]:
    """Two torch versions at one commit: `pythons` maps each version to an interpreter that has it."""
    commit = resolve_commit(repo, commit_rev)
    tree = extract_tree(repo, commit, repo / GATE_DIR)
    bench = tree / benchmark_dir
    if not bench.is_dir():
        raise TorchperfError(f"commit {commit[:8]} has no benchmark folder {benchmark_dir!r}")
    out = []
    for v in versions:
        python = pythons.get(v)
        if python is None or not os.access(python, os.X_OK):
            have = ", ".join(sorted(pythons)) or "none"
            raise TorchperfError(
                f"no built asv environment with torch {v} (environments with torch: {have}); "
                f"build it first: torchperf run --torch {v}"
            )
        out.append(GateSide(f"torch {v}", python, bench, commit=commit, torch_version=v))
    return out[0], out[1]


def torch_pythons(env_dir: Path) -> dict[str, str]:
    """torch release -> the python of an asv environment under `env_dir` that has it (as built by
    `torchperf run --torch ...`); each interpreter is asked its version (names can be hashes)."""
    from torchperf_core.store import release_of

    out: dict[str, str] = {}
    for python in sorted(env_dir.glob("*/bin/python")):
        proc = subprocess.run([str(python), "-c", "import torch; print(torch.__version__)"],
                              capture_output=True, text=True, timeout=300)
        release = release_of(proc.stdout.strip()) if proc.returncode == 0 else None
        if release and release not in out:
            out[release] = str(python)
    return out

"""Guards of `torchperf run` against the faults a long-lived checkout meets.

Each check runs before asv would trip over the fault with a traceback, or explains a failure asv
reports only in its log: a revision range that does not resolve, a results file cut short by a
kill, a disk too full to build an environment, benchmark cases that raised or were skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from torchperf_core.errors import TorchperfError


def low_disk_hint(env_dir: Path, threshold: int = 8 * 2**30) -> str:
    """A failed environment build on a disk without room for it is the usual cause: say so. The free space is
    read after the failure, when asv has deleted the half-built environment (so the next run builds it afresh
    rather than reusing a broken one) and given its space back: the threshold is what a build needs, not what
    is left at its end. A CUDA build of torch fills about 6 GB of environment (5.5 GB measured: torch 2.14.1 with
    its CUDA libraries, as pip installs it on Linux x86-64), a CPU build about 1 GB, and pip unpacks the wheel
    beside it; hence 8 GiB."""
    try:
        free = shutil.disk_usage(env_dir if env_dir.exists() else env_dir.parent).free
    except OSError:
        return ""
    if free >= threshold:
        return ""
    # rounded down: 7.99 GiB is not "8.0 GiB free, less than 8 GiB"
    shown = f"{free / 2**20:.0f} MiB" if free < 2**30 else f"{int(free / 2**30 * 10) / 10:.1f} GiB"
    return (f"; only {shown} free where environments are built ({env_dir.name}/), less than the "
            f"{threshold / 2**30:.0f} GiB a build may need (a CUDA build of torch installs about 6 GB, a CPU build "
            "about 1 GB, and pip unpacks beside it): free space there or point asv's env_dir elsewhere")


def check_results_readable(results_dir: Path, machine: str) -> None:
    """asv loads the existing results of a commit before adding to them and stops with a traceback
    on a damaged one (e.g. truncated by a kill while asv was writing it): name it first instead."""
    folder = results_dir / machine
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TorchperfError(
                f"results file {str(path)!r} is damaged ({str(exc).splitlines()[0][:120]}); torchperf never deletes "
                "results: move it out of the results folder (its benchmarks will be run again) and retry"
            ) from None
        if not isinstance(data, dict):
            raise TorchperfError(f"results file {str(path)!r} is damaged (not a JSON object); move it out of the "
                                 "results folder and retry")


def check_commits(root: Path, commits: str) -> None:
    """The range must name commits of this repository before asv is started on it."""
    proc = subprocess.run(["git", "rev-list", "--max-count=1", commits, "--"], cwd=root, capture_output=True,
                          text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    if proc.returncode != 0:
        raise TorchperfError(f"commit range {commits!r} does not resolve in this repository; "
                             "expected e.g. HEAD~3..HEAD or v1.0..main")
    if not proc.stdout.strip():
        raise TorchperfError(f"commit range {commits!r} holds no commits; expected e.g. HEAD~3..HEAD")

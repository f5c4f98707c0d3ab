"""Step 5 of `torchperf run`: a sidecar beside every results file asv wrote.

The sidecar holds the fingerprint of the environment that made the results (measured by that
environment's own Python) and, per case, what asv has no column for: how disturbed its latest
measurement was and the median of every clean run of this commit and environment. The benchmarks
append one JSON line per timed case to `$TORCHPERF_CASE_LOG` (`benchmarks/common.py`); `run` reads
that log after asv and merges it here.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from torchperf_core.store import Sidecar, SpeedRecord, merge_case_records, sidecar_for, sidecar_path, write_sidecar



def fingerprint_of(python: str, *, timeout: float = 600) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None, str | None]:
    """(fingerprint, kernels, torch version, error) of the environment behind `python`.

    The fingerprint carries the torch version; only where the environment's torchperf_core cannot
    take one (e.g. an older commit of this project) is the version asked of torch on its own, so a
    sidecar records it anyway. Runs from a neutral folder: from the project root, `-m torchperf_core`
    would import the working tree instead of the copy installed in the environment.
    """
    def torch_version() -> str | None:
        try:
            proc = subprocess.run([python, "-c", "import torch; print(torch.__version__)"],
                                  capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 and proc.stdout.strip() else None

    try:
        proc = subprocess.run([python, "-m", "torchperf_core", "env", "--json", "--kernels"],
                              capture_output=True, text=True, timeout=timeout, cwd=tempfile.gettempdir())
    except (OSError, subprocess.SubprocessError) as exc:
        return None, None, torch_version(), f"fingerprint not taken: {exc}"
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return None, None, torch_version(), f"fingerprint not taken (exit {proc.returncode}): {tail[:200]}"
    try:
        report = json.loads(proc.stdout)
    except ValueError as exc:
        return None, None, torch_version(), f"fingerprint output is not JSON: {exc}"
    fingerprint = report.get("fingerprint")
    kernels = report.get("kernels")
    version = (fingerprint.get("torch") or {}).get("version") if isinstance(fingerprint, dict) else None
    return fingerprint, kernels, version or torch_version(), None


CASE_LOG_ENV = "TORCHPERF_CASE_LOG"  # benchmarks/common.py appends one JSON line per timed case


def read_case_log(path: Path) -> list[dict[str, Any]]:
    """The lines the benchmarks appended (a line cut short by a killed benchmark is dropped)."""
    lines = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and "benchmark" in line and "params" in line:
            lines.append(line)
    return lines


def _logged_for(data: Mapping[str, Any], case_log: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The case-log lines of one results file: same asv environment, same commit (when asv said)."""
    env_name, commit = str(data.get("env_name", "")), str(data.get("commit_hash", ""))
    return [line for line in case_log if line.get("env_name") == env_name
            and (not line.get("commit") or str(line["commit"]) == commit)]


def write_sidecars(results_files: Iterable[Path], pythons: Mapping[str, str], *,
                   existing_python: str | None = None, meta_dir: Path | None = None,
                   fingerprint: Callable[[str], tuple[Any, Any, Any, Any]] = fingerprint_of,
                   case_log: Sequence[Mapping[str, Any]] = (), speed: SpeedRecord | None = None) -> list[Path]:
    """One sidecar per results file, fingerprinted by the Python of the environment that made it,
    with the per-case contention and run medians of this run (`case_log`) merged into the ones an
    earlier run of the same commit and environment recorded, and the machine's speed right before this
    measurement (`speed`) after theirs (a record already there is not repeated). `speed` None (the run
    took no noise probes, or did not measure these results) drops the earlier records: none of them
    is the speed of the run whose result the file now holds."""
    written = []
    cache: dict[str, tuple[Any, Any, Any, Any]] = {}
    for path in results_files:
        data = json.loads(path.read_text())
        env_name = str(data.get("env_name", ""))
        python = pythons.get(env_name)
        if python is None and existing_python and env_name.startswith("existing"):
            python = existing_python
        if python is None:
            continue  # not made by this run's environments (e.g. a plain `asv run` elsewhere)
        if python not in cache:
            cache[python] = fingerprint(python)
        fp, kernels, version, error = cache[python]
        previous = sidecar_for(path, meta_dir)  # None when there is none yet
        same = previous is not None and previous.commit_hash == str(data.get("commit_hash", "")) \
            and previous.env_name == env_name
        earlier = previous.cases if same else {}
        # The latest record is the speed of the run that made asv's result: a run that took no probes
        # leaves that unknown, so the earlier runs' records go rather than stand in for it.
        speeds = previous.speed if same and speed is not None else ()
        if speed is not None and speed not in speeds:
            speeds += (speed,)
        sidecar = Sidecar(
            cases=merge_case_records(earlier, _logged_for(data, case_log)),
            speed=speeds,
            results_file=path.name,
            machine=path.parent.name,
            commit_hash=str(data.get("commit_hash", "")),
            env_name=env_name,
            torch_version=version,
            fingerprint=fp,
            kernels=kernels,
            fingerprint_error=error,
        )
        written.append(write_sidecar(sidecar, sidecar_path(path, meta_dir)))
    return written

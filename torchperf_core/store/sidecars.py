"""Fingerprint sidecars: which environment produced an asv results file.

asv's results files have no per-result metadata column, and asv rewrites them (re-runs, `--append`,
`asv rm`), so anything we added inside would be lost. Next to each results file we keep instead

    meta/<machine>/<results file stem>.json

holding the fingerprint of the environment that produced it, measured by that environment's own
Python (its torch, its BLAS, its kernels). `results/` never holds them: asv reads every `*.json` in
there. The sidecar is found from the results file by name alone (`sidecar_for`), so it survives any
rewrite of the results file.

This module does not import torch: compare and publish read sidecars without touching a device.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from torchperf_core.engine import Contention
from torchperf_core.errors import TorchperfError
from torchperf_core.formats import check_format_version

# Sidecar format history:
#   1  format_version, results_file, machine, commit_hash, env_name, torch_version, fingerprint,
#      kernels, fingerprint_error
#   2  + cases: {benchmark: {param key: {threads, contention, run_medians, run_times, contended_runs}}} — what asv cannot
#      store per case: how disturbed its latest measurement was, and the median of every clean
#      `torchperf run` of this commit and environment (the between-run replicates)
#      (issue 12: a case record may also hold "capability", the CPU capability ATen reported in the
#      benchmark process; optional, so format 2 files without it read as before: None)
#      (+ "speed": one SpeedRecord per asv run of `torchperf run` that measured the file, oldest first:
#      the machine's speed on fixed probes right before it; optional, so format 2 files without it read as ())
SIDECAR_FORMAT_VERSION = 2

META_DIR = "meta"


@dataclass(frozen=True)
class Sidecar:
    """The environment behind one asv results file.

    `fingerprint` is the JSON of `torchperf_core.fingerprint.Fingerprint` (`python -m torchperf_core
    env --json` in that environment) and `kernels` the kernel-provenance part of `--kernels`; both are
    kept as JSON here so that reading a sidecar needs neither torch nor the fingerprint module.
    `torch_version` is recorded on its own as well: it is the one field every consumer needs, and it
    is also there when the fingerprint could not be taken (`fingerprint_error` says why).
    """

    results_file: str
    machine: str
    commit_hash: str
    env_name: str
    torch_version: str | None
    fingerprint: Mapping[str, Any] | None
    kernels: Mapping[str, Any] | None = None
    fingerprint_error: str | None = None
    format_version: int = field(default=SIDECAR_FORMAT_VERSION)
    # {benchmark: {param key: {"threads", "contention", "run_medians"}}}; {} for format 1 files
    cases: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    speed: tuple["SpeedRecord", ...] = ()  # one per asv run of `torchperf run` that measured this file, oldest first

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": SIDECAR_FORMAT_VERSION,
            "results_file": self.results_file,
            "machine": self.machine,
            "commit_hash": self.commit_hash,
            "env_name": self.env_name,
            "torch_version": self.torch_version,
            "fingerprint": self.fingerprint,
            "kernels": self.kernels,
            "fingerprint_error": self.fingerprint_error,
            "cases": self.cases,
            "speed": [r.to_json() for r in self.speed],
        }

    @classmethod
    def from_json(cls, data: Any, *, source: str = "") -> "Sidecar":
        """Load a sidecar; another format_version (or a non-object) is refused by the one shared
        check, like every file torchperf writes (`source` names the file)."""
        check_format_version(data, "sidecar", (1, SIDECAR_FORMAT_VERSION), source=source,
                             fix="re-run `torchperf run` to record it")
        where = f"{source}: " if source else ""
        try:
            return cls(
                results_file=str(data["results_file"]),
                machine=str(data["machine"]),
                commit_hash=str(data["commit_hash"]),
                env_name=str(data["env_name"]),
                torch_version=data.get("torch_version"),
                fingerprint=data.get("fingerprint"),
                kernels=data.get("kernels"),
                fingerprint_error=data.get("fingerprint_error"),
                cases=_cases(data.get("cases") or {}, where),
                speed=_speed([] if data.get("speed") is None else data["speed"], where),
            )
        except KeyError as exc:
            raise TorchperfError(f"{where}sidecar lacks the field {exc.args[0]!r}") from None


def sidecar_path(results_file: str | os.PathLike[str], meta_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the sidecar of `results/<machine>/<stem>.json` lives: `meta/<machine>/<stem>.json`.

    `meta_dir` defaults to the `meta` directory next to the results directory (`results/..`).
    """
    results_file = Path(results_file)
    machine = results_file.parent.name
    if meta_dir is None:
        meta_dir = results_file.parent.parent.parent / META_DIR
    return Path(meta_dir) / machine / results_file.name


def load_sidecar(path: str | os.PathLike[str]) -> Sidecar:
    """Read one sidecar file; TorchperfError if it is missing, not JSON, or of another format."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise TorchperfError(f"no sidecar at {path}; re-run `torchperf run` to record it") from None
    except ValueError as exc:
        raise TorchperfError(f"{path}: not a JSON sidecar ({exc})") from None
    return Sidecar.from_json(data, source=str(path))


def sidecar_for(
    results_file: str | os.PathLike[str], meta_dir: str | os.PathLike[str] | None = None
) -> Sidecar | None:
    """The sidecar of an asv results file, or None when none was recorded (e.g. a plain `asv run`)."""
    path = sidecar_path(results_file, meta_dir)
    if not path.exists():
        return None
    return load_sidecar(path)


def write_sidecar(sidecar: Sidecar, path: str | os.PathLike[str]) -> Path:
    """Write atomically: a reader never sees half a sidecar."""
    from torchperf_core.store.meta import write_json

    return write_json(Path(path), sidecar.to_json())


def _cases(data: Any, where: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The `cases` block, checked: every record must be readable as a CaseCondition."""
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise TorchperfError(f"{where}sidecar field 'cases' is not a mapping of benchmarks to parameter sets")
    for name, by_key in data.items():
        for key, record in by_key.items():
            try:
                CaseCondition.from_record(record)
            except (TypeError, ValueError) as exc:
                raise TorchperfError(f"{where}sidecar case {name}{key} is malformed: {exc}") from None
    return data


def _speed(data: Any, where: str) -> tuple["SpeedRecord", ...]:
    if not isinstance(data, list):
        raise TorchperfError(f"{where}sidecar field 'speed' is not a list of speed records")
    try:
        return tuple(SpeedRecord.from_json(r) for r in data)
    except (TypeError, ValueError) as exc:
        raise TorchperfError(f"{where}sidecar speed record is malformed: {exc}") from None


@dataclass(frozen=True)
class SpeedRecord:
    """How fast the machine ran right before `torchperf run` measured one torch version (its start
    for the first version, the probes again before each later one): each noise probe's median time per
    call in each of its runs (fixed ops and sizes, run by torchperf's own torch, `machine.checks.PROBES`;
    run r of every probe is taken before run r+1 of any, so run r of all probes is one moment).

    The code under test does not change these, so when two separately measured sides of a comparison
    differ here beyond what the probes' own runs scatter, the machine itself was faster or slower
    between them (a host at half speed, another tenant on the SMT sibling, a lower clock), and every
    ratio between the sides carries that. `compare` says so (`compare.speed_shift`).
    """

    taken_at: str  # ISO 8601 UTC, the noise report's
    threads: int | None  # the probes' thread count
    torch: str | None  # the torch version that ran the probes (torchperf's own, not the suite's)
    probes: tuple[tuple[str, tuple[float, ...]], ...]  # (probe name, median seconds a call in each run)

    def to_json(self) -> dict[str, Any]:
        return {"taken_at": self.taken_at, "threads": self.threads, "torch": self.torch,
                "probes": {name: list(runs) for name, runs in self.probes}}

    @classmethod
    def from_json(cls, data: Any) -> "SpeedRecord":
        if not isinstance(data, Mapping):
            raise TypeError(f"expected an object, got {type(data).__name__}")
        probes = data.get("probes")
        if not isinstance(probes, Mapping) or not probes or not all(
                isinstance(runs, list) and runs and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
                    for v in runs)
                for runs in probes.values()):
            raise ValueError(f"probes must map probe names to lists of positive seconds, one per run, not {probes!r}")
        threads = data.get("threads")
        if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
            raise ValueError(f"threads must be a positive integer, not {threads!r}")
        torch = data.get("torch")
        return cls(taken_at=str(data.get("taken_at") or ""), threads=threads,
                   torch=str(torch) if torch else None,
                   probes=tuple((str(k), tuple(float(v) for v in runs)) for k, runs in probes.items()))


@dataclass(frozen=True)
class CaseCondition:
    """What `torchperf run` knows about one case beyond asv's result: was it measured undisturbed,
    and what did each separate run of this commit and environment read (its median)."""

    clean: int  # clean samples of the latest measurement
    attempts: int  # samples it took, disturbed ones included
    disturbed_fraction: float
    contended: bool
    cause: str | None
    threads: int | None
    run_medians: tuple[float, ...]  # one per clean run, oldest first; asv's result is the last run
    run_times: tuple[float, ...] = ()  # when each of those runs measured the case (epoch seconds)
    capability: str | None = None  # ATen's CPU capability in the benchmark process ("AVX2"); None: not recorded

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "CaseCondition":
        if not isinstance(record, Mapping):
            raise TypeError(f"expected an object, got {type(record).__name__}")
        raw = record.get("contention")
        contention = Contention.from_json(dict(raw)) if raw else None
        medians = record.get("run_medians") or []
        if not isinstance(medians, list) or not all(
                isinstance(m, (int, float)) and not isinstance(m, bool) and m > 0 for m in medians):
            raise ValueError(f"run_medians must be a list of positive numbers, not {medians!r}")
        times = record.get("run_times") or []
        if not isinstance(times, list) or len(times) not in (0, len(medians)) or not all(
                isinstance(t, (int, float)) and not isinstance(t, bool) for t in times):
            raise ValueError(f"run_times must be a list of numbers, one per run median, not {times!r}")
        threads = record.get("threads")
        if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
            raise ValueError(f"threads must be a positive integer, not {threads!r}")
        capability = record.get("capability")
        if capability is not None and not (isinstance(capability, str) and capability):
            raise ValueError(f"capability must be a non-empty string such as 'AVX2', not {capability!r}")
        return cls(
            clean=contention.clean if contention else 0,
            attempts=contention.attempts if contention else 0,
            disturbed_fraction=contention.disturbed_fraction if contention else 0.0,
            contended=bool(contention and contention.contended),
            cause=contention.cause if contention else None,
            threads=threads,
            run_medians=tuple(float(m) for m in medians),
            run_times=tuple(float(t) for t in times),
            capability=capability,
        )


def case_conditions(results_file: str | os.PathLike[str],
                    meta_dir: str | os.PathLike[str] | None = None) -> dict[tuple[str, str], CaseCondition]:
    """(benchmark, param key) -> CaseCondition for one asv results file; {} when its sidecar is
    missing or predates format 2 (such results are not known to be contended — nor clean)."""
    side = sidecar_for(results_file, meta_dir)
    if side is None:
        return {}
    return {(name, key): CaseCondition.from_record(record)
            for name, by_key in side.cases.items() for key, record in by_key.items()}


def latest_speed(results_file: str | os.PathLike[str],
                 meta_dir: str | os.PathLike[str] | None = None) -> SpeedRecord | None:
    """The machine's speed right before the latest asv run of `torchperf run` that measured this results
    file (the measurement asv's result holds; with `--bench`, of the benchmarks it re-measured); None
    when that run recorded none (no noise probes) or the file has no sidecar."""
    side = sidecar_for(results_file, meta_dir)
    return side.speed[-1] if side is not None and side.speed else None


def merge_case_records(previous: Mapping[str, Mapping[str, Mapping[str, Any]]],
                       logged: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """The `cases` block after one more run: each logged case replaces its contention record and, when
    clean, appends its median to the run medians; cases this run did not measure keep theirs."""
    cases = {name: {key: dict(rec) for key, rec in by_key.items()} for name, by_key in previous.items()}
    for line in logged:
        name, key = str(line["benchmark"]), str(line["params"])
        record = cases.setdefault(name, {}).setdefault(key, {"run_medians": []})
        contention = line.get("contention")
        record["contention"] = contention
        record["threads"] = line.get("threads")
        if line.get("capability") is not None:  # the latest run's; an old log line keeps the previous
            record["capability"] = line["capability"]
        median = line.get("median")
        contended = bool(contention and contention.get("contended"))
        if not contended and isinstance(median, (int, float)) and median > 0 and math.isfinite(median):
            medians = list(record.get("run_medians") or [])
            times = list(record.get("run_times") or [])
            when = line.get("time")
            if isinstance(when, (int, float)) and len(times) == len(medians):
                record["run_times"] = times + [float(when)]
            elif times:  # a run without a time: the times no longer pair with the medians
                record.pop("run_times", None)
            record["run_medians"] = medians + [float(median)]
        elif contended:
            record["contended_runs"] = int(record.get("contended_runs") or 0) + 1
    return cases

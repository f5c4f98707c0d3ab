"""Read an asv results directory through asv's own API, for comparisons.

asv writes `results/<machine>/machine.json`, one `<commit[:8]>-<env name>.json` per commit and
environment, and `results/benchmarks.json` (benchmark metadata, including any JSON-serialisable
function attribute such as a FLOP count). asv's own iterators log and skip a file they cannot read;
a comparison that silently lost half its data would be worse than none, so here a corrupt file or a
file that belongs to another machine is a `TorchperfError` naming the file.

No torch: comparing must work from results alone.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from torchperf_core.errors import TorchperfError

# Requirement keys under which a results file may record the PyTorch version, in the order tried:
# a plain asv matrix entry ("torch"), the explicit pip form, and conda's package name.
TORCH_REQUIREMENT_KEYS = ("torch", "pip+torch", "pytorch", "conda+pytorch")


@dataclass(frozen=True)
class Sample:
    """One benchmark × parameter set in one results file, as asv stored it."""

    value: float | None  # None: the benchmark failed; NaN: it was skipped
    stats: Mapping[str, float] | None  # ci_99_a/b, q_25/q_75, number, repeat
    samples: tuple[float, ...] | None  # raw samples (asv --record-samples), else None
    version: str | None  # the benchmark's `version` (asv refuses to compare across versions)

    @property
    def is_missing(self) -> bool:
        """Failed (None) or skipped (NaN): asv's `_isna`."""
        return self.value is None or self.value != self.value


@dataclass(frozen=True)
class ResultsFile:
    """One asv results file: one commit × one environment on one machine."""

    path: Path
    machine: str
    commit: str
    env_name: str
    torch_version: str | None
    python: str | None
    date: int | None
    run_at: int  # when the run started (ms since the epoch; 0 if unknown): orders same-date commits
    # (benchmark, params) -> Sample; params: tuple of (name, repr value) pairs in asv's order.
    entries: Mapping[tuple[str, tuple[tuple[str, str], ...]], Sample] = field(repr=False)

    @property
    def stem(self) -> str:
        """The name sidecars are keyed by: `meta/<machine>/<stem>.json`."""
        return self.path.stem


def torch_version_of(requirements: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    """The PyTorch version an asv environment pinned, from the results' requirements or params."""
    for source in (requirements, params):
        for key in TORCH_REQUIREMENT_KEYS:
            value = source.get(key) if isinstance(source, Mapping) else None
            if isinstance(value, str) and value:
                return value.lstrip("=")
    return None


def strip_torch_from_env_name(env_name: str, torch_version: str | None) -> str:
    """The environment name without its PyTorch pin, used to pair environments across versions.

    asv builds the name from the requirement key and value (e.g. `virtualenv-py3.11-torch2.13.0`),
    so removing that one component leaves what the two sides must share.
    """
    if not torch_version:
        return env_name
    pattern = r"-(?:pip\+|conda\+)?(?:torch|pytorch)" + re.escape(torch_version) + r"(?=-|$)"
    return re.sub(pattern, "", env_name)


class ResultsStore:
    """An asv results directory: machines, results files and benchmark metadata."""

    def __init__(self, results_dir: Path | str) -> None:
        self.results_dir = Path(results_dir)
        if not self.results_dir.is_dir():
            raise TorchperfError(
                f"no results directory {str(self.results_dir)!r}; run `torchperf run` (or `asv run`) "
                "first, or pass --results-dir"
            )
        self._benchmarks: dict[str, Any] | None = None
        self._files: dict[str, list[ResultsFile]] = {}

    def machines(self) -> list[str]:
        """Machine names with a readable `machine.json`, sorted."""
        # The folder name, as asv itself uses it: a name written inside machine.json ("../x") is
        # never joined to a path, so nothing outside the results folder is ever read.
        return [child.name for child in sorted(self.results_dir.iterdir())
                if child.is_dir() and (child / "machine.json").is_file()]

    def pick_machine(self, name: str | None) -> str:
        machines = self.machines()
        if not machines:
            raise TorchperfError(
                f"no results yet in {str(self.results_dir)!r}; run `torchperf run` (or `asv run`) first"
            )
        if name is None:
            if len(machines) > 1:
                raise TorchperfError(
                    f"results for several machines ({', '.join(machines)}); choose one with --machine"
                )
            return machines[0]
        if name not in machines:
            raise TorchperfError(f"no results for machine {name!r}; machines with results: {', '.join(machines)}")
        return name

    def machine_info(self, machine: str) -> dict[str, Any]:
        """The machine file asv stored next to the results (cpu, arch, and any extra keys)."""
        return _load_json_file(self.results_dir / machine / "machine.json")

    def benchmarks(self) -> dict[str, Any]:
        """`benchmarks.json` (name -> metadata); empty when asv has not written it."""
        if self._benchmarks is None:
            path = self.results_dir / "benchmarks.json"
            self._benchmarks = _load_json_file(path) if path.is_file() else {}
            self._benchmarks.pop("version", None)
        return self._benchmarks

    def files(self, machine: str) -> list[ResultsFile]:
        """Every results file of `machine`, sorted by (commit date, run time, commit, env name)."""
        if machine not in self._files:
            self._files[machine] = sorted(
                self._load_machine(machine), key=lambda f: (f.date or 0, f.run_at, f.commit, f.env_name)
            )
        return self._files[machine]

    def commits(self, machine: str) -> list[str]:
        """Commit hashes with results, oldest first (commit date, then when they were run)."""
        seen: dict[str, None] = {}
        for f in self.files(machine):
            seen.setdefault(f.commit, None)
        return list(seen)

    def _load_machine(self, machine: str) -> Iterator[ResultsFile]:
        directory = self.results_dir / machine
        names = self.benchmarks()
        for path in sorted(directory.glob("*.json")):
            if path.name not in ("machine.json", "benchmarks.json"):
                yield read_results_file(path, machine, names)


def read_results_file(path: Path, machine: str | None = None, benchmarks: Mapping[str, Any] | None = None) -> ResultsFile:
    """One asv results file, read by asv's own loader (the one reader: `ResultsStore` reads every
    file through it, `torchperf run`'s summary the files of one run). `machine` defaults to the
    file's folder, as asv files them; `benchmarks` (benchmarks.json) names the parameters."""
    from asv import util as asv_util
    from asv.results import Results

    machine = machine or path.parent.name
    try:
        result = Results.load(str(path), machine_name=machine)
    except asv_util.UserError as exc:
        if "machine name is not" in str(exc):
            raise TorchperfError(
                f"results file {str(path)!r} is from machine "
                f"{_machine_in_file(path)!r}, not {machine!r}; move it under its own machine "
                "directory"
            ) from None
        raise TorchperfError(f"corrupt results file {str(path)!r}: {asv_reason(exc, path)}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        raise TorchperfError(f"corrupt results file {str(path)!r}: {_short(exc)}") from None
    try:
        return ResultsFile(
            path=path,
            machine=machine,
            commit=str(result.commit_hash),
            env_name=str(result.env_name),
            torch_version=torch_version_of(result._requirements, result.params),  # noqa: SLF001
            python=result.params.get("python"),
            date=result.date if isinstance(result.date, int) else None,
            run_at=max((int(v) for v in result.started_at.values() if v), default=0),
            entries=_entries(result, benchmarks or {}, path),
        )
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise TorchperfError(f"corrupt results file {str(path)!r}: {_short(exc)}") from None


def _entries(result: Any, benchmarks: Mapping[str, Any], path: Path) -> dict:
    """Unroll every parameterized result into (benchmark, params) -> Sample, asv's product order."""
    entries: dict = {}
    for key in sorted(result.get_all_result_keys()):
        try:
            params = result.get_result_params(key) or []
            values = result.get_result_value(key, params)
            stats = result.get_result_stats(key, params)
            samples = result.get_result_samples(key, params)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise TorchperfError(f"corrupt results file {str(path)!r}: benchmark {key!r}: {_short(exc)}") from None
        version = result.benchmark_version.get(key)
        names = benchmarks.get(key, {}).get("param_names") or [f"param{i + 1}" for i in range(len(params))]
        combos = list(itertools.product(*params)) if params else [()]
        if not isinstance(values, list):  # asv < 0.6 stored a bare value for unparameterized ones
            values, stats, samples = [values], [stats], [samples]
        for i, combo in enumerate(combos):
            entries[(key, tuple(zip(names, combo)))] = Sample(
                value=_at(values, i),
                stats=_at(stats, i),
                samples=tuple(_at(samples, i)) if _at(samples, i) is not None else None,
                version=version,
            )
    return entries


def _at(values: Any, i: int) -> Any:
    if values is None:
        return None
    return values[i] if i < len(values) else None


def _load_json_file(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError, RecursionError) as exc:
        raise TorchperfError(f"corrupt results file {str(path)!r}: {_short(exc)}") from None
    if not isinstance(data, dict):
        raise TorchperfError(f"corrupt results file {str(path)!r}: not a JSON object")
    return data


def _machine_in_file(path: Path) -> str:
    try:
        return str(_load_json_file(path).get("params", {}).get("machine"))
    except TorchperfError:
        return "?"


def asv_reason(exc: BaseException, path: Path) -> str:
    """asv's message about a file it could not load, without the file's (absolute) path, which the
    caller names already (e.g. "it is stored in an old file format.  Run `asv update` to update it.").
    """
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for name in sorted({str(path.resolve()), str(path.absolute()), str(path)}, key=len, reverse=True):
        text = text.replace(f" in file '{name}'", "").replace(f"'{name}'", "it").replace(name, "it")
    return text[:300]


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def flops_for(benchmark: Mapping[str, Any], params: tuple[tuple[str, str], ...]) -> float | None:
    """The FLOP count the suite attached to a benchmark for one parameter set, if any."""
    return attribute_for(benchmark, params, ("flops",))


def attribute_for(benchmark: Mapping[str, Any], params: tuple[tuple[str, str], ...],
                  names: tuple[str, ...]) -> float | None:
    """A positive per-parameter-set number the suite attached to a benchmark (`flops`, `bytes_moved`):
    the first of `names` that gives one. One reader for compare and the site, so they agree.

    Accepted shapes of the attribute in benchmarks.json: a number (same for every parameter set), a
    list parallel to asv's parameter product, or a mapping from the parameter values (asv's repr
    strings joined by ", ", with or without parentheses) to a number.
    """
    for name in names:
        value = _attribute_value(benchmark, params, benchmark.get(name))
        if value is not None:
            return value
    return None


def _attribute_value(benchmark: Mapping[str, Any], params: tuple[tuple[str, str], ...], raw: Any) -> float | None:
    values = tuple(v for _, v in params)
    if not all(isinstance(v, str) for v in values):  # asv's reprs; anything else names no parameter set
        return None
    if isinstance(raw, list):
        try:
            combos = list(itertools.product(*(benchmark.get("params") or [])))
            return _positive(raw[combos.index(values)])
        except (ValueError, IndexError, TypeError):
            return None
    if isinstance(raw, dict):
        key = ", ".join(values)
        for candidate in (key, f"({key})", f"({key},)"):
            value = _positive(raw.get(candidate))
            if value is not None:
                return value
        return None
    return _positive(raw)


def _positive(value: Any) -> float | None:
    """A finite number > 0, else None (a bool, NaN or infinity in a hand-edited file is no count)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if 0 < number < float("inf") else None


def resolve_revision(rev: str, repo: Path | None, known_commits: list[str]) -> str:
    """A full commit hash with results for `rev`: git rev-parse in the project repo, else a prefix.

    The prefix fallback lets results be compared where their repository is not checked out (a
    copied results directory, the test fixtures).
    """
    if not rev or rev.startswith("-"):
        raise TorchperfError(f"unknown revision {rev!r}; give a commit, branch or tag")
    if repo is not None:
        try:
            out = subprocess.run(
                ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                capture_output=True, text=True, check=False, timeout=30,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
            )
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    if re.fullmatch(r"[0-9a-fA-F]{4,40}", rev):
        matches = sorted({c for c in known_commits if c.lower().startswith(rev.lower())})
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise TorchperfError(f"revision {rev!r} is ambiguous: {', '.join(m[:12] for m in matches)}")
    where = f" in {str(repo)!r}" if repo is not None else ""
    raise TorchperfError(
        f"unknown revision {rev!r}: not a git revision{where} and no results for a commit starting with it"
    )



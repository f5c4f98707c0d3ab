"""The one reader of asv.conf.json: parsed as asv parses it, checked as asv does not.

asv reads its config with `asv.util.load_json(js_comments=True)` (JSON with `//` comments) and then
copies every key onto its `Config` object without looking at it: a misspelt key (`"results_dri"`)
is silently ignored and its default used. Here the same parser runs, then every key is checked
against the keys asv 0.6.6 documents; an unknown one is a one-line `TorchperfError` naming it and
the closest known key.

Paths are resolved as asv resolves them: asv changes into the config's folder before it runs, so a
relative `results_dir` is relative to the config file. `meta/` (torchperf's sidecars) is always the
`meta` folder of the *project*, the folder of the user's asv.conf.json; the configs torchperf
derives for asv under `.asv/` (`AsvConfig.derived`) carry that folder in `PROJECT_ROOT_KEY`, so a
derived config finds the same `meta/` as the project's own.
"""

from __future__ import annotations

import copy
import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from torchperf_core.errors import TorchperfError
from torchperf_core.store.asv_results import TORCH_REQUIREMENT_KEYS

CONFIG_NAME = "asv.conf.json"
# The keys of asv 0.6.6's config reference (docs/source/asv.conf.json.rst), plus the two that
# asv's own `Config` and config template use without documenting them (`dvcs`, `launch_method`).
ASV_KEYS = frozenset({
    "version", "project", "project_url", "repo", "repo_subdir", "build_command", "install_command",
    "uninstall_command", "branches", "dvcs", "show_commit_url", "pythons", "conda_environment_file",
    "conda_channels", "matrix", "exclude", "include", "benchmark_dir", "environment_type", "env_dir",
    "results_dir", "html_dir", "install_timeout", "default_benchmark_timeout", "hash_length", "plugins",
    "build_cache_size", "regressions_first_commits", "regressions_thresholds", "launch_method",
})  # fmt: skip
ASV_REFERENCE = "https://asv.readthedocs.io/en/v0.6.6/asv.conf.json.html"
# torchperf's one key, written into derived configs: the folder of the user's asv.conf.json (asv
# ignores it). Without it a config under .asv/ would look for sidecars in .asv/meta.
PROJECT_ROOT_KEY = "torchperf_project_root"
KNOWN_KEYS = ASV_KEYS | {PROJECT_ROOT_KEY}
# asv's defaults (asv.config.Config) for the folders torchperf reads or writes.
_DIR_DEFAULTS = {"benchmark_dir": "benchmarks", "env_dir": "env", "results_dir": "results", "html_dir": "html"}
_STRING_KEYS = ("project", "repo", "environment_type", PROJECT_ROOT_KEY, *_DIR_DEFAULTS)
_MATRIX_TYPES = ("req", "env", "env_nobuild")
# The pip form: conda environments then take torch from pip too (conda-forge names it "pytorch").
DERIVED_TORCH_KEY = "pip+torch"


def is_remote(location: str) -> bool:
    """A repository URL (https://, ssh://, git@host:...) rather than a local path."""
    return "://" in location or location.startswith("git@")


@dataclass(frozen=True)
class AsvConfig:
    """An asv config, validated, with every folder resolved to an absolute path.

    `raw` is the parsed file, read-only, for the keys only asv uses (commands, matrix details).
    """

    path: Path  # the config file, absolute
    project_root: Path  # the folder of the user's asv.conf.json (for a derived config: its origin's)
    project: str
    repo: str  # as written: a path relative to the config's folder, or a URL
    branches: tuple[str, ...]  # () when absent: asv then benchmarks the repository's default branch
    environment_type: str | None
    matrix: Mapping[str, Any]
    results_dir: Path
    html_dir: Path
    env_dir: Path
    benchmark_dir: Path
    meta_dir: Path  # always project_root / "meta"
    raw: Mapping[str, Any]

    @property
    def repo_dir(self) -> Path | None:
        """The local repository folder, or None when `repo` is a URL (asv clones it)."""
        return None if is_remote(self.repo) else (self.path.parent / self.repo).resolve()

    @property
    def requirements(self) -> Mapping[str, Any]:
        """The matrix's requirements: `matrix.req`, or the whole matrix in asv's older flat layout."""
        if any(t in self.matrix for t in _MATRIX_TYPES):
            return self.matrix.get("req") or {}
        return self.matrix

    @property
    def torch_requirement(self) -> Any:
        """The matrix's torch entry as written (a list of versions, usually), or None."""
        req = self.requirements
        return next((req[key] for key in TORCH_REQUIREMENT_KEYS if key in req), None)

    def derived(self, torch_versions: Sequence[str] | None = None,
                overrides: Mapping[str, Any] | None = None, *, threads: int | None = None,
                isa: str | None = None) -> dict[str, Any]:
        """This config for asv to read from another folder (e.g. `.asv/`): every local path
        absolute, `PROJECT_ROOT_KEY` set, and with `torch_versions` the matrix's torch entry
        narrowed to them (asv has no command-line switch for a subset of the matrix).

        `threads` adds `THREADS_ENV` to the matrix as an `env_nobuild` variable: asv then files the
        results under their own environment name (a history of their own, e.g. `...-TORCHPERF_THREADS1`)
        while reusing the same built environment, and the benchmarks run at that thread count.
        `isa` ("avx2", "avx512") adds `ISA_ENV` the same way: the same wheel at a forced ATen/oneDNN
        ISA level (`benchmarks/common.py` applies it before torch loads); None or "default" adds
        nothing, so the library's own dispatch keeps the environment's usual name and history."""
        conf = copy.deepcopy(dict(self.raw))
        conf["version"] = 1
        if self.repo_dir is not None:
            conf["repo"] = str(self.repo_dir)
        for key in _DIR_DEFAULTS:
            conf[key] = str(getattr(self, key))
        conf[PROJECT_ROOT_KEY] = str(self.project_root)
        if torch_versions is not None:
            matrix = conf.setdefault("matrix", {})
            req = matrix.setdefault("req", {}) if any(t in matrix for t in _MATRIX_TYPES) or not matrix else matrix
            for key in TORCH_REQUIREMENT_KEYS:
                req.pop(key, None)
            req[DERIVED_TORCH_KEY] = list(torch_versions)
        for variable, value in ((THREADS_ENV, threads), (ISA_ENV, None if isa == "default" else isa)):
            if value is None:
                continue
            matrix = conf.setdefault("matrix", {})
            if matrix and not any(t in matrix for t in _MATRIX_TYPES):  # asv's untyped form: all are req
                matrix = conf["matrix"] = {"req": dict(matrix)}
            matrix.setdefault("env_nobuild", {})[variable] = [str(value)]
        if overrides:
            conf.update(overrides)
        return conf


# The suite's thread-count parameter (read by benchmarks/common.py; unset: torch's default).
THREADS_ENV = "TORCHPERF_THREADS"
# The suite's forced ISA level (`run --isa`; read by benchmarks/common.py; unset: ATen's own dispatch).
ISA_ENV = "TORCHPERF_ISA"


def read_config(path: str | os.PathLike[str] = CONFIG_NAME) -> AsvConfig:
    """Parse, check and resolve the asv config at `path`; a `TorchperfError` for a missing,
    malformed or misspelt one (the message names the file as given and the bad value)."""
    shown = str(path)
    file = Path(path)
    if not file.is_file():
        what = "a folder, not a file" if file.is_dir() else "not found"
        raise TorchperfError(f"no asv config {shown!r} ({what}); run torchperf from the project root "
                             f"or pass --config PATH/{CONFIG_NAME}")
    from asv.util import load_json  # asv's own parser: the `//` comments asv allows

    try:
        data = load_json(str(file), js_comments=True)
    except (ValueError, OSError) as exc:  # json5's parse errors are ValueErrors; UserError is not raised here
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise TorchperfError(f"asv config {shown!r} is not valid JSON (with // comments): {detail}") from None
    if not isinstance(data, dict):
        raise TorchperfError(f"asv config {shown!r} is not a JSON object; expected {{\"version\": 1, ...}}")
    _check_keys(data, shown)
    _check_types(data, shown)
    folder = file.resolve().parent
    root = Path(data.get(PROJECT_ROOT_KEY, "."))
    project_root = (folder / root).resolve()
    dirs = {key: (folder / str(data.get(key, default))).resolve() for key, default in _DIR_DEFAULTS.items()}
    return AsvConfig(
        path=file.resolve(),
        project_root=project_root,
        project=str(data.get("project", "project")),
        repo=str(data.get("repo", ".")),
        branches=tuple(data.get("branches") or ()),
        environment_type=data.get("environment_type"),
        matrix=MappingProxyType(dict(data.get("matrix") or {})),
        meta_dir=project_root / "meta",
        raw=MappingProxyType(data),
        **dirs,
    )


def _check_keys(data: Mapping[str, Any], shown: str) -> None:
    unknown = sorted(k for k in data if k not in KNOWN_KEYS)
    if not unknown:
        return
    described = []
    for key in unknown:
        close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1, cutoff=0.6)
        described.append(f"{key!r} (did you mean {close[0]!r}?)" if close else f"{key!r} (no asv key is close)")
    plural = "s" if len(unknown) > 1 else ""
    raise TorchperfError(f"asv config {shown!r}: unknown key{plural} {', '.join(described)}; asv would ignore "
                         f"it silently (accepted: the keys of {ASV_REFERENCE})")


def _check_types(data: Mapping[str, Any], shown: str) -> None:
    def bad(key: str, expected: str) -> TorchperfError:
        return TorchperfError(f"asv config {shown!r}: {key!r} must be {expected}; got {data[key]!r:.80}")

    for key in _STRING_KEYS:
        if key in data and not (isinstance(data[key], str) and data[key]):
            if key == "environment_type" and data[key] is None:
                continue
            raise bad(key, "a non-empty string")
    branches = data.get("branches")
    if "branches" in data and not (isinstance(branches, list) and all(isinstance(b, str) and b for b in branches)):
        raise bad("branches", 'a list of branch names, e.g. ["main"]')
    if "matrix" in data and not isinstance(data["matrix"], dict):
        raise bad("matrix", 'an object, e.g. {"req": {"pip+torch": ["2.13.0"]}}')

"""What the published pages, the plots and the report notebook show, extracted from files on disk.

The inputs are asv's own results (`results/`, read through asv's loader so that asv's format
versions stay asv's business), torchperf's fingerprint sidecars (`meta/<machine>/<results stem>.json`),
the machine ceilings (`meta/<machine>/calibration.json`) and, after `asv publish`, asv's step-detected
regressions (`html/regressions.json`). Everything here is pure extraction: frozen values in, frozen
values out, no rendering and no printing, so pages, plots and the notebook cannot disagree about a
number.

Significance between two torch versions uses asv's own rule (`asv._stats.is_different`: Mann-Whitney
U with enough raw samples, otherwise non-overlapping 99% CIs) plus a ratio factor, the same rule
`asv compare` and `torchperf compare` apply.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, Mapping, Sequence

from packaging.version import InvalidVersion, Version

from torchperf_core.store import asv_reason
from torchperf_core.errors import TorchperfError

from torchperf_core.machine import DEFAULT_FACTOR  # noqa: E402 - the same default as compare

# Environment variables that may appear on a published page. The fingerprint module records only
# whitelisted variables already; this second filter keeps a hand-edited or older sidecar from
# leaking anything else (tokens, paths of the building machine).
_ENV_PREFIXES = (
    "OMP_", "MKL_", "KMP_", "GOMP_", "ONEDNN_", "DNNL_", "OPENBLAS_", "CUDA_", "CUBLAS_", "CUDNN_",
    "NCCL_", "TORCH_", "PYTORCH_", "NVIDIA_TF32", "ATEN_", "XPU_", "ZE_",
)
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "KEY", "COOKIE")


@dataclass(frozen=True)
class BenchmarkInfo:
    """One asv benchmark as described by `results/benchmarks.json`."""

    name: str
    unit: str
    param_names: tuple[str, ...]
    params: tuple[tuple[str, ...], ...]  # asv stores parameter values as Python reprs
    attributes: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def combinations(self) -> list[tuple[str, ...]]:
        """Parameter combinations in asv's flat-index order (the last parameter varies fastest)."""
        return list(product(*self.params)) if self.params else [()]


@dataclass(frozen=True)
class ResultPoint:
    """One benchmark x parameter set, measured in one environment at one commit on one machine."""

    machine: str
    commit: str
    date: int  # asv's commit date, ms since the epoch
    env_name: str
    results_stem: str  # the results file name without `.json`: keys the fingerprint sidecar
    torch_version: str  # "" when neither asv nor the sidecar recorded it
    benchmark: str
    params: tuple[tuple[str, str], ...]  # (name, asv repr of the value)
    param_index: int  # asv's flat parameter index
    unit: str
    value: float | None  # asv's result: the median for timings
    ci_99: tuple[float, float] | None
    q25: float | None
    q75: float | None
    samples: tuple[float, ...] | None
    flops: float | None
    bytes_moved: float | None

    @property
    def ok(self) -> bool:
        return self.value is not None and math.isfinite(self.value)

    def param(self, name: str) -> str | None:
        """A parameter's display value (quotes of string reprs removed)."""
        for key, value in self.params:
            if key == name:
                return display_value(value)
        return None

    @property
    def param_label(self) -> str:
        return ", ".join(f"{k}={display_value(v)}" for k, v in self.params) or "(no parameters)"

    @property
    def dtype(self) -> str | None:
        return self.param("dtype")

    @property
    def is_time(self) -> bool:
        return self.unit == "seconds"

    @property
    def gflops(self) -> float | None:
        if not (self.ok and self.is_time and self.flops and self.value > 0):
            return None
        return self.flops / self.value / 1e9

    @property
    def gbps(self) -> float | None:
        if not (self.ok and self.is_time and self.bytes_moved and self.value > 0):
            return None
        return self.bytes_moved / self.value / 1e9

    @property
    def intensity(self) -> float | None:
        """Arithmetic intensity, FLOP per byte moved (the roofline's x axis)."""
        if not (self.flops and self.bytes_moved):
            return None
        return self.flops / self.bytes_moved

    def stats(self) -> dict[str, float] | None:
        if self.ci_99 is None:
            return None
        return {"ci_99_a": self.ci_99[0], "ci_99_b": self.ci_99[1]}


@dataclass(frozen=True)
class Environment:
    """One asv results file: an environment (torch version) at a commit, with its fingerprint."""

    machine: str
    commit: str
    date: int
    env_name: str
    results_stem: str
    torch_version: str
    fingerprint: Mapping[str, Any] | None = field(compare=False, hash=False)
    kernels: Mapping[str, Any] | None = field(compare=False, hash=False)


@dataclass(frozen=True)
class Calibration:
    """Machine ceilings from `torchperf calibrate`, read tolerantly (missing parts are None)."""

    machine: str
    device: str
    peak_gflops: Mapping[str, float]  # dtype -> GFLOP/s
    bandwidth_gbps: float | None
    measured_at: str | None = None
    torch_version: str | None = None

    def peak_for(self, dtype: str | None) -> float | None:
        if dtype is None:
            return None
        if dtype == "tf32" and "tf32" not in self.peak_gflops:
            return self.peak_gflops.get("float32")  # as calibrate.Ceilings does
        return self.peak_gflops.get(dtype)

    def fraction_of_peak(self, dtype: str | None, gflops: float | None) -> float | None:
        peak = self.peak_for(dtype)
        return gflops / peak if gflops and peak else None

    def fraction_of_bandwidth(self, gbps: float | None) -> float | None:
        return gbps / self.bandwidth_gbps if gbps and self.bandwidth_gbps else None


@dataclass(frozen=True)
class Change:
    """What happened between two consecutive torch versions for one benchmark and parameter set."""

    ratio: float | None  # new / old value; > 1 is slower for times
    significant: bool | None  # None: the statistics could not be judged (missing CI)
    factor: float

    @property
    def mark(self) -> str:
        """'slower', 'faster', 'same' or 'unknown'."""
        if self.ratio is None or self.significant is None:
            return "unknown"
        if not self.significant:
            return "same"
        if self.ratio > self.factor:
            return "slower"
        if self.ratio < 1 / self.factor:
            return "faster"
        return "same"


@dataclass(frozen=True)
class VersionRow:
    """One benchmark and parameter set across torch versions (ordered by PEP 440)."""

    benchmark: str
    params: tuple[tuple[str, str], ...]
    param_index: int
    versions: tuple[str, ...]
    points: tuple[ResultPoint | None, ...]  # aligned with versions
    changes: tuple[Change | None, ...]  # changes[i]: versions[i] -> versions[i+1]


@dataclass(frozen=True)
class EnvDiff:
    """Fingerprint and kernel differences between two consecutive versions."""

    old: Environment
    new: Environment
    changed: tuple[tuple[str, str, str], ...]  # (key, old value, new value); "" where absent


@dataclass(frozen=True)
class SiteData:
    """Everything the site shows, loaded once."""

    points: tuple[ResultPoint, ...]
    environments: tuple[Environment, ...]
    benchmarks: Mapping[str, BenchmarkInfo]
    calibrations: Mapping[str, Calibration]
    # Files that could not be used (unreadable sidecar or calibration), one line each naming the
    # file: the site is built without them, the files are left as they are.
    problems: tuple[str, ...] = ()

    @property
    def machines(self) -> list[str]:
        return sorted({p.machine for p in self.environments})

    def commits(self, machine: str) -> list[str]:
        """Commits with results on `machine`, oldest first (by asv's commit date)."""
        dates: dict[str, int] = {}
        for env in self.environments:
            if env.machine == machine:
                dates[env.commit] = max(dates.get(env.commit, 0), env.date)
        return sorted(dates, key=lambda c: (dates[c], c))

    def latest_commit(self, machine: str) -> str | None:
        commits = self.commits(machine)
        return commits[-1] if commits else None

    def resolve_commit(self, rev: str) -> str:
        """A full hash from a (prefix of a) commit hash that has results."""
        known = sorted({env.commit for env in self.environments})
        matches = [c for c in known if c.startswith(rev.lower())] if rev else []
        if len(matches) == 1:
            return matches[0]
        shown = ", ".join(c[:8] for c in known) or "none"
        if not matches:
            raise TorchperfError(f"no results for commit {rev!r}; commits with results: {shown}")
        raise TorchperfError(f"commit {rev!r} is ambiguous; commits with results: {shown}")

    def versions(self, machine: str, commit: str) -> list[str]:
        found = {e.torch_version for e in self.environments if e.machine == machine and e.commit == commit}
        return sorted(found, key=version_key)

    def points_at(self, machine: str, commit: str) -> list[ResultPoint]:
        return [p for p in self.points if p.machine == machine and p.commit == commit]


# ----------------------------------------------------------------------------------------------
# Loading


def version_key(version: str) -> tuple[int, Any, str]:
    """PEP 440 order; unparsable or unknown versions go last, alphabetically."""
    try:
        return (0, Version(version), version)
    except InvalidVersion:
        return (1, Version("0"), version)


def display_value(asv_repr: str) -> str:
    """asv stores parameter values as Python reprs ("64", "'float32'"); show them plainly."""
    try:
        value = ast.literal_eval(asv_repr)
    except (ValueError, SyntaxError):
        return asv_repr
    return str(value)


def load_site(results_dir: str | Path, meta_dir: str | Path | None = None) -> SiteData:
    """Read asv results, fingerprint sidecars and calibrations into one `SiteData`.

    `meta_dir` defaults to `meta/` beside `results/`. Raises TorchperfError when there is nothing
    to show (no `benchmarks.json` or no results files), naming the folder.
    """
    results_dir = Path(results_dir)
    meta = Path(meta_dir) if meta_dir is not None else results_dir.parent / "meta"
    benchmarks_file = results_dir / "benchmarks.json"
    if not benchmarks_file.is_file():
        raise TorchperfError(
            f"no asv results in {str(results_dir)!r} (benchmarks.json is missing); run `torchperf run` first"
        )
    benchmarks = _load_benchmarks(benchmarks_file)

    from asv.results import Results  # asv's loader knows its own format versions

    points: list[ResultPoint] = []
    environments: list[Environment] = []
    problems: list[str] = []
    for machine_dir in sorted(p for p in results_dir.iterdir() if p.is_dir()):
        for path in sorted(machine_dir.glob("*.json")):
            if path.name == "machine.json":
                continue
            try:
                results = Results.load(str(path))
                machine = str(results.params.get("machine", machine_dir.name))
            except Exception as exc:  # asv raises its own util.UserError for a broken file
                raise TorchperfError(f"unreadable asv results file {str(path)!r}: {asv_reason(exc, path)}") from None
            sidecar = _read_sidecar(meta / machine_dir.name / f"{path.stem}.json", problems)
            try:
                env, env_points = _environment(results, path, machine, sidecar, benchmarks)
            except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
                # asv's loader checks the format version and layout, not every value's type
                raise TorchperfError(f"unreadable asv results file {str(path)!r}: {type(exc).__name__}: {exc}"[:400]) from None
            environments.append(env)
            points.extend(env_points)

    if not environments:
        raise TorchperfError(f"no asv results files under {str(results_dir)!r}; run `torchperf run` first")

    calibrations = {}
    for machine in sorted({e.machine for e in environments}):
        cal_path = meta / machine / "calibration.json"
        cal = load_calibration(cal_path, machine)
        if cal is not None:
            calibrations[machine] = cal
        elif cal_path.exists():
            problems.append(f"{cal_path}: unusable calibration file (no readable peak GFLOP/s or bandwidth); "
                            "left as is, efficiency not shown; re-run `torchperf calibrate`")
    return SiteData(tuple(points), tuple(environments), benchmarks, calibrations, tuple(problems))


def _environment(results: Any, path: Path, machine: str, sidecar: Any,
                 benchmarks: Mapping[str, BenchmarkInfo]) -> tuple[Environment, list[ResultPoint]]:
    fingerprint = sidecar.get("fingerprint") if isinstance(sidecar, dict) else None
    kernels = sidecar.get("kernels") if isinstance(sidecar, dict) else None
    torch_version = _torch_version(results, fingerprint)
    if not torch_version and isinstance(sidecar, dict) and sidecar.get("torch_version"):
        torch_version = str(sidecar["torch_version"])
    if not isinstance(results.commit_hash, str) or not isinstance(results.env_name, str):
        raise ValueError("commit_hash and env_name must be strings")
    env = Environment(
        machine=machine,
        commit=results.commit_hash,
        date=int(results.date or 0),
        env_name=results.env_name,
        results_stem=path.stem,
        torch_version=torch_version,
        fingerprint=fingerprint if isinstance(fingerprint, dict) else None,
        kernels=kernels if isinstance(kernels, dict) else None,
    )
    return env, _points(results, env, benchmarks)


def _read_sidecar(path: Path, problems: list[str]) -> dict | None:
    """A fingerprint sidecar as JSON, or None; an unreadable one is named in `problems`."""
    if not path.exists():
        return None
    from torchperf_core.store import SIDECAR_FORMAT_VERSION

    raw = _read_json(path)
    if not isinstance(raw, dict):
        problems.append(f"{path}: unreadable fingerprint sidecar (not a JSON object); left as is, fingerprint not shown")
        return None
    if raw.get("format_version") != SIDECAR_FORMAT_VERSION:
        problems.append(f"{path}: sidecar format_version {raw.get('format_version')!r} not supported (this torchperf "
                        f"reads {SIDECAR_FORMAT_VERSION}); left as is, fingerprint not shown")
        return None
    return raw


def _load_benchmarks(path: Path) -> dict[str, BenchmarkInfo]:
    try:
        with open(path, encoding="utf-8") as fh:
            raw = json.load(fh)
    except (OSError, ValueError, RecursionError) as exc:
        raise TorchperfError(f"unreadable asv benchmarks file {str(path)!r}: {str(exc)[:200]}; "
                             "re-run `torchperf run` (or `asv run`) to rewrite it") from None
    if not isinstance(raw, dict):
        raise TorchperfError(f"unreadable asv benchmarks file {str(path)!r}: not a JSON object; "
                             "re-run `torchperf run` (or `asv run`) to rewrite it")
    out = {}
    for name, info in raw.items():
        if not isinstance(info, dict) or "name" not in info:
            continue  # the "version" key
        out[name] = BenchmarkInfo(
            name=name,
            unit=str(info.get("unit", "")),
            param_names=tuple(str(n) for n in info.get("param_names", [])),
            params=tuple(tuple(str(v) for v in values) for values in info.get("params", [])),
            attributes=info,
        )
    return out


def _torch_version(results: Any, fingerprint: Any) -> str:
    """The pinned torch version: asv's matrix value (`torch`, `pip+torch`, `conda+torch`), else the
    fingerprint's (environments asv does not build, e.g. `existing`, record no requirement)."""
    for source in (getattr(results, "params", {}), getattr(results, "_requirements", {}) or {}):
        if not isinstance(source, dict):
            continue
        for key, value in source.items():
            if key.rsplit("+", 1)[-1] == "torch" and value:
                return str(value).lstrip("=")
    if isinstance(fingerprint, dict):
        for key in ("torch_version", "torch"):
            value = fingerprint.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict) and isinstance(value.get("version"), str):
                return value["version"]
    return ""


def _points(results: Any, env: Environment, benchmarks: Mapping[str, BenchmarkInfo]) -> list[ResultPoint]:
    out = []
    # asv drops results whose benchmark `version` no longer matches benchmarks.json
    for key in results.get_result_keys({k: dict(b.attributes) for k, b in benchmarks.items()}):
        info = benchmarks[key]
        params = [list(p) for p in info.params]
        values = results.get_result_value(key, params)
        stats = results.get_result_stats(key, params)
        samples = results.get_result_samples(key, params)
        for index, combo in enumerate(info.combinations()):
            value = values[index] if index < len(values) else None
            st = stats[index] if stats and index < len(stats) else None
            sm = samples[index] if samples and index < len(samples) else None
            ci = None
            if isinstance(st, dict) and "ci_99_a" in st and "ci_99_b" in st:
                ci = (float(st["ci_99_a"]), float(st["ci_99_b"]))
            out.append(
                ResultPoint(
                    machine=env.machine,
                    commit=env.commit,
                    date=env.date,
                    env_name=env.env_name,
                    results_stem=env.results_stem,
                    torch_version=env.torch_version,
                    benchmark=key,
                    params=tuple(zip(info.param_names, combo)),
                    param_index=index,
                    unit=info.unit,
                    value=_finite(value),
                    ci_99=ci,
                    q25=_finite(st.get("q_25")) if isinstance(st, dict) else None,
                    q75=_finite(st.get("q_75")) if isinstance(st, dict) else None,
                    samples=tuple(float(x) for x in sm) if sm else None,
                    flops=_attribute_for(info, ("flops",), combo, index),
                    bytes_moved=_attribute_for(info, ("bytes_moved", "bytes"), combo, index),
                )
            )
    return out


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _attribute_for(info: BenchmarkInfo, names: Sequence[str], combo: tuple[str, ...], index: int) -> float | None:
    """A per-parameter-set number stored as a benchmark attribute in `benchmarks.json`.

    Accepted shapes: one number for every parameter set; a list in asv's flat parameter order; a
    dict keyed by the parameter tuple's repr (`"(64, 'float32')"`), by the asv reprs joined with
    ", ", or (one parameter) by the single repr.
    """
    for name in names:
        raw = info.attributes.get(name)
        if raw is None:
            continue
        if isinstance(raw, (int, float)):
            return _finite(raw)
        if isinstance(raw, list) and index < len(raw):
            return _finite(raw[index])
        if isinstance(raw, dict):
            for key in _combo_keys(combo):
                if key in raw:
                    return _finite(raw[key])
    return None


def _combo_keys(combo: tuple[str, ...]) -> list[str]:
    joined = ", ".join(combo)
    keys = [f"({joined})", joined]
    if len(combo) == 1:
        keys.append(f"({combo[0]},)")
    try:
        keys.append(repr(tuple(ast.literal_eval(v) for v in combo)))
    except (ValueError, SyntaxError):
        pass
    return keys


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError, RecursionError):
        return None


def load_calibration(path: str | Path, machine: str) -> Calibration | None:
    """Machine ceilings from `calibration.json`, or None when absent or unusable.

    Tolerant on purpose: a missing dtype or bandwidth leaves that fraction blank on the pages
    rather than failing the whole publish.
    """
    raw = _read_json(Path(path))
    if not isinstance(raw, dict):
        return None
    peaks_raw = raw.get("peak_gflops")
    peaks = {}
    if isinstance(peaks_raw, dict):
        for dtype, value in peaks_raw.items():
            if isinstance(value, dict):  # tolerate {"float32": {"gflops": ...}}
                value = value.get("gflops", value.get("value"))
            number = _finite(value)
            if number and number > 0:
                peaks[str(dtype)] = number
    bandwidth = raw.get("bandwidth_gbps")
    if isinstance(bandwidth, dict):
        bandwidth = bandwidth.get("gbps", bandwidth.get("value"))
    bandwidth = _finite(bandwidth)
    if not peaks and not bandwidth:
        return None
    return Calibration(
        machine=str(raw.get("machine", machine)),
        device=str(raw.get("device", "")),
        peak_gflops=peaks,
        bandwidth_gbps=bandwidth if bandwidth and bandwidth > 0 else None,
        measured_at=str(raw["measured_at"]) if raw.get("measured_at") else None,
        torch_version=str(raw["torch_version"]) if raw.get("torch_version") else None,
    )


# ----------------------------------------------------------------------------------------------
# Across versions


def change_between(old: ResultPoint | None, new: ResultPoint | None, factor: float = DEFAULT_FACTOR) -> Change | None:
    """asv's significance rule between two results, plus the ratio factor."""
    if old is None or new is None or not old.ok or not new.ok or old.value == 0:
        return None
    ratio = new.value / old.value
    stats_old, stats_new = old.stats(), new.stats()
    if stats_old is None or stats_new is None:
        return Change(ratio=ratio, significant=None, factor=factor)
    from asv._stats import is_different

    different = is_different(
        list(old.samples) if old.samples else None,
        list(new.samples) if new.samples else None,
        stats_old,
        stats_new,
    )
    return Change(ratio=ratio, significant=bool(different), factor=factor)


def version_rows(data: SiteData, machine: str, commit: str, factor: float = DEFAULT_FACTOR) -> list[VersionRow]:
    """Per benchmark and parameter set at one commit: each torch version's point, in PEP 440 order."""
    versions = data.versions(machine, commit)
    grouped: dict[tuple[str, int], dict[str, ResultPoint]] = {}
    params_of: dict[tuple[str, int], tuple[tuple[str, str], ...]] = {}
    for point in data.points_at(machine, commit):
        key = (point.benchmark, point.param_index)
        grouped.setdefault(key, {})[point.torch_version] = point
        params_of[key] = point.params
    rows = []
    for key in sorted(grouped):
        by_version = grouped[key]
        if not any(p.ok for p in by_version.values()):
            continue
        points = tuple(by_version.get(v) for v in versions)
        changes = tuple(change_between(a, b, factor) for a, b in zip(points, points[1:]))
        rows.append(VersionRow(key[0], params_of[key], key[1], tuple(versions), points, changes))
    return rows


# ----------------------------------------------------------------------------------------------
# Environments


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested dicts/lists as dotted keys with string values (for tables and diffs)."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, item in enumerate(value):  # e.g. loaded libraries: name them, not number them
            name = item.get("internal_api") or item.get("filename") or item.get("name") or i
            out.update(flatten(item, f"{prefix}[{name}]"))
    elif isinstance(value, list):
        out[prefix] = ", ".join(str(v) for v in value)
    else:
        out[prefix] = "" if value is None else str(value)
    return out


def publishable_fingerprint(env: Environment) -> dict[str, str]:
    """The fingerprint as flat key -> value, minus environment variables not on the whitelist."""
    flat = flatten(env.fingerprint or {})
    return {k: v for k, v in flat.items() if _publishable_key(k)}


def _publishable_key(key: str) -> bool:
    parts = re.split(r"[.\[]", key)
    if len(parts) >= 2 and parts[0].lower() in ("env", "env_vars", "environ", "environment", "environment_variables"):
        name = parts[1].upper()
        if any(word in name for word in _SECRET_WORDS):
            return False
        return name.startswith(_ENV_PREFIXES)
    return True


def kernel_table(env: Environment) -> dict[str, str]:
    """op/dtype -> the backend kernel(s) that ran (verbose log lines left out: they hold timings)."""
    out = {}
    for key, entry in sorted((env.kernels or {}).items()):
        if isinstance(entry, dict) and "backends" in entry:
            backends = entry.get("backends") or []
            text = ", ".join(str(b) for b in backends) if isinstance(backends, list) else str(backends)
            if entry.get("is_reference"):
                text += " (reference implementation)"
            if entry.get("note"):
                text += f" [{entry['note']}]"
            out[str(key)] = text or "(not seen)"
        elif isinstance(entry, dict):
            out.update(flatten({k: v for k, v in entry.items() if k != "raw_lines"}, str(key)))
        else:
            out[str(key)] = "" if entry is None else str(entry)
    return out


def environment_diffs(data: SiteData, machine: str, commit: str) -> list[EnvDiff]:
    """What changed between consecutive torch versions' fingerprints and kernels at one commit."""
    envs = sorted(
        (e for e in data.environments if e.machine == machine and e.commit == commit),
        key=lambda e: version_key(e.torch_version),
    )
    diffs = []
    for old, new in zip(envs, envs[1:]):
        a = {**publishable_fingerprint(old), **{f"kernels.{k}": v for k, v in kernel_table(old).items()}}
        b = {**publishable_fingerprint(new), **{f"kernels.{k}": v for k, v in kernel_table(new).items()}}
        changed = tuple(
            (key, a.get(key, ""), b.get(key, "")) for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)
        )
        diffs.append(EnvDiff(old, new, changed))
    return diffs

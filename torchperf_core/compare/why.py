"""The "why" under a comparison: fingerprint and kernel differences, from the sidecars.

Each asv results file has a sidecar (`meta/<machine>/<results file stem>.json`, see `sidecar`) with
the fingerprint of the environment that produced it and the backend kernels it ran. Two sides are
diffed field by field (`fingerprint.diff_fingerprints`); a difference in a key field (BLAS/oneDNN
version, threads, precision flags, CPU) is flagged as making the timings not directly comparable,
except the fields a torch-version comparison changes by design. For every op that changed
significantly, the kernels of each side are shown where they differ: a move to oneDNN's reference
implementation (`ref:any`) is the classic explanation of a catastrophic slowdown (pytorch#193951).

No torch: only JSON is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from torchperf_core.store import ResultsFile
from torchperf_core.errors import TorchperfError

Params = tuple[tuple[str, str], ...]

# The verdicts whose rows get a kernel explanation (same strings as compare's SLOWER/FASTER).
_CHANGED = ("slower", "faster")


@dataclass(frozen=True)
class KernelChange:
    """The backend kernels of one op on each side, for an op that changed significantly."""

    kernel: str  # kernel key, "mm/bfloat16"
    benchmarks: tuple[str, ...]  # row names that use it
    before: tuple[str, ...]
    after: tuple[str, ...]
    before_reference: bool
    after_reference: bool


@dataclass(frozen=True)
class EnvDiff:
    """What differs between the environments of the two sides (from their fingerprint sidecars)."""

    env: str
    fields: tuple[tuple[str, str, str, bool], ...]  # (path, before, after, is a key field)
    warnings: tuple[str, ...]  # comparability warnings (key fields)
    missing: tuple[str, ...]  # "path (why)" for each side whose fingerprint is unavailable


def _sidecar(meta_dir: Path, f: ResultsFile) -> tuple[Path, Any]:
    """(path, Sidecar or None) of one results file."""
    from torchperf_core.store import sidecar_for, sidecar_path

    return sidecar_path(f.path, meta_dir), sidecar_for(f.path, meta_dir)


def _fingerprint(sidecar: Any, path: Path) -> Any:
    from torchperf_core.env import Fingerprint

    if sidecar is None or not sidecar.fingerprint:
        return None
    try:
        return Fingerprint.from_json(sidecar.fingerprint)
    except TorchperfError as exc:
        raise TorchperfError(f"sidecar {str(path)!r}: {exc}") from None


def _kernels(sidecar: Any, path: Path) -> dict[str, Any]:
    from torchperf_core.env import KernelInfo

    raw = (sidecar.kernels if sidecar is not None else None) or {}
    if not isinstance(raw, Mapping):
        raise TorchperfError(f"sidecar {str(path)!r}: 'kernels' must be an object")
    out = {}
    for key, value in raw.items():
        try:
            out[str(key)] = KernelInfo.from_json(value)
        except TorchperfError as exc:
            raise TorchperfError(f"sidecar {str(path)!r}: {exc}") from None
    return out


# Fingerprint fields that differ by design when torch versions are compared: not warned about.
_EXPECTED_IN_TORCH_MODE = ("torch.version", "torch.git_version")


def env_diff(
    env: str, before: ResultsFile, after: ResultsFile, meta_dir: Path, mode: str = "commits"
) -> tuple[EnvDiff, Any, Any, dict[str, Any], dict[str, Any]]:
    """The fingerprint difference of two results files' environments, both fingerprints and both
    kernel tables."""
    from torchperf_core.env import diff_fingerprints, is_key_field

    pb, sb = _sidecar(meta_dir, before)
    pa, sa = _sidecar(meta_dir, after)
    fb, fa = _fingerprint(sb, pb), _fingerprint(sa, pa)
    kb, ka = _kernels(sb, pb), _kernels(sa, pa)
    missing = tuple(
        f"{_display(p)} ({'no sidecar' if sc is None else (sc.fingerprint_error or 'no fingerprint in sidecar')})"
        for p, sc, fp in ((pb, sb, fb), (pa, sa, fa))
        if fp is None
    )
    if fb is None or fa is None:
        return EnvDiff(env, (), (), missing), fb, fa, kb, ka
    fields = []
    warnings = []
    for d in diff_fingerprints(fb, fa):
        key = is_key_field(d.path) and not (mode == "torch" and d.path in _EXPECTED_IN_TORCH_MODE)
        fields.append((d.path, d.before, d.after, key))
        if key:
            warnings.append(f"{d.path} differs ({d.before} -> {d.after}): timings are not directly comparable")
    return EnvDiff(env, tuple(fields), tuple(warnings), missing), fb, fa, kb, ka


def _display(path: Path) -> str:
    """A path as the user wrote it, made relative to the working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def kernel_keys_for(benchmark: str, params: Params, meta: Mapping[str, Any], kernels: Iterable[str]) -> list[str]:
    """Kernel keys ("op/dtype") a benchmark row used: by its `op`/`dtype` params or attributes.

    The op is a parameter named "op", else a benchmark attribute `op`, else the method name after
    its asv prefix (`time_mm` -> "mm"); the dtype is the "dtype" parameter or attribute. Without a
    dtype, every recorded dtype of the op is taken. `x_backward` falls back to the kernels of `x`.
    """
    values = {k: v.strip("'\"") for k, v in params}
    op = values.get("op") or meta.get("op") or benchmark.rsplit(".", 1)[-1].split("_", 1)[-1]
    dtype = values.get("dtype") or meta.get("dtype")
    keys = list(kernels)
    # A backward op runs the forward op's kernels (GEMMs for linear/matmul): use them when the
    # backward itself was not probed.
    for name in (op, op[: -len("_backward")] if op.endswith("_backward") else None):
        if not name:
            continue
        found = [k for k in keys if k == f"{name}/{dtype}"] if dtype else [k for k in keys if k.split("/", 1)[0] == name]
        if found:
            return found
    return []


def kernel_changes(
    rows: Sequence[Any],
    kernels_before: Mapping[str, Mapping[str, Any]],
    kernels_after: Mapping[str, Mapping[str, Any]],
    benchmarks: Mapping[str, Any],
) -> tuple[KernelChange, ...]:
    """For every op that changed significantly, its kernels on each side where they differ.

    `kernels_before/after` map an environment key to that side's kernel records.
    """
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.verdict not in _CHANGED:
            continue
        kb, ka = kernels_before.get(row.env, {}), kernels_after.get(row.env, {})
        meta = benchmarks.get(row.benchmark, {})
        for key in kernel_keys_for(row.benchmark, row.params, meta, list(kb) + [k for k in ka if k not in kb]):
            b, a = kb.get(key), ka.get(key)
            bb = tuple(b.backends) if b is not None else ()
            aa = tuple(a.backends) if a is not None else ()
            if bb == aa:
                continue
            entry = found.setdefault(
                key,
                {"benchmarks": [], "before": bb, "after": aa,
                 "br": bool(b is not None and b.is_reference), "ar": bool(a is not None and a.is_reference)},
            )  # fmt: skip
            if row.name not in entry["benchmarks"]:
                entry["benchmarks"].append(row.name)
    return tuple(
        KernelChange(k, tuple(v["benchmarks"]), v["before"], v["after"], v["br"], v["ar"])
        for k, v in sorted(found.items())
    )

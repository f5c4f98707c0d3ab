"""The "why" under a comparison: fingerprint and kernel differences, from the sidecars.

Each asv results file has a sidecar (`meta/<machine>/<results file stem>.json`, see `sidecar`) with
the fingerprint of the environment that produced it and the backend kernels it ran. Two sides are
diffed field by field (`fingerprint.diff_fingerprints`); a difference in a key field (BLAS/oneDNN
version, threads, precision flags, CPU) is flagged as making the timings not directly comparable,
except the fields a torch-version comparison changes by design. For every op that changed
significantly, the kernels of each side are shown where they differ: a move to oneDNN's reference
implementation (`ref:any`) is the classic explanation of a catastrophic slowdown (pytorch#193951).
Where the same case was also run at forced ISA levels (`torchperf run --isa avx2`: environments
that differ only by `-TORCHPERF_ISA<level>`), `isa_findings` says whether a change is one level's
kernel, dispatch (the default level moved to another kernel), or the op itself (docs/ISA.md).

No torch: only JSON is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from torchperf_core.engine import ISA_LEVELS
from torchperf_core.store import ISA_ENV, ResultsFile
from torchperf_core.verdict import ONLY_AFTER, ONLY_BEFORE, SAME
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


# --------------------------------------------------------------------------------------------------
# The ISA axis: the same case at several forced ATen/oneDNN levels (`torchperf run --isa LEVEL`).

# The levels in the order they are shown: the engine's one list (what `run --isa` accepts), so a level
# added there is recognised here; an environment without the variable is "default" (the library's
# own dispatch). The engine door is below compare and imports no torch.
ISA_ORDER = ISA_LEVELS
_ISA_RE = re.compile(rf"-{ISA_ENV}({'|'.join(ISA_ORDER)})(?=-|$)")

# Conclusions (IsaFinding.conclusion).
ISA_KERNEL = "kernel"  # one level changed: that level's kernel
ISA_DISPATCH = "dispatch"  # the default moved with the capability it runs at; a forced level did not
ISA_OP = "op"  # every level changed alike: the op itself, whatever kernel runs it


def isa_level_of(env: str) -> tuple[str, str]:
    """(the environment name without its ISA part, the level): "...-TORCHPERF_ISAavx2" ->
    ("...", "avx2"); an environment without the variable is the library's own dispatch, "default"."""
    match = _ISA_RE.search(env)
    if match is None:
        return env, "default"
    return env[: match.start()] + env[match.end():], match.group(1)


@dataclass(frozen=True)
class IsaLevel:
    """One level of one case: the row's ratio and verdict (asv's rule via `compare`'s pairing),
    and the capability ATen reported in the benchmark process on each side (None: not recorded)."""

    level: str
    env: str
    ratio: float | None
    verdict: str
    capability_before: str | None
    capability_after: str | None


@dataclass(frozen=True)
class IsaFinding:
    """A changed case seen at more than one ISA level, and what that says about the change.

    `conclusion` is ISA_KERNEL (`levels_changed` holds the one level), ISA_DISPATCH (`now_runs`: the
    capability the default level runs at after, `ran` before), ISA_OP, or None with `undecided`
    saying why no conclusion is drawn (a level missing on one side, undecided, or a mixed picture)."""

    benchmark: str
    params: Params
    env: str  # without the ISA part
    direction: str  # SLOWER or FASTER: the decided change that made the case worth a line
    levels: tuple[IsaLevel, ...]  # in ISA_ORDER
    conclusion: str | None
    levels_changed: tuple[str, ...] = ()
    now_runs: str | None = None
    ran: str | None = None
    undecided: str | None = None

    @property
    def name(self) -> str:
        return f"{self.benchmark}({', '.join(v for _, v in self.params)})" if self.params else self.benchmark


def isa_findings(
    rows: Sequence[Any],
    conditions_before: Mapping[tuple[str, str, str], Any],
    conditions_after: Mapping[tuple[str, str, str], Any],
) -> tuple[IsaFinding, ...]:
    """For every case present at more than one ISA level with a decided slower/faster verdict at
    one of them, each level's ratio and the conclusion (pure; the verdicts are the rows', i.e. the
    verdict module's; `conditions_*` are the sidecars' case records keyed (benchmark, param key, env)).

    The rules, in order (a level "changed" when its verdict is slower/faster, "held" when same):
    - a level with a result on one side only, or undecided (unknown, contended, failed…): no
      conclusion — one missing level must not make a wrong one;
    - the default changed, a forced level held, and the capability the default ran at differs
      between the sides: dispatch — the default now runs another kernel;
    - every level changed, the same way: the op itself;
    - exactly one level changed: that level's kernel (for the default, only when its capability is
      recorded on both sides and the same: otherwise it could be dispatch);
    - anything else (two of three, opposite directions): no conclusion.
    """
    groups: dict[tuple[str, Params, str], dict[str, Any]] = {}
    for row in rows:
        base, level = isa_level_of(row.env)
        groups.setdefault((row.benchmark, row.params, base), {})[level] = row
    out = []
    for (benchmark, params, base), by_level in sorted(groups.items()):
        if len(by_level) < 2:
            continue
        directions = [by_level[lv].verdict for lv in ISA_ORDER if lv in by_level and by_level[lv].verdict in _CHANGED]
        if not directions:
            continue
        key = "(" + ", ".join(v for _k, v in params) + ")"
        levels = []
        for lv in ISA_ORDER:
            if lv not in by_level:
                continue
            row = by_level[lv]
            cb = conditions_before.get((benchmark, key, row.env))
            ca = conditions_after.get((benchmark, key, row.env))
            levels.append(IsaLevel(lv, row.env, row.ratio, row.verdict,
                                   getattr(cb, "capability", None), getattr(ca, "capability", None)))
        out.append(_conclude(benchmark, params, base, directions[0], tuple(levels)))
    return tuple(out)


def _conclude(benchmark: str, params: Params, env: str, direction: str, levels: tuple[IsaLevel, ...]) -> IsaFinding:
    finding = IsaFinding(benchmark, params, env, direction, levels, None)
    missing = [lv.level for lv in levels if lv.verdict in (ONLY_BEFORE, ONLY_AFTER)]
    if missing:
        return replace(finding, undecided=f"{', '.join(missing)} measured on one side only")
    undecided = [f"{lv.level} {lv.verdict}" for lv in levels if lv.verdict not in (*_CHANGED, SAME)]
    if undecided:
        return replace(finding, undecided=f"{', '.join(undecided)}")
    changed = tuple(lv.level for lv in levels if lv.verdict in _CHANGED)
    held = [lv.level for lv in levels if lv.verdict == SAME]
    default = next((lv for lv in levels if lv.level == "default"), None)
    moved_kernel = (default is not None and default.capability_before is not None
                    and default.capability_after is not None and default.capability_before != default.capability_after)
    if len({lv.verdict for lv in levels if lv.level in changed}) > 1:
        return replace(finding, levels_changed=changed, undecided="slower at one level, faster at another")
    if default is not None and "default" in changed and held and moved_kernel:
        return replace(finding, conclusion=ISA_DISPATCH, levels_changed=changed,
                       now_runs=default.capability_after, ran=default.capability_before)
    if not held:
        return replace(finding, conclusion=ISA_OP, levels_changed=changed)
    if len(changed) == 1:
        if changed == ("default",) and (default is None or default.capability_before is None
                                        or default.capability_after is None):
            return replace(finding, levels_changed=changed,
                           undecided="the default's capability is not recorded on both sides (dispatch or kernel?)")
        return replace(finding, conclusion=ISA_KERNEL, levels_changed=changed)
    return replace(finding, levels_changed=changed, undecided=f"changed at {', '.join(changed)} but not at {', '.join(held)}")

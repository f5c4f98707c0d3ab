"""The environment behind each results file: its fingerprint and kernels as flat tables, and what
changed between consecutive torch releases at one commit.

What reaches a page is filtered here: environment variables only from a whitelist of prefixes and
never with a secret-looking name, even if a hand-edited or older sidecar holds them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from torchperf_core.site.data import Environment, SiteData, version_key

# Environment variables that may appear on a published page. The fingerprint module records only
# whitelisted variables already; this second filter keeps a hand-edited or older sidecar from
# leaking anything else (tokens, paths of the building machine).
_ENV_PREFIXES = (
    "OMP_", "MKL_", "KMP_", "GOMP_", "ONEDNN_", "DNNL_", "OPENBLAS_", "CUDA_", "CUBLAS_", "CUDNN_",
    "NCCL_", "TORCH_", "PYTORCH_", "NVIDIA_TF32", "ATEN_", "XPU_", "ZE_",
)
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "KEY", "COOKIE")


@dataclass(frozen=True)
class EnvDiff:
    """Fingerprint and kernel differences between two consecutive versions."""

    old: Environment
    new: Environment
    changed: tuple[tuple[str, str, str], ...]  # (key, old value, new value); "" where absent


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

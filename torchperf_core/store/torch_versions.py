"""The one torch-version rule: what release a results file measured, and how a user names one.

A release is a plain PEP 440 version padded to three parts ("2.13" and "2.13.0" are one release).
The local part of a build ("+cpu", "+cu130") is its *flavour*, never a different version: torch
2.13.0 from an `existing` interpreter (`2.13.0+cpu` in the sidecar) and from an asv environment
(`2.13.0` in the matrix) are one column, one side, one key everywhere.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from torchperf_core.errors import TorchperfError

_RELEASE_RE = re.compile(r"^\d+(\.\d+){1,2}$")


def parse_torch_version(text: str) -> str:
    """A plain PyTorch release as a user gives it ("2.13" -> "2.13.0"); anything else is refused."""
    from packaging.version import InvalidVersion, Version

    value = str(text).strip()
    try:
        version = Version(value)
    except InvalidVersion:
        raise TorchperfError(f"torch version {text!r} is not a PEP 440 version; expected a release like 2.13.0") from None
    if not _RELEASE_RE.match(value) or version.is_prerelease or version.is_postrelease or version.local or version.epoch:
        raise TorchperfError(f"torch version {text!r} is not a plain release; expected a release like 2.13.0")
    # "2.13" and "2.13.0" pin the same wheel (PEP 440 pads with zeros); one spelling keeps one
    # environment and one results key per release.
    return ".".join(str(p) for p in (version.release + (0, 0))[:3])


def parse_torch_versions(values: Iterable[str]) -> tuple[str, ...]:
    """Several releases, each parsed once, duplicates dropped, oldest first."""
    out: list[str] = []
    for value in values:
        version = parse_torch_version(value)
        if version not in out:
            out.append(version)
    if not out:
        raise TorchperfError("no torch version given; expected releases like 2.13.0 2.14.1")
    return tuple(sorted(out, key=version_key))


def release_of(recorded: str | None) -> str | None:
    """The release a recorded version string names: "==2.13.0" / "2.13.0+cpu" / "2.13" -> "2.13.0".

    A string that is not a plain release (a nightly "2.15.0.dev20260101", say) is kept as written,
    minus its flavour, so it still sorts and shows as itself.
    """
    if not recorded:
        return None
    text = str(recorded).strip().lstrip("=").strip()
    base = text.split("+", 1)[0]
    if not base:
        return None
    try:
        return parse_torch_version(base)
    except TorchperfError:
        return base


def flavour_of(recorded: str | None) -> str | None:
    """The build flavour of a recorded version: "2.13.0+cpu" -> "cpu"; None without a local part."""
    if not recorded or "+" not in str(recorded):
        return None
    return str(recorded).split("+", 1)[1] or None


def version_key(version: str) -> tuple[int, Any, str]:
    """PEP 440 order of releases; unparsable versions go last, alphabetically."""
    from packaging.version import InvalidVersion, Version

    try:
        return (0, Version(version), version)
    except InvalidVersion:
        return (1, Version("0"), version)


def torch_version_for(results_file: Any, meta_dir: Path) -> str | None:
    """The torch release of an asv results file: asv's requirement pin, else the sidecar's record.

    asv `existing` environments record no requirement versions; `torchperf run --existing` puts the
    version in the sidecar instead ("2.13.0+cpu": the release is 2.13.0, the flavour cpu).
    """
    if results_file.torch_version:
        return release_of(results_file.torch_version)
    from torchperf_core.store.sidecars import sidecar_for

    sidecar = sidecar_for(results_file.path, meta_dir)
    if sidecar is None or not sidecar.torch_version:
        return None
    return release_of(sidecar.torch_version)

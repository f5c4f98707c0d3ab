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
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from torchperf_core.errors import TorchperfError
from torchperf_core.formats import check_format_version

# Sidecar format history:
#   1  format_version, results_file, machine, commit_hash, env_name, torch_version, fingerprint,
#      kernels, fingerprint_error
SIDECAR_FORMAT_VERSION = 1

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
        }

    @classmethod
    def from_json(cls, data: Any, *, source: str = "") -> "Sidecar":
        """Load a sidecar; another format_version (or a non-object) is refused by the one shared
        check, like every file torchperf writes (`source` names the file)."""
        check_format_version(data, "sidecar", SIDECAR_FORMAT_VERSION, source=source,
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

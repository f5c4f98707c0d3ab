"""Where torchperf keeps per-machine sidecar files: `meta/<machine>/<name>.json`.

Never inside `results/`: asv reads every `*.json` there. The machine name is the one asv uses, so
the sidecars sit next to the results they describe; the host name appears only as that directory
name (as it does in asv's own `results/<machine>/`), never inside a file.
"""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
from pathlib import Path
from typing import Any

from torchperf_core.errors import TorchperfError

BLAS_REPORT_PREFIX = "blas-"
_VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]*")


def default_machine_name() -> str:
    """asv's default machine name: the network name of this host (`platform.node()`)."""
    return platform.node() or "unknown"


def meta_path(filename: str, machine: str | None = None, meta_dir: str | os.PathLike[str] = "meta") -> Path:
    name = machine or default_machine_name()
    if not name or "/" in name or name in (".", ".."):
        raise TorchperfError(f"bad machine name {name!r}; expected a plain name such as 'ci-box'")
    return Path(meta_dir) / name / filename


def blas_report_path(machine: str | None, torch_version: str,
                     meta_dir: str | os.PathLike[str] = "meta") -> Path:
    """`meta/<machine>/blas-<torch version>.json`: one BLAS side-by-side report per torch build, so
    a new torch does not overwrite the figures of the last one."""
    if not _VERSION_RE.fullmatch(torch_version):
        raise TorchperfError(f"bad torch version {torch_version!r} for a file name; expected e.g. '2.13.0+cpu'")
    return meta_path(f"{BLAS_REPORT_PREFIX}{torch_version}.json", machine, meta_dir)


def blas_report_files(machine: str, meta_dir: str | os.PathLike[str] = "meta") -> list[Path]:
    """Every saved BLAS report of `machine`, by file name ([] for none or a name that is not plain)."""
    try:
        folder = meta_path("x", machine, meta_dir).parent
    except TorchperfError:
        return []
    return sorted(folder.glob(f"{BLAS_REPORT_PREFIX}*.json"))


def write_text(path: Path, text: str) -> Path:
    """Write `text` atomically: a reader never sees half a file, and a failed write leaves the old one whole. The
    file keeps its mode, or a new one gets the mode `open` would give it (not the temporary file's 0600). UTF-8,
    and the text's line endings as they are. (The umask is read by setting it back at once: the project starts no
    threads that create files meanwhile.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            os.fchmod(f.fileno(), mode)
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def write_json(path: Path, data: Any, indent: int = 2, sort_keys: bool = False) -> Path:
    """Write `data` as JSON atomically (`write_text`)."""
    return write_text(path, json.dumps(data, indent=indent, sort_keys=sort_keys) + "\n")

"""Where torchperf keeps per-machine sidecar files: `meta/<machine>/<name>.json`.

Never inside `results/`: asv reads every `*.json` there. The machine name is the one asv uses, so
the sidecars sit next to the results they describe; the host name appears only as that directory
name (as it does in asv's own `results/<machine>/`), never inside a file.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from torchperf_core.errors import TorchperfError


def default_machine_name() -> str:
    """asv's default machine name: the network name of this host (`platform.node()`)."""
    return platform.node() or "unknown"


def meta_path(filename: str, machine: str | None = None, meta_dir: str | os.PathLike[str] = "meta") -> Path:
    name = machine or default_machine_name()
    if not name or "/" in name or name in (".", ".."):
        raise TorchperfError(f"bad machine name {name!r}; expected a plain name such as 'ci-box'")
    return Path(meta_dir) / name / filename


def write_json(path: Path, data: Any) -> Path:
    """Write `data` as JSON atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path

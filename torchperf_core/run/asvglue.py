"""asv plumbing for `torchperf run`: machine registration, the derived config, environments.

Kept apart from the job itself (`suite.py`) because each piece works around one asv behaviour:
- `asv machine --yes --machine NAME` records only the name (asv 0.6.6 fills in defaults only when
  no field is given), so the entry is completed here, with hardware keys that asv copies into
  every results file and that `asv publish` offers as selectors;
- asv has no command-line switch to narrow the matrix, and resolves paths against the config's
  folder: `write_run_config` writes a copy with the chosen torch versions and absolute paths
  (`AsvConfig.derived`, beside the one config reader);
- asv has no public way to map an environment name to its interpreter: `environment_pythons`.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from torchperf_core.errors import TorchperfError
from torchperf_core.store import CONFIG_NAME, read_config, write_json

RUN_CONFIG = Path(".asv") / "torchperf-run.conf.json"
# Hardware keys added to asv's machine entry.
HARDWARE_KEYS = ("cpu", "gpu", "gpu_driver", "cuda")


def run_checked(cmd: list[str], **kwargs: Any) -> None:
    """Run a short asv command quietly; its output is shown only when it fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
        raise TorchperfError(f"{' '.join(cmd[2:5])} failed (exit {proc.returncode}): {tail}")


def hardware_keys(nvidia_smi: str = "nvidia-smi") -> dict[str, str]:
    """CPU model, GPU name or "none", GPU driver and the driver's CUDA version ("none" without a GPU).

    Read from /proc and `nvidia-smi`, not from torch: the machine is the same whichever torch a
    benchmark environment holds.
    """
    from torchperf_core.env import cpu_model  # noqa: PLC0415

    keys = {"cpu": cpu_model(), "gpu": "none", "gpu_driver": "none", "cuda": "none"}
    exe = shutil.which(nvidia_smi)
    if exe is None:
        return keys
    try:
        query = subprocess.run(
            [exe, "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30,
        )
        header = subprocess.run([exe], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return keys
    lines = [line.strip() for line in query.stdout.splitlines() if line.strip()]
    if query.returncode != 0 or not lines:
        return keys
    names, drivers = [], []
    for line in lines:
        name, _, driver = line.partition(",")
        names.append(name.strip())
        drivers.append(driver.strip())
    count = {n: names.count(n) for n in names}
    keys["gpu"] = " + ".join(f"{c}x {n}" if c > 1 else n for n, c in count.items())
    keys["gpu_driver"] = drivers[0] or "unknown"
    m = re.search(r"CUDA Version:\s*([\d.]+)", header.stdout)
    keys["cuda"] = m.group(1) if m else "unknown"
    return keys


def machine_file() -> Path:
    return Path(os.path.expanduser("~")) / ".asv-machine.json"


def register_machine(machine: str | None, *, extra: Mapping[str, str] | None = None,
                     runner: Callable[[list[str]], None] | None = None, config: Path | None = None) -> str:
    """`asv machine --yes` (non-interactive), then complete the entry and add the hardware keys.

    asv 0.6.6 quirk: `asv machine --yes --machine NAME` records only the name (defaults are filled
    in only when no field is given), so asv's own defaults (os, arch, cpu, num_cpu, ram) are added
    here for the keys it left out. Returns the machine name (asv's default is the host name).
    `config`: the asv config asv loads first (default: asv.conf.json of the current folder).
    """
    run = runner or run_checked
    cmd = [sys.executable, "-m", "asv", *(["--config", str(config)] if config else []), "machine", "--yes"]
    if machine:
        cmd += ["--machine", machine]
    run(cmd)
    path = machine_file()
    data = json.loads(path.read_text())
    name = machine or platform.node()  # what `asv machine --yes` names this host
    if name not in data:
        raise TorchperfError(f"asv machine did not register {name!r} in {path}")
    from asv.machine import Machine

    entry = data[name]
    for key, value in Machine.get_defaults().items():
        if key != "machine":
            entry.setdefault(key, value)
    entry.update(hardware_keys() if extra is None else extra)
    write_json(path, data, indent=4, sort_keys=True)  # as asv writes it
    return name


def write_run_config(root: Path, versions: Sequence[str] | None, *, path: Path | None = None,
                     overrides: Mapping[str, Any] | None = None, config: Path | None = None,
                     threads: int | None = None, isa: str | None = None) -> Path:
    """The project's asv config (`config`, default `root/asv.conf.json`) derived for asv to read
    from `path` (default `.asv/torchperf-run.conf.json`): paths absolute, the project root recorded
    for `meta/`, and with `versions` the torch matrix narrowed to them (None keeps the matrix);
    `threads` runs the suite at that thread count, `isa` at that forced ISA level, each filed as its
    own environment (`AsvConfig.derived`)."""
    conf = read_config(config or root / CONFIG_NAME).derived(versions, overrides, threads=threads, isa=isa)
    out = path or (root / RUN_CONFIG)
    return write_json(out, conf)


# ---------------------------------------------------------------------------------------------
# 4. Running asv


def environment_pythons(config: Path) -> dict[str, str]:
    """asv environment name -> its Python, for every environment of the (derived) config."""
    from asv import environment
    from asv.config import Config

    conf = Config.load(str(config))
    out = {}
    for env in environment.get_environments(conf, None, verbose=False):
        out[env.name] = os.path.join(env._path, "bin", "python")  # noqa: SLF001 - asv has no public path
    return out

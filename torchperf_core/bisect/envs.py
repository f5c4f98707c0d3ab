"""One environment per release, built once and cached under the bisect folder (`.asv/bisect/`).

Layout (why: a virtualenv per release costs a pip bootstrap each; one base virtualenv per Python plus
a `pip install --target` folder per release costs one install each, and a release's folder holds
that release and its dependencies only)::

    envs/base-py3.11/                 virtualenv, created once per Python (virtualenv, --no-download)
    envs/<package>-<version>-py3.11-<index>/site/   `pip install --target` of that release
    envs/<...>/install.json           outcome: python used, download sizes, or why it failed
    lib/torchperf_core -> this checkout's package (the worker's engine), lib/benchmarks -> the suite

A release the suite already has an asv environment for (`torchperf run --torch X` built it: same
matrix, same install, asv's own cache under `env_dir`) is measured there instead, found by asv's own
environment naming and completeness check (`suite_environment`): no second multi-GB install.

A worker runs as `base python worker.py` with PYTHONPATH=site:lib, so every release is measured by
the same engine: this torchperf, not the one each environment would have installed (asv installs the
project `--no-deps` for the same reason: the matrix decides the rest).

What a release needs: a Python it has wheels for (the configured Pythons first, then any `python3.X`
on PATH, newest first, tried in turn when pip says no wheel fits); for torch the asv matrix's other
requirements (numpy, packaging, threadpoolctl, ...; read from asv.conf.json by the store's one
config reader, spelt by asv's own parser) and `numpy<2` before torch 2.3 (built against NumPy 1).
A release pip cannot install is recorded with pip's last error line and skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from torchperf_core.bisect.releases import IndexOptions
from torchperf_core.errors import TorchperfError
from torchperf_core.store import AsvConfig, write_json

Progress = Callable[..., None]

_DOWNLOAD_RE = re.compile(r"Downloading (\S+) \(([\d.]+ [kMG]?B)\)")
# pip's words for "no file of this release fits this Python": try the next Python.
_WRONG_PYTHON = ("requires a different python", "no matching distribution found", "requires-python")
# Names the release's `--target` folder to the worker, which processes its .pth files (PYTHONPATH
# alone does not: a dependency that relies on one would be half-installed).
SITE_ENV = "TORCHPERF_BISECT_SITE"


@dataclass(frozen=True)
class Environment:
    """A release's installed environment: the interpreter and the folders to put on its path."""

    version: str
    python: str  # base virtualenv's interpreter, or the suite's asv environment's
    python_version: str  # "3.11"
    site: Path
    lib: Path
    downloads: tuple[str, ...] = ()  # "torch-2.12.0-....whl (887.1 MB)" as pip reported them

    def pythonpath(self) -> str:
        return os.pathsep.join([str(self.site), str(self.lib)])

    def environ(self, base: Mapping[str, str]) -> dict[str, str]:
        """The worker's environment: this release's folders first on the path, nothing inherited that
        would put another Python's packages in front of them."""
        env = {k: v for k, v in base.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
        env["PYTHONPATH"] = self.pythonpath()
        env[SITE_ENV] = str(self.site)
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # the lib is this checkout: leave no caches in it
        return env


@dataclass(frozen=True)
class Skipped:
    version: str
    reason: str


def download_of(line: str) -> tuple[str, str] | None:
    """(file, size) from pip's "Downloading torch-2.12.0-...whl (887.1 MB)" line, else None."""
    m = _DOWNLOAD_RE.search(line)
    return (m.group(1), m.group(2)) if m else None


def python_version_of(python: str) -> str | None:
    try:
        proc = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def candidate_pythons(configured: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(version, executable) of the Pythons to try, configured ones first, then newest first."""
    found: dict[str, str] = {}
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for v in [*configured, mine]:
        exe = sys.executable if v == mine else shutil.which(f"python{v}")
        if exe and v not in found:
            found[v] = exe
    for minor in range(20, 7, -1):
        v = f"3.{minor}"
        exe = shutil.which(f"python{v}")
        if exe and v not in found:
            found[v] = exe
    return list(found.items())


# What torchperf_core needs at run time inside a measured environment, spelt as asv.conf.json's matrix
# spells it (a test holds the project's matrix to it): the requirements of a bisection run outside a
# project, where there is no matrix to read.
RUNTIME_MATRIX: Mapping[str, list[str]] = {"numpy": [""], "packaging": [""], "threadpoolctl": [""]}


def torch_requirements(version: str, matrix: Mapping[str, Any]) -> list[str]:
    """torch==X plus the suite matrix's other requirements, spelt as asv spells them, with `numpy<2`
    added for torch older than 2.3 (built against NumPy 1).

    The matrix's keys that name torch are the store's (`TORCH_REQUIREMENT_KEYS`); a value becomes a
    pip requirement through asv's own declaration parser (`asv.util.ParsedPipDeclaration`, as asv's
    virtualenv environments install it: "1.26.4" -> "==1.26.4", "==0.3.2" kept, "" -> any). Like
    `torchperf run` with one torch release, the first value of a list is the one used.
    """
    from asv.util import ParsedPipDeclaration
    from packaging.version import Version

    from torchperf_core.store import TORCH_REQUIREMENT_KEYS

    old = Version(version) < Version("2.3")
    reqs = [f"torch=={version}"]
    for key, values in matrix.items():
        name = key[4:] if key.startswith("pip+") else key
        if key in TORCH_REQUIREMENT_KEYS or name in TORCH_REQUIREMENT_KEYS:
            continue
        value = (values[0] if isinstance(values, list) and values else values) or ""
        parsed = ParsedPipDeclaration(f"{name} {value}")
        spec = parsed.specification or ""
        if parsed.pkgname == "numpy" and old:
            spec = ",".join(x for x in (spec, "<2") if x)
        reqs.append(f"{parsed.pkgname}{spec}")
    if old and not any(r.startswith("numpy") for r in reqs):
        reqs.append("numpy<2")
    return reqs


def suite_environment(config: AsvConfig, version: str) -> tuple[str, str] | None:
    """(Python version, interpreter) of the asv environment `torchperf run --torch VERSION` built for
    this release, when asv finds it complete; else None.

    Why: the suite's environments are the same release under the same matrix, and each torch one is
    GBs; asv's own naming (the config narrowed to the release, `AsvConfig.derived`, as `torchperf
    run` derives it) and asv's own completeness check (`check_presence`) decide, so bisect finds
    exactly the folder `run` would reuse and never a half-built one.
    """
    from asv import environment, util
    from asv.config import Config

    try:
        conf = Config.from_json(config.derived([version]))
        envs = list(environment.get_environments(conf, None, verbose=False))
    except (util.UserError, OSError, ValueError):
        return None  # e.g. a conda config without conda here: bisect builds its own environment
    for env in envs:
        if env.tool_name in ("virtualenv", "conda", "rattler", "uv") and env.check_presence():
            return str(env.python), os.path.join(env._path, "bin", "python")  # noqa: SLF001 - no public path
    return None


class EnvironmentCache:
    """Builds and remembers release environments under `root`."""

    def __init__(self, root: Path, package: str, index: IndexOptions, *, pythons: Sequence[tuple[str, str]],
                 extras: Callable[[str], list[str]] | None = None, benchmark_dir: Path | None = None,
                 suite: Callable[[str], tuple[str, str] | None] | None = None) -> None:
        self.root = root
        self.package = package
        self.index = index
        self.pythons = list(pythons)
        self.extras = extras
        self.benchmark_dir = benchmark_dir
        self.suite = suite  # release -> (Python version, interpreter) of the suite's built environment

    def lib(self) -> Path:
        """The folder that gives every worker this checkout's torchperf_core (and the suite)."""
        import torchperf_core

        lib = self.root / "lib"
        lib.mkdir(parents=True, exist_ok=True)
        links = {"torchperf_core": Path(torchperf_core.__file__).resolve().parent}
        if self.benchmark_dir is not None:
            links["benchmarks"] = self.benchmark_dir.resolve()
        for name, target in links.items():
            link = lib / name
            if link.is_symlink() and link.resolve() == target:
                continue
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(target, target_is_directory=True)
        return lib

    def base(self, python_version: str, python: str) -> str:
        env = self.root / "envs" / f"base-py{python_version}"
        exe = env / "bin" / "python"
        if not exe.exists():
            cmd = [sys.executable, "-m", "virtualenv", "--quiet", "--no-download", "--no-periodic-update",
                   "-p", python, str(env)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                raise TorchperfError(f"cannot create a Python {python_version} virtualenv: {tail[:200]}")
        return str(exe)

    def requirements(self, version: str) -> list[str]:
        return self.extras(version) if self.extras else [f"{self.package}=={version}"]

    def _folder(self, version: str, python_version: str) -> Path:
        return self.root / "envs" / f"{self.package}-{version}-py{python_version}-{self.index.key()}"

    def cached_failure(self, version: str) -> str | None:
        """The recorded reason a release could not be installed, from an earlier run."""
        marker = self.root / "envs" / f"{self.package}-{version}-{self.index.key()}.failed.json"
        if marker.exists():
            return str(json.loads(marker.read_text()).get("reason", "install failed"))
        return None

    def ensure(self, version: str, progress: Progress) -> Environment | Skipped:
        """The release's environment: the suite's own when `torchperf run` built it, else built now or
        found in this cache; a Skipped with pip's reason."""
        found = self.suite(version) if self.suite is not None else None
        if found is not None:
            python_version, python = found
            # Nothing of its own to add: an empty first path entry, so the lib (this checkout's
            # torchperf_core) still comes before the copy asv installed into that environment.
            site = self.root / "envs" / f"suite-{self.package}-{version}"
            site.mkdir(parents=True, exist_ok=True)
            progress("reuse", version=version, python=f"{python_version}, the suite's asv environment "
                                                        f"{Path(python).parent.parent}")
            return Environment(version, python, python_version, site, self.lib())
        failure = self.cached_failure(version)
        if failure is not None:
            return Skipped(version, failure)
        lib = self.lib()
        reasons = []
        for python_version, python in self.pythons:
            folder = self._folder(version, python_version)
            marker = folder / "install.json"
            base = self.base(python_version, python)
            if marker.exists():
                info = json.loads(marker.read_text())
                progress("reuse", version=version, python=python_version)
                return Environment(version, base, python_version, folder / "site", lib, tuple(info.get("downloads", ())))
            progress("install", version=version, python=python_version)
            shutil.rmtree(folder, ignore_errors=True)  # an install cut short (Ctrl-C) left no marker
            ok, downloads, reason = self._install(base, folder / "site", version, progress)
            if ok:
                write_json(marker, {"python": python_version, "downloads": downloads})  # whole or absent: a kill leaves none
                return Environment(version, base, python_version, folder / "site", lib, tuple(downloads))
            shutil.rmtree(folder, ignore_errors=True)
            reasons.append(f"Python {python_version}: {reason}")
            if not any(w in reason.lower() for w in _WRONG_PYTHON):
                break  # a broken release, not a Python mismatch: another Python will not help
        reason = "; ".join(reasons) or "no Python found to install it with"
        marker = self.root / "envs" / f"{self.package}-{version}-{self.index.key()}.failed.json"
        write_json(marker, {"reason": reason})
        return Skipped(version, reason)

    def _install(self, python: str, site: Path, version: str, progress: Progress) -> tuple[bool, list[str], str]:
        site.parent.mkdir(parents=True, exist_ok=True)
        cmd = [python, "-m", "pip", "install", "--progress-bar", "off", "--no-input", "--target", str(site),
               *self.index.pip_args(), *self.requirements(version)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        downloads: list[str] = []
        errors: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            got = download_of(line)
            if got:
                downloads.append(f"{got[0]} ({got[1]})")
                progress("download", version=version, file=got[0], size=got[1])
            if line.startswith("ERROR:"):
                errors.append(line[len("ERROR:"):].strip())
        rc = proc.wait()
        if rc == 0:
            return True, downloads, ""
        return False, downloads, (errors[-1] if errors else f"pip exited {rc}")[:300]

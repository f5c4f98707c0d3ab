"""`pip install torchperf-core` (no extras) into a fresh virtualenv gives a CLI whose commands work.

The dev environment cannot answer this: it has every test tool installed, so a runtime dependency
missing from [project.dependencies] would go unnoticed there. The venv here is created without
system site packages and filled offline, only from a wheelhouse (`--no-index --find-links`, pip's
own configuration ignored), so nothing leaks in from the machine. Make the wheelhouse once, where
the package index is reachable, and point TORCHPERF_WHEELHOUSE at it:

    pip download -d WHEELHOUSE torch==2.13.0 'setuptools>=77' .
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.site_build import make_project, site_fixture

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = os.environ.get("TORCHPERF_WHEELHOUSE")

pytestmark = pytest.mark.slow


def _source_copy(dest: Path) -> Path:
    """What a wheel is built from, copied: building in the checkout would leave build/ there, whose
    stale files (modules since moved) setuptools would package into the next wheel."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "torchperf_core", dest / "torchperf_core", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _clean_env(venv: Path) -> dict[str, str]:
    """Only the venv and the system tools (git for asv publish) on PATH; no pip configuration."""
    return {"HOME": str(venv.parent), "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "PIP_CONFIG_FILE": os.devnull,
            "LANG": "C.UTF-8"}


@pytest.mark.skipif(not WHEELHOUSE, reason="set TORCHPERF_WHEELHOUSE (see this module's docstring)")
def test_plain_install_publishes_and_compares(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = _clean_env(venv)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-index", "--find-links", str(WHEELHOUSE),
                          "torch==2.13.0", str(_source_copy(tmp_path / "src"))],
                         capture_output=True, text=True, env=env, timeout=900)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    python = str(venv / "bin" / "python")
    # The venv sees its own copy of torchperf_core and none of the dev tools.
    probe = subprocess.run([python, "-c", "import importlib.util as u, torchperf_core as t; "
                            "print(t.__file__); print(u.find_spec('pytest') is None)"],
                           cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert probe.returncode == 0, probe.stderr
    where, no_pytest = probe.stdout.split()
    assert where.startswith(str(venv)) and no_pytest == "True", probe.stdout

    project = make_project(tmp_path / "project", site_fixture()).parent
    torchperf = str(venv / "bin" / "torchperf")
    publish = subprocess.run([torchperf, "publish", "--config", "asv.conf.json"], cwd=project, capture_output=True,
                             text=True, env=env, timeout=600)
    assert publish.returncode == 0, publish.stdout + publish.stderr
    assert publish.stdout.splitlines()[0] == "published 4 pages and 10 figures"
    assert (project / "html" / "index.html").is_file()

    compare = subprocess.run([torchperf, "compare", "--torch", "2.13.0", "2.14.1"], cwd=project,
                             capture_output=True, text=True, env=env, timeout=600)
    assert compare.returncode == 0, compare.stdout + compare.stderr
    assert compare.stdout.splitlines()[1] == "3 faster, 4 unchanged"
    assert "Traceback" not in compare.stderr + publish.stderr

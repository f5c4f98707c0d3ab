"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def env_dir(tmp_path_factory: pytest.TempPathFactory):
    """asv environments shared by every real-run test of the session: each torch version is
    installed once. Set TORCHPERF_TEST_ENV_DIR to a folder to keep them between sessions."""
    keep = os.environ.get("TORCHPERF_TEST_ENV_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        yield Path(keep)
        return
    path = tmp_path_factory.mktemp("asv-env")
    yield path
    shutil.rmtree(path, ignore_errors=True)  # ~6 GB; pytest would keep it for three sessions

"""scripts/tub_vs_engine.py refuses bad input in one line (its figures are taken on a quiet machine,
with the suite's torch environments built, not here)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "tub_vs_engine.py"


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_bad_case_and_rounds_are_one_line_exit_2() -> None:
    proc = _run("--cases", "layer_norm 1024", "foo x")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "tub_vs_engine: error: case 'foo x' is not 'op size [dtype]' (e.g. 'layer_norm 1024')\n"
    proc = _run("--rounds", "0")
    assert (proc.returncode, proc.stderr) == (2, "tub_vs_engine: error: --rounds 0 is not a positive integer\n")


def test_a_release_without_its_environment_is_named(tmp_path: Path) -> None:
    """No asv environment built under the config's env_dir: the error names what is missing and what
    exists, before any process is timed."""
    shutil.copy(ROOT / "asv.conf.json", tmp_path / "asv.conf.json")
    (tmp_path / "benchmarks").mkdir()
    proc = _run("--config", str(tmp_path / "asv.conf.json"), "--torch", "2.13.0", "2.14.1")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == ("tub_vs_engine: error: no asv environment with torch 2.13.0, 2.14.1; built: none "
                           "(run `torchperf run --torch ...` first)\n")

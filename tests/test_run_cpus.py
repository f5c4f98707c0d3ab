"""`torchperf run --cpus` really pins the benchmark processes: a real asv run (existing
environment: this interpreter, no builds), whose fingerprint sidecar reads the affinity back."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from scripts._snapshot import snapshot_checkout as copy_project

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_run_cpus_pins_benchmarks_and_records_it(tmp_path):
    cpu = max(os.sched_getaffinity(0))
    repo = copy_project(tmp_path / "project")
    home = tmp_path / "home"
    home.mkdir()
    r = subprocess.run(
        [sys.executable, "-m", "torchperf_core", "run", "--no-machine-checks", "--existing", "--cpus", str(cpu), "--bench", "Sum",
         "--tier", "smoke", "--no-publish", "--machine", "pinned-box"],
        cwd=repo, env=dict(os.environ, HOME=str(home)), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    (sidecar,) = (repo / "meta" / "pinned-box").glob("*-existing-*.json")
    threads = json.loads(sidecar.read_text())["fingerprint"]["threads"]
    assert threads["cpu_affinity"] == str(cpu)
    assert threads["torch_num_threads"] == 1  # one thread per pinned CPU, not all cores

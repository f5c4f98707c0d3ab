"""The project lock, with real processes."""

import subprocess
import sys
import textwrap

import pytest

from torchperf_core.errors import TorchperfError
from torchperf_core.run.lock import project_lock

HOLD = textwrap.dedent("""
    import sys, time
    from torchperf_core.run.lock import project_lock
    from pathlib import Path
    with project_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
        Path(sys.argv[1], "releasing").touch()  # still holding the lock
""")


def _holder(tmp_path, seconds):
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_second_run_refused_with_the_holder_named(tmp_path):
    p = _holder(tmp_path, 30)
    try:
        with pytest.raises(TorchperfError) as info:
            with project_lock(tmp_path):
                pass
        assert f"pid {p.pid}" in str(info.value) and "--wait" in str(info.value)
    finally:
        p.kill()
        p.wait()


def test_second_run_waits_when_asked(tmp_path):
    p = _holder(tmp_path, 1.0)
    with project_lock(tmp_path, wait=30):
        # Got only once the holder had finished: the marker it writes just before releasing is there.
        assert (tmp_path / "releasing").exists()
    p.wait()


def test_sigkilled_holder_leaves_no_stale_lock(tmp_path):
    p = _holder(tmp_path, 60)
    p.kill()
    p.wait()
    with project_lock(tmp_path):
        pass

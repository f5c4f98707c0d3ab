"""asv as a child that stops when `torchperf run` stops (torchperf_core/run/child.py), with real processes
and real signals: a stop that lands while the child starts does not orphan it, and a stop takes the
child's whole tree, so that nothing writes after torchperf's last line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from torchperf_core.errors import Terminated
from torchperf_core.run import child

# A child that starts a grandchild (as asv starts its benchmark process); both print a line every 50 ms
# for a minute, the grandchild's pid first.
TREE = textwrap.dedent("""
    import subprocess, sys, time
    kid = subprocess.Popen([sys.executable, "-c",
                            "import time\\nfor i in range(1200):\\n    print('grandchild', flush=True); time.sleep(0.05)"])
    print("grandchild pid", kid.pid, flush=True)
    for i in range(1200):
        print("child", flush=True)
        time.sleep(0.05)
""")


def _gone(pid: int) -> bool:
    """Ended: no such process, or a zombie waiting for whoever adopted it to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


@pytest.fixture
def sigterm_raises():
    from torchperf_core.cli import _raise_terminated  # the CLI's own SIGTERM handler

    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_a_stop_landing_while_the_child_starts_still_stops_the_child(tmp_path: Path, monkeypatch, sigterm_raises) -> None:
    """SIGTERM arrives after the fork, before `Popen` returns (seen: the run's asv finished its round
    orphaned, writing after `torchperf: terminated`). It must raise Terminated once the child is in
    hand, and the child must be stopped; raised inside `Popen`, the child would run on."""
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def popen_then_sigterm(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        started.append(proc)
        os.kill(os.getpid(), signal.SIGTERM)  # `kill PID`, landing before Popen has returned
        return proc

    monkeypatch.setattr(child.subprocess, "Popen", popen_then_sigterm)
    with pytest.raises(Terminated):
        child.run_to_end([sys.executable, "-c", "import time; time.sleep(60)"], cwd=tmp_path, env=os.environ)
    assert len(started) == 1
    assert started[0].poll() is not None, "the child outlived the stop"
    assert started[0].returncode == -signal.SIGTERM


def test_the_held_stop_is_delivered_once_and_the_handlers_come_back(sigterm_raises) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with child._stops_held() as held:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
        assert held == [signal.SIGTERM, signal.SIGTERM]  # noted, not raised
    assert signal.getsignal(signal.SIGTERM) is before
    with pytest.raises(Terminated):
        child._deliver(held)


def test_a_failed_start_still_delivers_a_held_stop(tmp_path: Path, sigterm_raises) -> None:
    """No child to clean up, so the stop goes on at once (it wins over the start's own error)."""
    with pytest.raises(Terminated):
        with child._stops_held():
            os.kill(os.getpid(), signal.SIGTERM)
            raise FileNotFoundError("no such program")


def test_stop_tree_takes_the_grandchild_too(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().split()
    assert first[:2] == ["grandchild", "pid"], first
    grandchild = int(first[2])
    assert [pid for pid, _ in child.descendants(proc.pid)] == [grandchild]
    child.stop_tree(proc)
    assert proc.returncode == -signal.SIGTERM
    deadline = time.monotonic() + 10
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(grandchild), "the grandchild outlived its parent's stop"
    proc.stdout.close()


def test_nothing_writes_after_the_stopped_line(tmp_path: Path) -> None:
    """The whole path: a parent runs the tree through run_to_end, is sent SIGTERM alone (as `kill PID`
    does), prints its stop line and exits 143; the stop line is the last one, and the grandchild (which
    would print for a minute more, holding the pipe past `communicate`'s limit) is gone."""
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        from torchperf_core.errors import Terminated
        from torchperf_core.run.child import run_to_end
        def stop(signum, frame):
            raise Terminated()
        signal.signal(signal.SIGTERM, stop)
        try:
            run_to_end([sys.executable, "-c", {TREE!r}], cwd=Path("."), env=os.environ)
        except Terminated:
            print("parent: terminated", flush=True)
            sys.exit(143)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])),
                            start_new_session=True)
    assert proc.stdout is not None
    try:
        seen = [proc.stdout.readline() for _ in range(5)]  # the tree is up and printing
        assert any(line.startswith("grandchild pid") for line in seen), seen
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 143, out[-2000:]
    assert out.rstrip().splitlines()[-1] == "parent: terminated", out[-2000:]
    grandchild = int(next(line for line in seen if line.startswith("grandchild pid")).split()[2])
    assert _gone(grandchild), "the grandchild outlived the stop"

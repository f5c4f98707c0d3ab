"""`torchperf run` under faults and hostile surroundings, with real processes, real asv and pip.

- a second run in the same checkout while one holds it: refused with the holder named (or queued
  with --wait), nothing written;
- a pinned torch version that cannot be installed: named, the other version still runs, the
  summary lists the failure, exit 1, and the broken environment is removed (not reused);
- secrets planted in the environment of run + publish + compare appear in no file under results/,
  html/, meta/ nor in the captured output; the site holds no absolute path, user or host name.

The real runs share the session's asv environments (`env_dir`, tests/conftest.py) with the suite
integration test: torch 2.13.0 is installed once per session.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scripts._snapshot import git as _git, snapshot_checkout as copy_project
from torchperf_core.run.suite import CASE_LOG_NAME

MACHINE = "fault-box"
SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "tpSECRETaws0c0ffee7e57",
    "GITHUB_TOKEN": "ghp_tpSECRETgithub0badf00d",
    "HF_TOKEN": "hf_tpSECREThugging0d15ea5e",
}

HOLD = textwrap.dedent("""
    import sys, time
    from torchperf_core.run.lock import project_lock
    with project_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _cli(repo: Path, home: Path, *args: str, extra_env: dict | None = None, timeout: int = 900):
    env = dict(os.environ, HOME=str(home), PIP_RETRIES="1", **(extra_env or {}))
    real_pyenv = Path(os.path.expanduser("~/.pyenv"))
    if "PYENV_ROOT" not in os.environ and real_pyenv.is_dir():
        env["PYENV_ROOT"] = str(real_pyenv)
    if args and args[0] == "run":  # the machine checks are tested once, in test_suite_integration
        args = ("run", "--no-machine-checks", *args[1:])
    return subprocess.run([sys.executable, "-m", "torchperf_core", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_second_run_in_the_same_checkout_is_refused(tmp_path: Path) -> None:
    repo = copy_project(tmp_path / "project")
    home = tmp_path / "home"
    home.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(repo), "60"], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1])
    try:
        assert holder.stdout.readline().strip() == "locked"
        for extra in ([], ["--wait", "1"]):
            proc = _cli(repo, home, "run", "--torch", "2.13.0", "--tier", "smoke", "--no-publish",
                        "--machine", MACHINE, *extra, timeout=120)
            assert proc.returncode == 3, proc.stderr[-2000:]
            err = proc.stderr.strip().splitlines()[-1]
            assert "holds the lock" in err and f"pid {holder.pid}" in err and "--wait" in err, err
            assert "Traceback" not in proc.stderr
        assert not (repo / "results").exists() and not (repo / ".asv" / "torchperf-run.conf.json").exists()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("value", ["-1", "x", "nan", "inf"])
def test_bad_wait_is_refused(tmp_path: Path, value: str) -> None:
    proc = _cli(tmp_path, tmp_path, "run", "--torch", "2.13.0", "--wait", value, timeout=60)
    assert proc.returncode == 2 and f"--wait {value!r}" in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def faulty_runs(tmp_path_factory: pytest.TempPathFactory, env_dir: Path):
    """Run (with an uninstallable version), a second commit's run, publish and compare, all with
    secrets in the environment; returns the project and every captured output."""
    repo = copy_project(tmp_path_factory.mktemp("project"))
    (repo / ".asv").mkdir()
    (repo / ".asv" / "env").symlink_to(env_dir, target_is_directory=True)
    home = tmp_path_factory.mktemp("home")
    common = ("--tier", "smoke", "--bench", "Sum", "--machine", MACHINE, "--quick")
    before = set(env_dir.iterdir())
    first = _cli(repo, home, "run", "--torch", "2.13.0", "0.0.1", "--no-publish", *common, extra_env=SECRETS)
    broken_left = {p.name for p in set(env_dir.iterdir()) - before if "0.0.1" in _env_name(p)}
    (repo / "README.md").write_text((repo / "README.md").read_text() + "\nsecond\n")
    _git(repo, "commit", "-q", "-am", "second")
    second = _cli(repo, home, "run", "--torch", "2.13.0", *common, extra_env=SECRETS)
    compare = _cli(repo, home, "compare", "HEAD~1", "HEAD", "--machine", MACHINE, extra_env=SECRETS)
    markdown = _cli(repo, home, "compare", "HEAD~1", "HEAD", "--machine", MACHINE, "--format", "markdown",
                    extra_env=SECRETS)
    publish = _cli(repo, home, "publish", extra_env=SECRETS)
    return repo, {"first": first, "second": second, "compare": compare, "markdown": markdown,
                  "publish": publish}, broken_left


def _env_name(path: Path) -> str:
    info = path / "asv-env-info.json"
    return info.read_text() if info.is_file() else ""


@pytest.mark.slow
def test_uninstallable_version_fails_alone(faulty_runs) -> None:
    repo, procs, broken_left = faulty_runs
    first = procs["first"]
    assert first.returncode == 1, first.stdout[-2000:] + first.stderr[-3000:]
    assert "FAILED torch 0.0.1" in first.stderr and "1 of 2 torch versions failed: 0.0.1" in first.stderr
    assert "Sum.track_sum" in first.stdout  # 2.13.0 ran and is summarized
    files = sorted((repo / "results" / MACHINE).glob("*-*.json"))
    assert files and all("torch2.13.0" in f.name for f in files)
    assert not broken_left  # asv removed the half-built environment: never reused
    assert procs["second"].returncode == 0, procs["second"].stderr[-3000:]


@pytest.mark.slow
def test_no_secret_in_any_file_or_output(faulty_runs) -> None:
    repo, procs, _ = faulty_runs
    assert procs["compare"].returncode in (0, 1), procs["compare"].stderr[-2000:]
    assert procs["publish"].returncode == 0, procs["publish"].stderr[-2000:]
    texts = {f"{name} output": p.stdout + p.stderr for name, p in procs.items()}
    for folder in ("results", "html", "meta", ".asv"):
        for path in (repo / folder).rglob("*"):
            if path.is_file() and not path.is_symlink() and "env" not in path.relative_to(repo).parts[:2]:
                texts[str(path.relative_to(repo))] = path.read_bytes().decode("utf-8", "replace")
    assert any(k.startswith("results/") for k in texts) and any(k.startswith("html/") for k in texts)
    for where, text in texts.items():
        for name, value in SECRETS.items():
            assert value not in text, f"{name} leaked into {where}"


@pytest.mark.slow
def test_site_holds_no_path_user_or_host(faulty_runs) -> None:
    repo, _, _ = faulty_runs
    host = socket.gethostname()
    user = getpass.getuser()
    needles = [str(repo), str(repo.resolve()), str(Path.home()), os.path.expanduser("~"), str(Path(sys.executable).parent)]
    words = [w for w in (host, user) if w and w != MACHINE and w != "root"]
    for path in (repo / "html").rglob("*"):
        if not path.is_file() or path.suffix not in (".html", ".json", ".xml", ".js", ".svg", ".csv"):
            continue
        text = path.read_text("utf-8", "replace")
        for needle in needles:
            assert needle not in text, f"{needle!r} in {path.relative_to(repo)}"
        for word in words:
            assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text), f"{word!r} in {path.relative_to(repo)}"


def _wait_for_results(folder: Path, proc: subprocess.Popen, timeout: float = 600) -> Path:
    """The first results file asv has finished writing (it parses), while `proc` still runs."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        for path in folder.glob("*-*.json") if folder.is_dir() else ():
            try:
                json.loads(path.read_text())
                return path
            except ValueError:
                pass
        time.sleep(0.1)
    raise AssertionError("no results file appeared")


def _samples(path: Path) -> list:
    data = json.loads(path.read_text())
    return [dict(zip(data["result_columns"], row)).get("samples") for row in data["results"].values()]


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGINT", "SIGKILL"])
def test_interrupted_run_keeps_what_was_done_and_resumes(tmp_path: Path, env_dir: Path, sig: str) -> None:
    import signal

    from tests.processes import ctrl_c_reaches_it

    repo = copy_project(tmp_path / "project")
    (repo / ".asv").mkdir()
    (repo / ".asv" / "env").symlink_to(env_dir, target_is_directory=True)
    home = tmp_path / "home"
    home.mkdir()
    for i in range(2):
        (repo / "README.md").write_text((repo / "README.md").read_text() + f"\ncommit {i}\n")
        _git(repo, "commit", "-q", "-am", f"commit {i}")
    # The machine checks are tested once, in test_suite_integration (a calibration here costs minutes).
    args = ["run", "--no-machine-checks", "--torch", "2.13.0", "--commits", "HEAD~2..HEAD", "--tier", "smoke",
            "--bench", "Sum", "--machine", MACHINE, "--no-publish", "--quick"]
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, HOME=str(home), TMPDIR=str(tmp))
    proc = subprocess.Popen([sys.executable, "-m", "torchperf_core", *args], cwd=repo, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=ctrl_c_reaches_it)
    try:
        done = _wait_for_results(repo / "results" / MACHINE, proc)
        # Ctrl-C reaches the whole foreground group; SIGKILL takes torchperf, asv and the benchmark at once.
        os.killpg(proc.pid, getattr(signal, sig))
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if sig == "SIGINT":
        assert proc.returncode == 130 and "interrupted" in out and "Traceback" not in out.split("torchperf: interrupted")[-1]
    kept = _samples(done)
    assert kept and all(kept), "the results saved before the interruption were damaged"
    assert len(list((repo / "results" / MACHINE).glob("*-*.json"))) == 1
    # The benchmarks' case log lives in the checkout: a killed run leaves that one file (Ctrl-C removes
    # it), never a temporary file of its own, and the next run empties it before anything appends.
    case_log = repo / CASE_LOG_NAME
    assert case_log.exists() == (sig == "SIGKILL")
    assert not [p.name for p in tmp.rglob("torchperf-cases*")]
    env_name = json.loads(done.read_text())["env_name"]
    case_log.write_text(json.dumps({"benchmark": "stale.Planted.track_it", "params": "x", "env_name": env_name,
                                    "median": 1.0}) + "\n")

    again = _cli(repo, home, "run", *args[1:], "--resume", extra_env={"TMPDIR": str(tmp)})
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]  # the lock did not outlive the run
    assert not case_log.exists() and not [p.name for p in tmp.rglob("torchperf-cases*")]
    assert not any("stale.Planted" in p.read_text() for p in (repo / "meta" / MACHINE).glob("*-*.json"))
    files = sorted((repo / "results" / MACHINE).glob("*-*.json"))
    assert len(files) == 2
    assert _samples(done) == kept  # not measured again
    assert all(_samples(f) and all(_samples(f)) for f in files)
    assert len(list((repo / "meta" / MACHINE).glob("*-*.json"))) == 2  # both fingerprinted in the end


@pytest.mark.slow
def test_sigterm_mid_run_keeps_the_finished_rounds_sidecar_and_stops_cleanly(tmp_path: Path, env_dir: Path) -> None:
    """`kill PID` (a CI job's time limit, a session ending) while round 3 of `--rounds 3` runs: exit 143
    with one line, and the two finished rounds' sidecar is on disk with each case's two replicates,
    filed once each (it was written only at the very end, so a stopped run lost it)."""
    import signal

    from torchperf_core.store import sidecar_for

    repo = copy_project(tmp_path / "project")
    (repo / ".asv").mkdir()
    (repo / ".asv" / "env").symlink_to(env_dir, target_is_directory=True)
    home = tmp_path / "home"
    home.mkdir()
    args = ["run", "--no-machine-checks", "--torch", "2.13.0", "--rounds", "3", "--tier", "smoke", "--bench", "Sum",
            "--machine", MACHINE, "--no-publish", "--quick"]
    proc = subprocess.Popen([sys.executable, "-m", "torchperf_core", *args], cwd=repo, env=dict(os.environ, HOME=str(home)),
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    seen: list[str] = []
    try:
        for line in proc.stdout:  # until asv of the third round has started
            seen.append(line)
            if "round 3 of 3" in "".join(seen[:-1]) and line.startswith("torchperf: running: asv"):
                break
        else:
            raise AssertionError("the run ended before round 3: " + "".join(seen)[-3000:])
        proc.send_signal(signal.SIGTERM)  # torchperf alone, as `kill PID` does
        out = "".join(seen) + proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 143, out[-3000:]
    tail = out.split("round 3 of 3")[-1]
    assert "Traceback" not in tail, tail[-3000:]
    assert tail.rstrip().splitlines()[-1] == "torchperf: terminated"
    assert ("torchperf: stopped: the results of torch 2.13.0 are saved with their sidecars; "
            "`torchperf run --resume` measures only what is missing") in tail
    files = sorted((repo / "results" / MACHINE).glob("*-*.json"))
    assert len(files) == 1
    sidecar = sidecar_for(files[0], repo / "meta")
    assert sidecar is not None and sidecar.fingerprint is not None, "the finished rounds' sidecar was not written"
    records = [rec for by_key in sidecar.cases.values() for rec in by_key.values()]
    assert records and set(sidecar.cases) == set(json.loads(files[0].read_text())["results"])
    # Rounds 1 and 2, each exactly once: a clean run adds a median, a contended one is counted as such.
    assert [len(rec.get("run_medians") or []) + int(rec.get("contended_runs") or 0) for rec in records] == \
        [2] * len(records)


FAULTY_BENCH = '''
"""Written by tests/test_run_faults.py into a temporary copy of the project: one case whose setup
really runs out of (address-space limited) memory, one that raises, one that works."""
import resource

from .common import OpBenchmark, annotate, grid

_TIERS = {t: {"size": [4096], "dtype": ["float32"], "fault": ["oom", "raise", "none"]}
          for t in ("smoke", "default", "full")}


class Faulty(OpBenchmark):
    op = "sum"
    TIERS = _TIERS
    params, param_names = grid(TIERS)

    def setup(self, size, dtype, fault, device):
        if fault == "oom":  # the 64 MiB input cannot be allocated: a real allocator failure
            import torchperf_core.clock, torchperf_core.device, torchperf_core.measure  # noqa: F401 - imported before the cap
            torchperf_core.measure.prepare("sum", 8, "float32", "cpu")
            with open("/proc/self/statm") as f:
                used = int(f.read().split()[0]) * resource.getpagesize()
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            resource.setrlimit(resource.RLIMIT_AS, (used + 16 * 2**20, hard))
        super().setup(size, dtype, fault, device)

    def track_faulty(self, size, dtype, fault, device):
        if fault == "raise":
            raise RuntimeError("injected failure in case raise")
        return self._run()

    annotate(track_faulty, op, TIERS, version="1")
'''


@pytest.mark.slow
def test_failing_and_out_of_memory_cases_do_not_stop_the_suite(tmp_path: Path, env_dir: Path) -> None:
    repo = copy_project(tmp_path / "project")
    (repo / "benchmarks" / "bench_zfaulty.py").write_text(FAULTY_BENCH)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "faulty benchmarks")
    (repo / ".asv").mkdir()
    (repo / ".asv" / "env").symlink_to(env_dir, target_is_directory=True)
    home = tmp_path / "home"
    home.mkdir()
    proc = _cli(repo, home, "run", "--torch", "2.13.0", "--tier", "smoke", "--bench", "Faulty|Sum",
                "--machine", MACHINE, "--no-publish", "--quick")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    (path,) = (repo / "results" / MACHINE).glob("*-*.json")
    data = json.loads(path.read_text())
    col = data["result_columns"].index("result")
    faulty = data["results"]["bench_zfaulty.Faulty.track_faulty"][col]  # fault = oom, raise, none
    assert faulty[0] != faulty[0]  # NaN: skipped, the allocator failure caught in setup
    assert faulty[1] is None  # failed
    assert faulty[2] > 0
    assert data["results"]["bench_memory.Sum.track_sum"][col][0] > 0  # the rest of the suite ran
    assert "injected failure in case raise" in proc.stdout + proc.stderr  # the reason is shown
    assert "1 benchmark case(s) raised" in proc.stderr and "'raise'" in proc.stderr
    # the version column: the release, then the build flavour in brackets ("2.13.0 (cpu)")
    # skipped in every version (here: the one): not a table row, but listed with its reason
    assert "track_faulty(4096, 'float32', 'oom', 'cpu')" not in proc.stdout
    assert "1 case(s) skipped in every version are not listed" in proc.stdout
    assert re.search(r"1 case\(s\) skipped:\n.*skipped in setup at run time[^\n]*: Faulty\.track_faulty\(4096, 'float32', 'oom', 'cpu'\)",
                     proc.stderr)
    assert re.search(r"track_faulty\(4096, 'float32', 'raise', 'cpu'\)\s+2\.13\.0( \(\w+\))?\s+failed", proc.stdout)


def _can_mount_tmpfs() -> bool:
    try:
        probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt || "
                                "mount -t tmpfs -o size=1m tmpfs /tmp"], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs `unshare -rm` (user and mount namespaces) to mount a small tmpfs")
def test_disk_full_while_building_an_environment(tmp_path: Path) -> None:
    """The environments folder is a 150 MiB tmpfs (in a private mount namespace): torch does not fit."""
    repo = copy_project(tmp_path / "project")
    home = tmp_path / "home"
    home.mkdir()
    env_dir = repo / ".asv" / "env"
    env_dir.mkdir(parents=True)
    script = ('mount -t tmpfs -o size=150m tmpfs "$1" && shift && "$@"; rc=$?; '
              'echo "LEFT IN ENV DIR: $(ls -A "$ENVDIR" | tr "\\n" " ")"; exit $rc')
    cmd = ["unshare", "-rm", "sh", "-c", script, "sh", str(env_dir), sys.executable, "-m", "torchperf_core", "run",
           "--no-machine-checks", "--torch", "2.13.0", "--tier", "smoke", "--bench", "Sum", "--machine", MACHINE, "--no-publish"]
    proc = subprocess.run(cmd, cwd=repo, env=dict(os.environ, HOME=str(home), ENVDIR=str(env_dir), PIP_RETRIES="1"),
                          capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out[-3000:]
    assert "No space left on device" in out  # pip's own error, shown by asv
    err = [line for line in proc.stderr.splitlines() if line.startswith("torchperf:")]
    assert any("torch 2.13.0" in line and re.search(r"only \d+ MiB free where environments are built", line)
               for line in err), err
    assert err[-1].startswith("torchperf: error: no torch version produced results (failed: 2.13.0)"), err
    left = proc.stdout.split("LEFT IN ENV DIR:", 1)[1].splitlines()[0].split()
    assert left == [], left  # the half-built environment was deleted: the next run builds it afresh
    assert "Traceback (most recent call last)" not in proc.stderr.split("torchperf: running")[0]


@pytest.mark.parametrize("free_gib,shown", [(7.99, "7.9 GiB"), (8.0, None), (1.0, "1.0 GiB"), (0.5, "512 MiB")])
def test_low_disk_hint_reads_the_room_a_cuda_build_needs(tmp_path: Path, monkeypatch, free_gib, shown) -> None:
    """The hint on a failed environment build reads the free space after asv deleted the half-built
    environment, so it must fire below the room a build needs (a CUDA torch about 6 GB), not only on a disk
    left nearly full (CI once ran out of space building torch 2.14.1 and was told only "no such torch wheel
    for this Python/platform?"). Bugs caught: the old 2 GiB threshold, the comparison turned around, the free space in the
    wrong unit."""
    import shutil
    from collections import namedtuple

    from torchperf_core.run.guard import low_disk_hint

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(2**40, 0, int(free_gib * 2**30)))
    hint = low_disk_hint(tmp_path / "env")
    if shown:
        assert hint == (f"; only {shown} free where environments are built (env/), less than the 8 GiB a "
                        "build may need (a CUDA build of torch installs about 6 GB, a CPU build about 1 GB, and pip "
                        "unpacks beside it): free space there or point asv's env_dir elsewhere")
    else:
        assert hint == ""


def test_run_refuses_to_add_to_a_damaged_results_file(tmp_path: Path) -> None:
    """A results file cut short (a kill while asv wrote it) is named, not fed to asv, not deleted."""
    repo = copy_project(tmp_path / "project")
    home = tmp_path / "home"
    home.mkdir()
    damaged = repo / "results" / MACHINE / "0123abcd-virtualenv-py3.11-pip+torch2.13.0.json"
    damaged.parent.mkdir(parents=True)
    damaged.write_text('{"commit_hash": "0123abcd", "results": {"bench')
    proc = _cli(repo, home, "run", "--torch", "2.13.0", "--tier", "smoke", "--machine", MACHINE, "--no-publish",
                timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert damaged.name in last and "damaged" in last and "move it out" in last, last
    assert damaged.read_text() == '{"commit_hash": "0123abcd", "results": {"bench'
    assert not (repo / ".asv" / "env").exists()  # refused before any environment was built


def test_wait_queues_behind_the_holder_then_runs(tmp_path: Path) -> None:
    """With --wait the second run takes the lock once the first lets go (it then stops at the next
    check, a damaged results file planted for the purpose, instead of refusing with exit 3)."""
    repo = copy_project(tmp_path / "project")
    home = tmp_path / "home"
    home.mkdir()
    damaged = repo / "results" / MACHINE / "0123abcd-virtualenv-py3.11-pip+torch2.13.0.json"
    damaged.parent.mkdir(parents=True)
    damaged.write_text("{")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(repo), "2"], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1])
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = _cli(repo, home, "run", "--torch", "2.13.0", "--tier", "smoke", "--no-publish", "--machine", MACHINE,
                    "--wait", "120", timeout=180)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "damaged" in proc.stderr and "holds the lock" not in proc.stderr


@pytest.mark.parametrize("commits", ["HEAD~99999", "nosuchbranch..HEAD", "HEAD..HEAD"])
def test_commit_range_is_resolved_before_asv(tmp_path: Path, commits: str) -> None:
    repo = copy_project(tmp_path / "project")
    proc = _cli(repo, tmp_path, "run", "--torch", "2.13.0", "--commits", commits, "--no-publish", timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(f"torchperf: error: commit range {commits!r}")
    assert "Traceback" not in proc.stderr and not (repo / "results").exists()

"""`torchperf fleet run`: the hosts file, what is sent to a host, and real runs over real OpenSSH.

The real part starts two OpenSSH servers (`/usr/sbin/sshd -D`, Debian's openssh-server, installed
by `make test` like Chromium) on 127.0.0.1 at free ports, each with its own host key and for its own
local user with its own home, so each host is a distinct asv machine. The client key, the
known_hosts file and an OpenSSH client config (Host alias -> HostName, Port, User, IdentityFile,
UserKnownHostsFile) are generated here; the fleet reads them through `--ssh-config`, as it would
read ~/.ssh/config. Skipped, saying why, when not root or sshd is missing.

One scenario, shared by the slow tests (each host installs torch 2.13.0 once): host B's server is
stopped, the fleet runs -> A's results come back, B fails in one line, exit 1; B's server comes
back, `--resume` -> A is left alone (already merged), B runs -> both machines' results are here.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from torchperf_core.errors import TorchperfError
from torchperf_core.fleet import FleetPlan, Host, forwarded_environment, parse_hosts, work_folder
from torchperf_core.fleet.hosts import check_unique_machines

ROOT = Path(__file__).resolve().parents[1]
SSHD = "/usr/sbin/sshd"
USERS = ("tpfleet-a", "tpfleet-b")
MACHINES = ("box-a", "box-b")


# ------------------------------------------------------------------------------------------------
# The hosts file


def test_hosts_file_forms() -> None:
    text = ("# fleet\nalice@gpu1:2222 gpu-box\n\nbox2   # plain, as the seed's hosts.txt\n[::1]:2200 v6\n"
            "lab_gpu3   # a Host alias of ~/.ssh/config\n")
    assert parse_hosts(text) == [
        Host("gpu1", "alice", 2222, "gpu-box", 2), Host("box2", None, None, None, 4), Host("::1", None, 2200, "v6", 5),
        Host("lab_gpu3", None, None, None, 6)]


@pytest.mark.parametrize(("text", "message"), [
    ("ok\nbad host name x y\n", "hosts file line 2: 'bad host name x y' not understood; expected lines of the form "
                                "[user@]host[:port] [machine-name]"),
    ("h:99999\n", "hosts file line 1: 'h:99999' not understood"),
    ("h a/b\n", "hosts file line 1: machine name 'a/b' not accepted"),
    ("-oProxyCommand=x\n", "hosts file line 1: '-oProxyCommand=x' not understood"),
    ("# nothing\n\n", "hosts file names no host"),
    ("h1\nh1\n", "hosts file line 2: 'h1' is already on line 1"),
    ("h1 box\nh2 box\n", "h1 (line 1) and h2 (line 2) would both record as machine 'box'"),
])
def test_bad_hosts_lines_name_line_and_text(text: str, message: str) -> None:
    with pytest.raises(TorchperfError) as info:
        parse_hosts(text)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_resolved_host_names_colliding_are_refused() -> None:
    a, b = Host("h1", line=1), Host("h2", "u", None, "h1-name", line=2)
    check_unique_machines([a, b], {a: "other"})  # distinct: fine
    with pytest.raises(TorchperfError, match=r"h1 \(line 1\) and u@h2 \(line 2\) would both record as machine 'h1-name'"):
        check_unique_machines([a, b], {a: "h1-name"})


def test_only_whitelisted_variables_are_sent() -> None:
    environ = {"OMP_NUM_THREADS": "4", "PIP_FIND_LINKS": "/opt/wheels", "GITHUB_TOKEN": "ghp_secret",
               "PIP_INDEX_URL": "https://user:tok@example.invalid/simple", "LD_PRELOAD": "/home/me/libjemalloc.so",
               "AWS_SECRET_ACCESS_KEY": "x", "PIP_EXTRA_INDEX_URL": "file:///opt/pypi/simple", "HOME": "/root"}
    assert forwarded_environment(environ) == {
        "OMP_NUM_THREADS": "4", "PIP_EXTRA_INDEX_URL": "file:///opt/pypi/simple", "PIP_FIND_LINKS": "/opt/wheels"}


def test_remote_run_never_publishes_and_passes_the_options() -> None:
    plan = FleetPlan((Host("h"),), ("2.13.0",), "smoke", "Sum", ("cpu",), quick=True, machine_checks=False, resume=True)
    assert plan.run_args("box") == ["--machine", "box", "--torch", "2.13.0", "--tier", "smoke", "--no-publish",
                                    "--bench", "Sum", "--device", "cpu", "--quick", "--no-machine-checks", "--resume"]
    assert work_folder("torch perf/../x") == ".torchperf-fleet/torch_perf_.._x"


def test_progress_plain_lines_and_live_table() -> None:
    import io

    from torchperf_core.fleet import Progress

    now = [100.0]
    plain = io.StringIO()
    p = Progress(["a", "bb"], plain, live=False, clock=lambda: now[0])
    p.stage("a", "connecting")
    now[0] = 165.0
    p.cases("a", 3, 8)  # plain: counts are not a stage change, no line
    p.finish("a", "done")
    assert plain.getvalue() == "fleet: a: connecting (0s)\nfleet: a: done (3/8 cases, 1m05s)\n"
    live = io.StringIO()
    p = Progress(["a", "bb"], live, live=True, clock=lambda: now[0])
    p.stage("bb", "running (tier smoke)")
    p.cases("bb", 3, 8)
    frames = live.getvalue().split("\x1b[2F")
    assert len(frames) == 2  # the second table was drawn over the first
    assert frames[1].splitlines()[1].split() == ["bb", "running", "(tier", "smoke)", "3/8", "cases", "0s\x1b[K"]


def test_case_counter_reads_asv_progress_across_torch_versions() -> None:
    from torchperf_core.fleet.remote import CaseCounter

    c = CaseCounter()
    lines = ["torchperf: tier smoke: benchmarking torch 2.13.0, 2.14.1", "· Creating environments",
             "· Running 4 total benchmarks (1 commits * 1 environments * 4 benchmarks)",
             "[ 0.00%] · For torchperf commit b5a02daa <main>:", "[25.00%] ··· bench_memory.Sum.track_sum   ok",
             "[50.00%] ··· bench_matmul.MM.track_mm       ok", "               ====== =====",
             "· Running 4 total benchmarks (1 commits * 1 environments * 4 benchmarks)",
             "[75.00%] --- bench_x.Y.time_z   ok"]  # the second asv run (next torch version), ASCII console
    seen = [c.feed(line) for line in lines]
    assert seen == [(None, None), (None, None), (0, 4), (0, 4), (1, 4), (2, 4), (2, 4), (4, 8), (7, 8)]


@pytest.mark.parametrize(("text", "extra", "message"), [
    ("good\nuser@@bad\n", (), "hosts file {hosts!r} line 2: 'user@@bad' not understood; expected lines of the form "
                               "[user@]host[:port] [machine-name]"),
    ("good:0 box\n", (), "hosts file {hosts!r} line 1: 'good:0 box' not understood; expected lines of the form "
                        "[user@]host[:port] [machine-name]"),
    ("good:port\n", (), "hosts file {hosts!r} line 1: 'good:port' not understood; expected lines of the form "
                       "[user@]host[:port] [machine-name]"),
    (None, (), "cannot read hosts file {hosts!r}: No such file or directory"),
    ("good\n", ("--ssh-config", "{tmp}/nope"), "--ssh-config '{tmp}/nope' is not an existing file"),
    ("good\n", ("--connect-timeout", "soon"), "--connect-timeout"),
])
def test_cli_bad_input_is_one_line_exit_2(tmp_path: Path, text: str | None, extra: tuple[str, ...],
                                           message: str) -> None:
    """Nothing connects: every input is checked first."""
    hosts = tmp_path / "hosts.txt"
    if text is not None:
        hosts.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "torchperf_core", "fleet", "run", "--hosts", str(hosts),
                           *(e.format(tmp=tmp_path) for e in extra)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.strip().startswith("torchperf: error: " + message.format(hosts=str(hosts), tmp=tmp_path)), \
        proc.stderr


def _client_files(folder: Path) -> tuple[Path, Path, Path]:
    """A client key, a known_hosts file and an OpenSSH config that also asks for what the fleet
    forbids (agent forwarding, password login): the fleet's rules must win."""
    key = folder / "id_test"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    known = folder / "known"
    known.write_text("[127.0.0.1]:2222 " + " ".join((folder / "id_test.pub").read_text().split()[:2]) + "\n")
    config = folder / "config"
    config.write_text(f"Host box\n  HostName 127.0.0.1\n  Port 2222\n  User bob\n  IdentityFile {key}\n"
                      f"  UserKnownHostsFile {known}\n  ForwardAgent yes\n  PasswordAuthentication yes\n"
                      "  PreferredAuthentications password,keyboard-interactive\n")
    return key, known, config


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen (openssh-client) is not installed")
def test_ssh_config_is_honoured_and_the_fleet_rules_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolved by asyncssh itself from a real OpenSSH config file, as `connect` uses it."""
    import asyncssh

    from torchperf_core.fleet import SshOptions
    from torchperf_core.fleet.remote import client_options

    key, known, config = _client_files(tmp_path)
    monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "agent.sock"))  # an agent it could forward to
    o = client_options(Host("box"), SshOptions(config=config))
    assert (o.host, o.port, o.username, o.known_hosts) == ("127.0.0.1", 2222, "bob", [str(known)])
    assert [k.public_data for k in o.client_keys] == [asyncssh.read_public_key(f"{key}.pub").public_data]
    assert o.preferred_auth == ["publickey"] and o.password is None
    assert (o.password_auth, o.kbdint_auth, o.gss_auth, o.host_based_auth) == (False, False, False, False)
    assert o.agent_forward_path is None  # ForwardAgent yes in the config is overridden
    # The hosts file's user and port override the config's; --known-hosts overrides UserKnownHostsFile.
    o = client_options(Host("box", "carol", 2200), SshOptions(config=config, known_hosts=tmp_path / "kh2"))
    assert (o.port, o.username, o.known_hosts) == (2200, "carol", str(tmp_path / "kh2"))
    from torchperf_core.fleet.remote import _known_hosts_file

    assert _known_hosts_file(o) == str(tmp_path / "kh2")
    assert _known_hosts_file(client_options(Host("box"), SshOptions(config=config))) == str(known)
    # Without --ssh-config: ~/.ssh/config, as OpenSSH reads it.
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text(config.read_text())
    monkeypatch.setenv("HOME", str(tmp_path))
    o = client_options(Host("box"), SshOptions())
    assert (o.host, o.port, o.username, o.known_hosts) == ("127.0.0.1", 2222, "bob", [str(known)])
    (tmp_path / ".ssh" / "config").write_text("Host other\n  Port 2\n")
    o = client_options(Host("box"), SshOptions())
    assert (o.host, o.port) == ("box", 22)  # a config not naming the host leaves OpenSSH's defaults
    assert _known_hosts_file(o) == "~/.ssh/known_hosts"  # asyncssh's default then, as OpenSSH's


# ------------------------------------------------------------------------------------------------
# Real OpenSSH servers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One sshd for one user, on 127.0.0.1, with its own host key; stop() and start() keep both."""

    def __init__(self, folder: Path, user: str, client_pub: str) -> None:
        self.folder, self.user, self.port = folder, user, _free_port()
        folder.mkdir(mode=0o755)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "host_key")], check=True)
        (folder / "authorized_keys").write_text(client_pub)
        (folder / "authorized_keys").chmod(0o644)
        (folder / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\nPidFile {folder / 'pid'}\n"
            f"AuthorizedKeysFile {folder / 'authorized_keys'}\nAllowUsers {user}\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\nStrictModes no\n"
            "Subsystem sftp internal-sftp\n")
        self.proc: subprocess.Popen | None = None

    @property
    def public_key(self) -> str:
        return " ".join((self.folder / "host_key.pub").read_text().split()[:2])

    def start(self) -> None:
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.folder / "sshd_config")],
                                     stdout=subprocess.DEVNULL, stderr=open(self.folder / "sshd.log", "a"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"sshd did not start: {(self.folder / 'sshd.log').read_text()[-500:]}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None


def _ensure_user(name: str) -> Path:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True)
    # useradd leaves the account locked ("!"), which sshd refuses even for a key: "*" is no password.
    subprocess.run(["usermod", "-p", "*", name], check=True)
    return Path(pwd.getpwnam(name).pw_dir)


@pytest.fixture(scope="session")
def ssh_pair():
    """Two running servers (A, B), a client config naming them fleet-a/fleet-b, and its files."""
    if os.geteuid() != 0:
        pytest.skip("the fleet's SSH tests create local users and start sshd: run them as root")
    if not os.access(SSHD, os.X_OK) or shutil.which("ssh-keygen") is None:
        pytest.skip("openssh-server is not installed (`make test` installs it: apt-get install openssh-server)")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="tp-fleet-"))
    folder.chmod(0o755)  # sshd reads authorized_keys as the user
    key = folder / "client_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    homes = [_ensure_user(u) for u in USERS]
    for home in homes:  # a fresh work folder per session
        shutil.rmtree(home / ".torchperf-fleet", ignore_errors=True)
    servers = [Server(folder / f"sshd-{i}", u, (folder / "client_key.pub").read_text()) for i, u in enumerate(USERS)]
    known = folder / "known_hosts"
    known.write_text("".join(f"[127.0.0.1]:{s.port} {s.public_key}\n" for s in servers))
    config = folder / "ssh_config"
    config.write_text("".join(
        f"Host fleet-{x}\n  HostName 127.0.0.1\n  Port {s.port}\n  User {s.user}\n  IdentityFile {key}\n"
        f"  UserKnownHostsFile {known}\n" for x, s in zip("ab", servers)))
    for s in servers:
        s.start()
    yield {"servers": servers, "config": config, "known_hosts": known, "folder": folder, "homes": homes}
    for s in servers:
        s.stop()
    shutil.rmtree(folder, ignore_errors=True)
    for home in homes:  # each holds a virtualenv and an asv environment with torch (GBs)
        shutil.rmtree(home / ".torchperf-fleet", ignore_errors=True)


def _fleet(project: Path, *args: str, env: dict | None = None, timeout: int = 1500) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torchperf_core", "fleet", "run", *args], cwd=project,
                          capture_output=True, text=True, timeout=timeout, env=env)


def _fleet_hosts(project: Path, ssh_pair, tmp_path: Path, hosts_text: str, *extra: str) -> subprocess.CompletedProcess:
    """`fleet run` of torch 2.13.0 on a hosts file with `hosts_text`, through the test servers' ssh config."""
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(hosts_text)
    return _fleet(project, "--hosts", str(hosts), "--ssh-config", str(ssh_pair["config"]), "--torch", "2.13.0",
                  *extra, timeout=120)


def _failed(proc: subprocess.CompletedProcess) -> list[str]:
    """The fleet's one line per failed host."""
    return [line for line in proc.stderr.splitlines() if line.startswith("fleet: FAILED")]


@pytest.fixture(scope="session")
def fleet_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scripts._snapshot import snapshot_checkout

    project = snapshot_checkout(tmp_path_factory.mktemp("fleet-project"))
    (project / "hosts.txt").write_text("fleet-a box-a\nfleet-b box-b  # the second box\n")
    return project


def _pip_env() -> dict[str, str]:
    """The test process's environment plus this machine's pip index as variables: the remote
    users have no pip config of their own, and the fleet forwards only pip's variables."""
    env = dict(os.environ)
    for key, var in (("global.extra-index-url", "PIP_EXTRA_INDEX_URL"), ("global.find-links", "PIP_FIND_LINKS")):
        proc = subprocess.run([sys.executable, "-m", "pip", "config", "get", key], capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip() and var not in env:
            env[var] = proc.stdout.strip()
    return env


@pytest.mark.slow  # starts sshd, snapshots the project
def test_unknown_host_key_is_refused_in_one_line(ssh_pair, fleet_project: Path, tmp_path: Path) -> None:
    only_a = tmp_path / "known_hosts"
    only_a.write_text(ssh_pair["known_hosts"].read_text().splitlines()[0] + "\n")
    proc = _fleet_hosts(fleet_project, ssh_pair, tmp_path, "fleet-b box-b\n", "--known-hosts", str(only_a))
    assert proc.returncode == 1, proc.stderr
    port = ssh_pair["servers"][1].port
    assert _failed(proc) == [f"fleet: FAILED host fleet-b: unknown host key; trust it with `ssh-keyscan -p {port} 127.0.0.1 >> "
                             f"{only_a}` after checking its fingerprint"], proc.stderr  # the file the fleet reads
    assert not (ssh_pair["homes"][1] / ".torchperf-fleet").exists()  # nothing was sent


@pytest.mark.slow  # starts sshd, snapshots the project
def test_refused_login_is_one_line(ssh_pair, fleet_project: Path, tmp_path: Path) -> None:
    """A user the server does not let in (AllowUsers): the login is refused, the fleet says so in one line."""
    proc = _fleet_hosts(fleet_project, ssh_pair, tmp_path, "nobody-here@fleet-a box-a\n")
    assert proc.returncode == 1, proc.stderr
    assert _failed(proc) == ["fleet: FAILED host nobody-here@fleet-a: authentication refused (public keys only; check "
                             "IdentityFile in ~/.ssh/config and the host's authorized_keys)"], proc.stderr
    assert "fleet: 1 of 1 host(s) failed" in proc.stderr
    assert not (ssh_pair["homes"][0] / ".torchperf-fleet").exists()  # nothing ran, nothing was sent


@pytest.mark.slow  # starts sshd, snapshots the project
def test_two_hosts_under_one_resolved_name_run_nothing(ssh_pair, fleet_project: Path, tmp_path: Path) -> None:
    """Both servers run on this machine: unnamed, both would record as its host name."""
    proc = _fleet_hosts(fleet_project, ssh_pair, tmp_path, "fleet-a\nfleet-b\n")
    assert proc.returncode == 2, proc.stderr
    name = socket.gethostname()
    assert proc.stderr.strip().splitlines()[-1] == (
        f"torchperf: error: fleet-a (line 1) and fleet-b (line 2) would both record as machine {name!r}; give each a "
        "distinct machine name after the host in the hosts file")
    assert not any((h / ".torchperf-fleet").exists() for h in ssh_pair["homes"])


@pytest.fixture(scope="session")
def fleet_runs(ssh_pair, fleet_project: Path):
    """B down: A comes back, B fails alone. B up again, --resume: only B runs, and that run (the one
    command a user types) publishes the site itself."""
    common = ("--hosts", "hosts.txt", "--ssh-config", str(ssh_pair["config"]), "--torch", "2.13.0", "--tier", "smoke",
              "--bench", "Sum", "--quick", "--no-machine-checks")
    env = _pip_env()
    server_b = ssh_pair["servers"][1]
    server_b.stop()
    try:
        first = _fleet(fleet_project, *common, "--no-publish", env=env)
    finally:
        server_b.start()
    a_files = {p.name: p.stat().st_mtime_ns for p in (fleet_project / "results" / "box-a").glob("*.json")}
    second = _fleet(fleet_project, *common, "--resume", env=env)
    return first, second, a_files


@pytest.mark.slow
def test_stopped_server_fails_alone(fleet_runs, fleet_project: Path, ssh_pair) -> None:
    first, _second, a_files = fleet_runs
    assert first.returncode == 1, first.stderr[-3000:]
    failed = _failed(first)
    assert len(failed) == 1 and failed[0].startswith("fleet: FAILED host fleet-b: cannot connect ("), first.stderr[-3000:]
    assert "fleet: 1 of 2 host(s) failed" in first.stderr
    # asv's progress was followed: every benchmark announced was counted done before the pull-back.
    assert re.search(r"^fleet: fleet-a: bringing results back \((\d+)/\1 cases, ", first.stderr, re.M), first.stderr
    assert any(n.endswith("torch2.13.0-setuptools-threadpoolctl.json") for n in a_files), a_files
    assert "machine.json" in a_files


@pytest.mark.slow
def test_resume_runs_only_the_missing_host_and_both_machines_are_here(fleet_runs, fleet_project: Path,
                                                                        ssh_pair) -> None:
    from torchperf_core.store import ResultsStore

    _first, second, a_files = fleet_runs
    assert second.returncode == 0, second.stderr[-3000:]
    assert "fleet: fleet-a (box-a): results for this commit already merged" in second.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (fleet_project / "results" / "box-a").glob("*.json")}
    assert after == a_files  # A was not run again, nothing of it rewritten
    store = ResultsStore(fleet_project / "results")
    assert store.machines() == ["box-a", "box-b"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=fleet_project, capture_output=True, text=True).stdout.strip()
    for machine in MACHINES:
        files = store.files(machine)
        assert [f.commit for f in files] == [head] and files[0].torch_version.startswith("2.13.0")
        assert any(k[0].endswith("track_sum") or "Sum" in k[0] for k in files[0].entries)
        assert (fleet_project / "meta" / machine / f"{files[0].stem}.json").is_file()  # its sidecar came along
    # Everything the hosts wrote stayed in their work folder.
    for home in ssh_pair["homes"]:
        assert sorted(p.name for p in home.iterdir() if not p.name.startswith(".bash") and p.name != ".profile") == \
            [".torchperf-fleet"]


def _tp(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torchperf_core", *args], cwd=project, capture_output=True,
                          text=True, timeout=600)


def _head(project: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()


@pytest.mark.slow
def test_merging_what_the_hosts_brought_back_again_changes_nothing(fleet_runs, fleet_project: Path) -> None:
    """The fleet merged each host's pull-back (.asv/fleet/<machine>); `torchperf merge` of the same
    folders is a no-op, byte for byte."""
    def tree() -> dict[str, bytes]:
        return {str(p.relative_to(fleet_project)): p.read_bytes() for top in ("results", "meta")
                for p in sorted((fleet_project / top).rglob("*")) if p.is_file()}

    before = tree()
    proc = _tp(fleet_project, "merge", *(f".asv/fleet/{m}" for m in MACHINES))
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"merged 0 new and 0 newer file\(s\); [1-9]\d* unchanged, 0 older one\(s\) skipped; "
                        r"machines: box-a, box-b", proc.stdout.strip()), proc.stdout
    assert tree() == before


@pytest.mark.slow
def test_compare_machines_renders_fleet_results(fleet_runs, fleet_project: Path) -> None:
    proc = _tp(fleet_project, "compare", "--machines", *MACHINES)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"machines box-a vs box-b at {_head(fleet_project)[:8]}, torch 2.13.0 "
                               "(ratio box-b/box-a; factor "), proc.stdout
    assert any("Sum" in line and re.search(r"\b\d+\.\d\d\b", line) for line in lines), proc.stdout


@pytest.mark.slow
def test_one_site_with_every_machine_and_the_machines_page(fleet_runs, fleet_project: Path) -> None:
    """Done when: one command gives one site with every machine (asv's selector lists both) and the
    comparison page: the --resume run published it (the first, with --no-publish, did not)."""
    import json

    _first, second, _a = fleet_runs
    html = fleet_project / "html"
    assert f"fleet: site published in {html}" in second.stderr, second.stderr[-3000:]
    assert "fleet: site published" not in _first.stderr  # --no-publish
    index = json.loads((html / "index.json").read_text())
    assert sorted(index["params"]["machine"]) == list(MACHINES)  # asv's machine selector
    page = (html / "torchperf" / "machines.html").read_text()
    assert '<tr data-machine="box-a">' in page and '<tr data-machine="box-b">' in page
    assert f"<h2>box-b against box-a at {_head(fleet_project)[:8]}, torch 2.13.0</h2>" in page
    assert f"<h2>box-a against box-b at {_head(fleet_project)[:8]}, torch 2.13.0</h2>" in page  # either reference


def _descendants(pid: int) -> list[int]:
    """The processes under `pid` (here: the sessions of a server this test started)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        todo += kids
    return found


@pytest.mark.slow  # starts sshd
def test_host_dying_mid_run_is_one_line(ssh_pair, tmp_path: Path) -> None:
    """The server side of a running session is killed (as when a host goes down mid-run)."""
    import asyncio
    import signal

    from torchperf_core.fleet import SshOptions
    from torchperf_core.fleet import remote

    host, log = Host("fleet-a"), tmp_path / "a.log"
    listener = ssh_pair["servers"][0].proc.pid

    async def scenario() -> str:
        conn = await remote.connect(host, SshOptions(config=ssh_pair["config"]))
        try:
            task = asyncio.create_task(remote.stream_run(conn, host, "echo started; sleep 60", log,
                                                         lambda done, total: None))
            for _ in range(400):
                if log.is_file() and "started" in log.read_text():
                    break
                await asyncio.sleep(0.05)
            for pid in _descendants(listener):
                os.kill(pid, signal.SIGKILL)
            with pytest.raises(remote.HostFailed) as info:
                await asyncio.wait_for(task, 30)
            return str(info.value)
        finally:
            conn.close()

    message = asyncio.run(scenario())
    assert log.read_text().startswith("started"), log.read_text()
    assert message == f"host fleet-a: the run was killed (signal); log: {log}" or (
        message.startswith("host fleet-a: connection lost during the run (") and message.endswith(f"; log: {log}")
        and "\n" not in message), message


def test_matrix_workflow_uploads_per_machine_and_merges_before_publishing() -> None:
    import yaml

    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "fleet-matrix.yml").read_text())
    bench, merge = wf["jobs"]["benchmark"], wf["jobs"]["merge"]
    assert bench["strategy"]["fail-fast"] is False
    machines = [m["machine"] for m in bench["strategy"]["matrix"]["include"]]
    assert len(machines) == len(set(machines)) >= 2  # one machine name per runner label
    run = next(s["run"] for s in bench["steps"] if "torchperf run" in s.get("run", ""))
    assert '--machine "${{ matrix.machine }}"' in run and "--no-publish" in run
    upload = next(s for s in bench["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()" and "meta/${{ matrix.machine }}/" in upload["with"]["path"]
    assert merge["needs"] == "benchmark" and merge["if"] == "always()"
    runs = [s.get("run", "") for s in merge["steps"]]
    assert runs.index("torchperf merge artifacts/*") < runs.index("torchperf publish")
    for step in bench["steps"] + merge["steps"]:
        assert ("uses" in step) != ("run" in step) and ("@v" in step["uses"] if "uses" in step else True)

"""One host of a fleet run, over SSH with asyncssh.

Why asyncssh: it verifies host keys strictly by default (an unknown host is refused even without a
known_hosts file), reads OpenSSH's client config (IdentityFile, UserKnownHostsFile, Port, User,
Hostname) and runs many hosts from one event loop. fabric trusts unknown hosts silently;
parallel-ssh has no known_hosts checking.

Security, as the connection is opened (`connect`): public-key authentication only (no password,
no keyboard-interactive prompt), agent forwarding off, host keys checked against known_hosts (never
disabled: `known_hosts=None` is not an option here). On the host everything is written under one
work folder, `~/.torchperf-fleet/<project>/`, including what pip, asv and torch would put in the
home folder (`HOME` points inside it for those processes):

    fleet.bundle   the project at the commit (`git bundle`: tracked files only, never a virtualenv
                   or results)
    src/           a git checkout of it (asv benchmarks git commits); results/, meta/, .asv/env
                   (the benchmark environments, reused by the next run) live in it
    venv/          the tool's environment (`pip install ./src`, redone only for a new commit)
    home/          HOME for pip, asv and torch

Of the local environment only whitelisted variables are sent (`forwarded_environment`): the ones
that change kernels or threads (the fingerprint's own whitelist) and pip's index/wheelhouse
settings, never one carrying credentials.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from torchperf_core.errors import TorchperfError
from torchperf_core.fleet.hosts import Host

WORK_ROOT = ".torchperf-fleet"
# pip's settings that let a host install from the same wheelhouse/index as `torchperf run` here.
PIP_VARIABLES = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONSTRAINT", "PIP_NO_INDEX",
                 "PIP_TRUSTED_HOST", "PIP_DEFAULT_TIMEOUT", "PIP_RETRIES")
_CREDENTIALS_RE = re.compile(r"://[^/\s@]+@")
# asv's progress lines: "· Running 4 total benchmarks (...)" then "[ 50.00%] ··· name   ok" (asv_runner's
# console: the bracket is steps done / total of this asv run; '·' is '-' on a terminal without Unicode).
_TOTAL_RE = re.compile(r"Running (\d+) total benchmarks")
_PERCENT_RE = re.compile(r"^\[\s*(\d+(?:\.\d+)?)%\]")


class CaseCounter:
    """Benchmarks done / total from the output of `torchperf run`, which runs asv once per torch
    version: each asv run announces its total and then reports its own percentage."""

    def __init__(self) -> None:
        self._before = 0  # benchmarks of the asv runs already finished
        self._current = 0  # the total of the asv run in progress
        self._done_now = 0

    def feed(self, line: str) -> tuple[int | None, int | None]:
        """(done, total so far) after `line`; (None, None) until asv has announced a total."""
        m = _TOTAL_RE.search(line)
        if m:
            self._before += self._current
            self._current, self._done_now = int(m.group(1)), 0
        else:
            m = _PERCENT_RE.match(line)
            if m and self._current:
                self._done_now = max(self._done_now, round(float(m.group(1)) / 100 * self._current))
        total = self._before + self._current
        return (self._before + self._done_now, total) if total else (None, None)


class HostFailed(Exception):
    """A host that cannot go on; the message is the one line shown for it."""


def forwarded_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What of the local environment a host's run gets: the fingerprint's whitelist (kernel and
    thread settings; LD_PRELOAD is a local path and stays here) and pip's index settings, minus any
    value with credentials in it (`https://user:token@...`)."""
    from torchperf_core.env import scrub_environment

    kept = {k: v for k, v in scrub_environment(environ).items() if k != "LD_PRELOAD"}
    kept.update({k: environ[k] for k in PIP_VARIABLES if k in environ})
    return {k: v for k, v in sorted(kept.items()) if not _CREDENTIALS_RE.search(v)}


def work_folder(project: str) -> str:
    """The host's work folder, relative to its home: `.torchperf-fleet/<project>`."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", project).strip(".") or "project"
    return f"{WORK_ROOT}/{safe}"


@dataclass(frozen=True)
class SshOptions:
    """Where the SSH settings come from (default: OpenSSH's own files under ~/.ssh)."""

    config: Path | None = None  # --ssh-config; None: ~/.ssh/config when present
    known_hosts: Path | None = None  # --known-hosts; None: the config's UserKnownHostsFile or ~/.ssh/known_hosts
    connect_timeout: float = 30.0


def unknown_host_message(host: Host, address: str, port: int, known_hosts: str = "~/.ssh/known_hosts") -> str:
    """The one line for a host whose key is not in known_hosts: how to trust it, after checking,
    in the known_hosts file the fleet actually reads."""
    return (f"host {host.label}: unknown host key; trust it with `ssh-keyscan -p {port} {address} >> "
            f"{known_hosts}` after checking its fingerprint")


def _known_hosts_file(resolved: Any) -> str:
    """The file asyncssh checked: --known-hosts, else the config's UserKnownHostsFile, else ~/.ssh/known_hosts."""
    value = resolved.known_hosts
    first = value[0] if isinstance(value, (list, tuple)) and value else value
    return shlex.quote(str(first)) if isinstance(first, (str, Path)) and str(first) else "~/.ssh/known_hosts"


def client_options(host: Host, options: SshOptions) -> Any:
    """The asyncssh settings for `host`: OpenSSH's config (HostName, Port, User, IdentityFile,
    UserKnownHostsFile) resolved first, then the fleet's rules on top, whatever the config says:
    public keys only (no password, keyboard-interactive, GSS or host-based login), no agent
    forwarding, host keys checked (never `known_hosts=None`). HostFailed on unusable settings."""
    import asyncssh

    kwargs: dict[str, Any] = {
        "password": None, "preferred_auth": "publickey", "password_auth": False, "kbdint_auth": False,
        "gss_auth": False, "host_based_auth": False, "agent_forwarding": False,
        "connect_timeout": options.connect_timeout, "keepalive_interval": 30, "keepalive_count_max": 4,
    }  # fmt: skip
    # `()` is asyncssh's "~/.ssh/config when readable"; SSHClientConnectionOptions' own default
    # (None) would read no config at all.
    kwargs["config"] = [str(options.config)] if options.config is not None else ()
    if options.known_hosts is not None:
        kwargs["known_hosts"] = str(options.known_hosts)
    if host.port is not None:
        kwargs["port"] = host.port
    if host.user is not None:
        kwargs["username"] = host.user
    try:
        return asyncssh.SSHClientConnectionOptions(host=host.host, **kwargs)
    except (OSError, ValueError, asyncssh.Error) as exc:
        raise HostFailed(f"host {host.label}: unusable SSH settings ({_reason(exc)})") from None


async def connect(host: Host, options: SshOptions) -> Any:
    """An authenticated connection, or HostFailed with the one line to show."""
    import asyncssh

    # Resolved first (the config's HostName, Port, User apply), so a message names the real target.
    resolved = client_options(host, options)
    try:
        return await asyncssh.connect(host.host, options=resolved)
    except asyncssh.HostKeyNotVerifiable:
        raise HostFailed(unknown_host_message(host, resolved.host, resolved.port,
                                              _known_hosts_file(resolved))) from None
    except asyncssh.PermissionDenied:
        raise HostFailed(f"host {host.label}: authentication refused (public keys only; check IdentityFile "
                         "in ~/.ssh/config and the host's authorized_keys)") from None
    except (OSError, asyncio.TimeoutError, asyncssh.Error, ValueError) as exc:
        raise HostFailed(f"host {host.label}: cannot connect ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:200]


async def run_checked(conn: Any, host: Host, what: str, script: str, *, timeout: float | None = 600) -> str:
    """Run a short POSIX sh script; its output on success, HostFailed naming `what` otherwise."""
    import asyncssh

    try:
        result = await asyncio.wait_for(conn.run(f"sh -c {shlex.quote(script)}", check=False), timeout)
    except asyncio.TimeoutError:
        raise HostFailed(f"host {host.label}: {what} timed out") from None
    except (OSError, asyncssh.Error) as exc:
        raise HostFailed(f"host {host.label}: connection lost while {what} ({_reason(exc)})") from None
    if result.exit_status != 0:
        tail = (str(result.stderr or "") + str(result.stdout or "")).strip().splitlines()
        raise HostFailed(f"host {host.label}: {what} failed (exit {result.exit_status}): "
                         f"{tail[-1][:200] if tail else 'no output'}")
    return str(result.stdout or "")


async def remote_hostname(conn: Any, host: Host) -> str:
    """The remote host name: the asv machine name when the hosts file gives none."""
    from torchperf_core.run import parse_machine

    name = (await run_checked(conn, host, "asking its host name", "hostname")).strip()
    try:
        return parse_machine(name) or ""
    except TorchperfError as exc:
        raise HostFailed(f"host {host.label}: {exc}; give a machine name after the host in the hosts file") from None


def prepare_script(work: str, commit: str, branch: str, env: Mapping[str, str]) -> str:
    """Check out the uploaded bundle at `commit` and (re)install the tool when the commit changed."""
    q = shlex.quote
    return "\n".join([
        "set -e",
        f'mkdir -p "$HOME"/{q(work)}/home && cd "$HOME"/{q(work)}',
        "command -v git >/dev/null || { echo 'git is not installed on this host' >&2; exit 3; }",
        "[ -d src/.git ] || git clone -q --no-checkout fleet.bundle src",
        "git -C src fetch -q ../fleet.bundle HEAD",
        f"git -C src checkout -q -f -B {q(branch)} {q(commit)}",
        "[ -x venv/bin/python ] || python3 -m venv venv",
        f'if [ "$(cat venv/.torchperf-commit 2>/dev/null)" != {q(commit)} ]; then',
        f'  {_env_prefix(env, "$PWD/home")} venv/bin/python -m pip install -q -c src/requirements/constraints.txt ./src',
        f"  echo {q(commit)} > venv/.torchperf-commit",
        "fi",
    ])


def _env_prefix(env: Mapping[str, str], home: str) -> str:
    """`env HOME=<work>/home ...`: pip, asv and torch write their caches inside the work folder;
    the user's own pip config (~/.config/pip) is still read."""
    pairs = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    return f'env HOME="{home}" XDG_CONFIG_HOME="${{XDG_CONFIG_HOME:-$HOME/.config}}" {pairs}'.rstrip()


def run_script(work: str, args: Sequence[str], env: Mapping[str, str]) -> str:
    """`torchperf run ARGS` in the checkout; unbuffered, so asv's progress lines arrive as they happen."""
    q = shlex.quote
    env = {**env, "PYTHONUNBUFFERED": "1"}
    return "\n".join([
        f'cd "$HOME"/{q(work)}',
        f"cd src && {_env_prefix(env, '$PWD/../home')} ../venv/bin/torchperf run "
        + " ".join(q(a) for a in args) + " 2>&1",
    ])


async def stream_run(conn: Any, host: Host, script: str, log: Path,
                     on_cases: Callable[[int | None, int | None], None]) -> int:
    """Run the suite, writing its output to `log` and counting finished benchmarks; the exit status."""
    import asyncssh

    counter = CaseCounter()
    tail = ""
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with log.open("w", encoding="utf-8") as out:
            async with conn.create_process(f"sh -c {shlex.quote(script)}", stderr=asyncssh.STDOUT) as proc:
                async for line in proc.stdout:
                    out.write(line)
                    out.flush()
                    if line.strip():
                        tail = line.strip()
                    on_cases(*counter.feed(line))
                await proc.wait()
                status = proc.exit_status
    except (OSError, asyncssh.Error) as exc:
        raise HostFailed(f"host {host.label}: connection lost during the run ({_reason(exc)}); log: {log}") from None
    if status is None:
        raise HostFailed(f"host {host.label}: the run was killed (signal); log: {log}")
    if status not in (0, 1):
        raise HostFailed(f"host {host.label}: torchperf run failed (exit {status}): {tail[:200]}; log: {log}")
    return int(status)


async def pull_results(conn: Any, host: Host, work: str, machine: str, staging: Path) -> None:
    """Copy the host's results/<machine>/, benchmarks.json and meta/<machine>/ into `staging`."""
    import asyncssh

    (staging / "results").mkdir(parents=True, exist_ok=True)
    (staging / "meta").mkdir(parents=True, exist_ok=True)
    try:
        async with conn.start_sftp_client() as sftp:
            src = f"{work}/src"
            await sftp.get(f"{src}/results/{machine}", str(staging / "results"), recurse=True, preserve=True)
            await sftp.get(f"{src}/results/benchmarks.json", str(staging / "results"), preserve=True)
            if await sftp.isdir(f"{src}/meta/{machine}"):
                await sftp.get(f"{src}/meta/{machine}", str(staging / "meta"), recurse=True, preserve=True)
    except (OSError, asyncssh.Error) as exc:
        raise HostFailed(f"host {host.label}: bringing its results back failed ({_reason(exc)})") from None


async def upload(conn: Any, host: Host, work: str, bundle: Path) -> None:
    import asyncssh

    try:
        async with conn.start_sftp_client() as sftp:
            await sftp.makedirs(work, exist_ok=True)
            await sftp.put(str(bundle), f"{work}/fleet.bundle")
    except (OSError, asyncssh.Error) as exc:
        raise HostFailed(f"host {host.label}: uploading the project failed ({_reason(exc)})") from None

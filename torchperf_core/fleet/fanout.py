"""`torchperf fleet run`: the same `torchperf run` on every host of a hosts file, in parallel.

    connect to every host (strict host keys, public keys only)        -- a failure: that host's line
    name each host (the file's name, else its `hostname`); two hosts under one name: refuse, run nothing
    --resume: leave out the hosts whose results for this commit are already merged here
    git bundle of the commit, once
    per host, concurrently: upload -> checkout + install -> torchperf run --no-publish -> pull back
    merge each host's results as it finishes (`merge.merge_results`, the code of `torchperf merge`)

A host that is down, refuses authentication or dies mid-run ends with one line; the others go on.
The outcome says which hosts failed: the command exits 1 then. The local project lock is held
throughout, so a `torchperf run` in this checkout cannot interleave its writes with the merges.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, TextIO

from torchperf_core.errors import TorchperfError
from torchperf_core.fleet import remote
from torchperf_core.fleet.hosts import Host, check_unique_machines
from torchperf_core.fleet.merge import MergeReport, merge_results
from torchperf_core.fleet.progress import Progress

STAGING = Path(".asv") / "fleet"


@dataclass(frozen=True)
class FleetPlan:
    """What every host runs: `torchperf run` options, validated here by the run room's parsers."""

    hosts: tuple[Host, ...]
    torch_versions: tuple[str, ...]
    tier: str = "default"
    bench: str | None = None
    devices: tuple[str, ...] | None = None
    quick: bool = False
    machine_checks: bool = True
    resume: bool = False
    ssh: remote.SshOptions = field(default_factory=remote.SshOptions)

    def run_args(self, machine: str) -> list[str]:
        """The host's `torchperf run` arguments (it never publishes: the site is built here)."""
        args = ["--machine", machine, "--torch", *self.torch_versions, "--tier", self.tier, "--no-publish"]
        if self.bench:
            args += ["--bench", self.bench]
        if self.devices:
            args += ["--device", *self.devices]
        if self.quick:
            args.append("--quick")
        if not self.machine_checks:
            args.append("--no-machine-checks")
        if self.resume:
            args.append("--resume")
        return args


@dataclass(frozen=True)
class HostOutcome:
    host: Host
    machine: str | None
    status: str  # "ok" | "partial" (some torch version failed there) | "skipped" | "failed"
    message: str = ""
    merged: MergeReport | None = None


@dataclass(frozen=True)
class FleetOutcome:
    commit: str
    hosts: tuple[HostOutcome, ...]

    @property
    def failed(self) -> tuple[HostOutcome, ...]:
        return tuple(h for h in self.hosts if h.status in ("failed", "partial"))

    @property
    def exit_code(self) -> int:
        """1 when any host failed or brought back only part of its versions; else 0."""
        return 1 if self.failed else 0


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise TorchperfError(f"git {args[0]} failed in {root}: {tail}")
    return proc.stdout.strip()


def already_merged(results_dir: Path, machine: str, commit: str, versions: Sequence[str]) -> bool:
    """True when this project holds results of `machine` at `commit` for every torch version."""
    from torchperf_core.store import ResultsStore, release_of

    if not (results_dir / machine / "machine.json").is_file():
        return False
    have = {release_of(f.torch_version) for f in ResultsStore(results_dir).files(machine) if f.commit == commit}
    return all(v in have for v in versions)


def run_fleet(plan: FleetPlan, root: Path, stream: TextIO, *, live: bool) -> FleetOutcome:
    """Run the plan on every host; see the module docstring."""
    from torchperf_core.run import project_lock

    root = root.resolve()
    commit = _git(root, "rev-parse", "HEAD")
    with project_lock(root, what="torchperf fleet run"):
        return asyncio.run(_fleet(plan, root, commit, stream, live))


async def _fleet(plan: FleetPlan, root: Path, commit: str, stream: TextIO, live: bool) -> FleetOutcome:
    from torchperf_core.store import CONFIG_NAME, read_config

    conf = read_config(root / CONFIG_NAME)
    progress = Progress([h.label for h in plan.hosts], stream, live=live)
    outcomes: dict[Host, HostOutcome] = {}
    conns: dict[Host, Any] = {}
    names: dict[Host, str] = {}  # host -> its `hostname`, for the hosts the file names no machine for

    async def open_one(host: Host) -> None:
        progress.stage(host.label, "connecting")
        try:
            conns[host] = await remote.connect(host, plan.ssh)
            if host.machine is None:
                progress.stage(host.label, "asking its host name")
                names[host] = await remote.remote_hostname(conns[host], host)
        except remote.HostFailed as exc:
            outcomes[host] = HostOutcome(host, None, "failed", str(exc))
            progress.finish(host.label, "FAILED")

    try:
        await asyncio.gather(*(open_one(h) for h in plan.hosts))
        check_unique_machines(plan.hosts, names)  # before anything runs
        machines = {h: h.machine or names[h] for h in plan.hosts if h in conns}
        if plan.resume:
            for host, machine in list(machines.items()):
                if already_merged(conf.results_dir, machine, commit, plan.torch_versions):
                    outcomes[host] = HostOutcome(host, machine, "skipped", "results for this commit already merged")
                    progress.finish(host.label, "already merged")
                    del machines[host]
        if machines:
            staging = root / STAGING
            staging.mkdir(parents=True, exist_ok=True)
            bundle = staging / "fleet.bundle"
            _git(root, "bundle", "create", "-q", str(bundle), "HEAD")
            merge_lock = asyncio.Lock()
            ticker = asyncio.create_task(_tick(progress)) if live else None
            await asyncio.gather(*(
                _one_host(plan, host, machine, conns[host], conf, commit, bundle, staging, progress,
                          merge_lock, outcomes)
                for host, machine in machines.items()
            ))  # fmt: skip
            if ticker is not None:
                ticker.cancel()
    finally:
        for conn in conns.values():
            conn.close()
    return FleetOutcome(commit, tuple(outcomes[h] for h in plan.hosts))


async def _tick(progress: Progress) -> None:
    while True:
        await asyncio.sleep(1.0)
        progress.tick()


async def _one_host(plan: FleetPlan, host: Host, machine: str, conn: Any, conf: Any, commit: str, bundle: Path,
                    staging_root: Path, progress: Progress, merge_lock: asyncio.Lock,
                    outcomes: dict[Host, HostOutcome]) -> None:
    work = remote.work_folder(conf.project)
    env = remote.forwarded_environment(os.environ)
    staging = staging_root / machine
    branch = conf.branches[0] if conf.branches else "main"
    try:
        progress.stage(host.label, "uploading the project")
        await remote.upload(conn, host, work, bundle)
        progress.stage(host.label, "installing torchperf")
        await remote.run_checked(conn, host, "installing torchperf", remote.prepare_script(work, commit, branch, env),
                                 timeout=3600)
        progress.stage(host.label, f"running (tier {plan.tier})")
        status = await remote.stream_run(conn, host, remote.run_script(work, plan.run_args(machine), env),
                                         staging_root / f"{machine}.log",
                                         lambda done, total: progress.cases(host.label, done, total))
        progress.stage(host.label, "bringing results back")
        if staging.exists():
            shutil.rmtree(staging)
        await remote.pull_results(conn, host, work, machine, staging)
        async with merge_lock:
            try:
                report = merge_results([staging], conf.results_dir, conf.meta_dir)
            except TorchperfError as exc:
                raise remote.HostFailed(f"host {host.label}: its results were not merged: {exc}") from None
    except remote.HostFailed as exc:
        outcomes[host] = HostOutcome(host, machine, "failed", str(exc))
        progress.finish(host.label, "FAILED")
        return
    if status == 1:
        message = (f"host {host.label}: some torch versions failed there; the rest was merged "
                   f"(log: {staging_root / f'{machine}.log'})")
        outcomes[host] = HostOutcome(host, machine, "partial", message, report)
        progress.finish(host.label, "done, some versions failed")
        return
    outcomes[host] = HostOutcome(host, machine, "ok", "", report)
    progress.finish(host.label, "done")

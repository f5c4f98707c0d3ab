"""The main job behind `torchperf run`: asv over the suite in one environment per PyTorch release.

Steps, each a function here so tests and other commands can reuse them:

1. validate the user's choices (`RunPlan`) before anything reaches pip or asv;
2. register the machine non-interactively, with hardware keys (CPU model, GPU, driver, CUDA) that
   asv copies into every results file and that the published site offers as selectors
   (`asvglue.register_machine`);
3. write a derived asv config (`.asv/torchperf-run.conf.json`) whose matrix holds only the chosen
   torch versions (`asvglue.write_run_config`);
4. run `asv run` (its output streams to the terminal: environment builds take minutes), once per
   torch version, with the noise probes re-taken before each version after the first (the
   machine's speed for that version's sidecar);
5. write a fingerprint sidecar for every results file the run produced (`torchperf_core.sidecar`),
   measured by that environment's own Python;
6. publish the site (`publish_site`) and build the summary rows (`summarize_run`).

asv runs as `python -m asv` of the tool's interpreter, never through a shell.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from torchperf_core.run.sidecars import CASE_LOG_ENV, fingerprint_of, read_case_log, write_sidecars  # noqa: F401
from torchperf_core.run.summary import SummaryRow, summarize, summarize_run  # noqa: F401 - run's API
from torchperf_core.run.child import run_to_end
from torchperf_core.run.asvglue import (
    environment_pythons,
    register_machine,
    write_run_config,
)
from torchperf_core.errors import TorchperfError, one_of
from torchperf_core.store import parse_torch_version, parse_torch_versions, version_key  # noqa: F401 - run's API
from torchperf_core.store import SpeedRecord
from torchperf_core.run.guard import (
    check_commits,
    check_results_readable,
    low_disk_hint,
)
from torchperf_core.store import (
    CONFIG_NAME,
    AsvConfig,
    ISA_ENV,
    THREADS_ENV,
    read_config,
    sidecar_path,
)

TIERS = ("smoke", "default", "full")
DEVICES = ("cpu", "cuda")
# The benchmarks' case log during a run (CASE_LOG_ENV), relative to the checkout; .asv/ is asv's own and ignored.
CASE_LOG_NAME = Path(".asv") / "torchperf-cases.jsonl"
_MACHINE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# A git revision or range as asv accepts it ("HEAD~5..HEAD", "v1.0..main", "abc123^!"); no option
# or shell syntax can pass.
_COMMITS_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./~^@{}:-]*(\.\.\.?[A-Za-z0-9_][A-Za-z0-9_./~^@{}:-]*)?(\^!)?$")


# ---------------------------------------------------------------------------------------------
# 1. Validation


def parse_tier(text: str) -> str:
    if text not in TIERS:
        raise one_of(text, TIERS, "tier")
    return text


def parse_bench(text: str | None) -> str | None:
    if text is None:
        return None
    if text.startswith("-"):
        raise TorchperfError(f"benchmark regex {text!r} must not start with '-'")
    try:
        re.compile(text)
    except re.error as exc:
        raise TorchperfError(f"benchmark regex {text!r} is not a valid regular expression ({exc})") from None
    return text


def parse_devices(values: Iterable[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    out = []
    for value in values:
        if value not in DEVICES:
            raise one_of(value, DEVICES, "device")
        if value not in out:
            out.append(value)
    return tuple(out)


def parse_commits(text: str | None) -> str | None:
    if text is None:
        return None
    if not _COMMITS_RE.match(text):
        raise TorchperfError(f"commit range {text!r} not understood; expected e.g. HEAD~3..HEAD or v1.0..main")
    return text


def parse_machine(text: str | None) -> str | None:
    if text is None:
        return None
    if not _MACHINE_RE.match(text):
        raise TorchperfError(
            f"machine name {text!r} not accepted; use letters, digits, '.', '_' or '-' (e.g. ci-box)"
        )
    return text


@dataclass(frozen=True)
class RunPlan:
    """What `torchperf run` was asked to do, validated."""

    torch_versions: tuple[str, ...]
    tier: str = "default"
    bench: str | None = None
    devices: tuple[str, ...] | None = None
    commits: str | None = None
    existing: bool = False
    machine: str | None = None
    quick: bool = False
    resume: bool = False  # keep results already saved for a commit x environment (asv --skip-existing-successful)
    machine_checks: bool = True  # doctor + noise probes (+ calibration once) saved in meta/<machine>/
    threads: int | None = None  # the suite's thread count (None: torch's default); its own environment name
    rounds: int = 1  # separate asv runs per version, alternating the order (between-run replicates)
    isa: str | None = None  # a forced ATen/oneDNN ISA level ("avx2", "avx512"); its own environment name


def configured_torch_versions(config: AsvConfig) -> tuple[str, ...]:
    """The torch releases of the config's matrix, checked like `run --torch`."""
    versions = config.torch_requirement
    if versions is None:
        raise TorchperfError(f"asv config {str(config.path)!r} has no torch versions in matrix.req "
                             "(expected \"pip+torch\": [...])")
    if isinstance(versions, str) or not isinstance(versions, list):
        versions = [versions]
    return parse_torch_versions([str(v) for v in versions])


# ---------------------------------------------------------------------------------------------
# 2-4. Registering, configuring (asvglue.py) and running asv


def asv_run_command(plan: RunPlan, config: Path, machine: str, *, commit: str) -> list[str]:
    cmd = [sys.executable, "-m", "asv", "--config", str(config), "run", "--machine", machine,
           "--show-stderr", "--record-samples"]
    if plan.existing:
        cmd += ["-E", f"existing:{sys.executable}", "--set-commit-hash", commit]
    else:
        cmd += [plan.commits or f"{commit}^!"]
    if plan.bench:
        cmd += ["--bench", plan.bench]
    if plan.quick:
        cmd += ["--quick"]
    if plan.resume:
        cmd += ["--skip-existing-successful"]
    return cmd


def suite_environment(plan: RunPlan, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment asv and the benchmarks see: tier and devices for `benchmarks/common.py`."""
    env = dict(os.environ if base is None else base)
    env["TORCHPERF_TIER"] = plan.tier
    if plan.threads is not None:  # the matrix sets it too; an --existing run has no matrix
        env[THREADS_ENV] = str(plan.threads)
    if plan.isa is not None and plan.isa != "default":  # likewise for the forced ISA level
        env[ISA_ENV] = plan.isa
    if plan.devices:
        env["TORCHPERF_DEVICES"] = ",".join(plan.devices)
    return env


def head_commit(root: Path) -> str:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise TorchperfError(f"{root} is not a git repository with a commit; asv benchmarks git commits")
    return proc.stdout.strip()


def results_snapshot(results_dir: Path, machine: str) -> dict[Path, float]:
    folder = results_dir / machine
    if not folder.is_dir():
        return {}
    return {p: p.stat().st_mtime_ns for p in folder.glob("*.json") if p.name != "machine.json"}


def changed_results(before: Mapping[Path, float], after: Mapping[Path, float]) -> list[Path]:
    return sorted(p for p, t in after.items() if before.get(p) != t)


# ---------------------------------------------------------------------------------------------
# 5. Sidecars: sidecars.py

# ---------------------------------------------------------------------------------------------
# 6. Publish (the summary rows: summary.py)


def publish_site(config: Path) -> Path:
    """Publish the static site into html_dir: asv's pages plus torchperf's."""
    from torchperf_core.site import publish_site as torchperf_publish

    return Path(torchperf_publish(config).html_dir)


# ---------------------------------------------------------------------------------------------
# The whole job


def _latest_commit_files(paths: Sequence[Path]) -> list[Path]:
    """The results files of the most recent commit (by commit date) among `paths`."""
    dated = []
    for path in paths:
        data = json.loads(path.read_text())
        dated.append((data.get("date") or 0, str(data.get("commit_hash", "")), path))
    if not dated:
        return []
    _, newest, _ = max(dated, key=lambda d: (d[0], d[1]))
    return [p for _, c, p in dated if c == newest]


@dataclass(frozen=True)
class RunOutcome:
    machine: str
    results_files: tuple[Path, ...]
    sidecars: tuple[Path, ...]
    summary: tuple[SummaryRow, ...]
    html_dir: Path | None
    publish_error: str | None = None
    # (torch version, why) for each version whose asv run produced nothing (e.g. no such wheel)
    failed: tuple[tuple[str, str], ...] = ()
    # what the doctor warned about before the benchmarks ran (numbers taken then may be unreliable),
    # and compare's machine-speed line of each version measured at another speed than the oldest
    condition_warnings: tuple[str, ...] = ()


def run_suite(plan: RunPlan, root: Path, *, publish: bool = True,
              log: Callable[[str], None] = lambda s: None, lock_wait: float = 0.0) -> RunOutcome:
    """Register, run asv in every chosen environment, write sidecars, publish, summarize.

    Holds the project lock throughout (`lock.project_lock`): a second run in the same checkout
    refuses, or waits `lock_wait` seconds, instead of interleaving writes to results/.
    """
    from torchperf_core.run.lock import project_lock

    root = root.resolve()
    commit = head_commit(root)
    if plan.commits:
        check_commits(root, plan.commits)
    with project_lock(root, wait=lock_wait):
        return _run_locked(plan, root, commit, publish=publish, log=log)


def _run_locked(plan: RunPlan, root: Path, commit: str, *, publish: bool,
                log: Callable[[str], None]) -> RunOutcome:
    conf = read_config(root / CONFIG_NAME)  # a misspelt config is refused before anything runs
    meta_dir, results_dir = conf.meta_dir, conf.results_dir
    machine = register_machine(plan.machine)
    log(f"machine {machine!r} registered")
    condition: list[str] = []
    speed = None
    if plan.machine_checks:
        from torchperf_core.machine import load_condition, record_machine_condition

        # Before the benchmarks, so the verdict describes the machine they ran on.
        condition = record_machine_condition(machine, meta_dir, log=log)
        noise = load_condition(meta_dir, machine).noise  # as saved: the one reader of noise.json
        speed = noise.speed_record() if noise is not None else None
    check_results_readable(results_dir, machine)
    env = suite_environment(plan)
    # In the checkout, under the project lock, and emptied before anything appends: a run killed outright
    # (SIGKILL, the OOM killer) leaves at most this one file, which the next run empties, never a stray
    # temporary file per killed run, nor lines of its cases that a later run would merge as its own.
    case_log_file = root / CASE_LOG_NAME
    case_log_file.parent.mkdir(parents=True, exist_ok=True)
    case_log_file.write_text("")
    env[CASE_LOG_ENV] = str(case_log_file)
    try:
        return _run_logged(plan, root, commit, conf, machine, condition, env, case_log_file, publish=publish, log=log,
                           speed=speed)
    finally:
        case_log_file.unlink(missing_ok=True)


def _run_logged(plan: RunPlan, root: Path, commit: str, conf: Any, machine: str, condition: list[str],
                env: dict[str, str], case_log_file: Path, *, publish: bool, log: Callable[[str], None],
                speed: SpeedRecord | None = None) -> RunOutcome:
    meta_dir, results_dir = conf.meta_dir, conf.results_dir
    produced: list[Path] = []
    pythons: dict[str, str] = {}
    failed: list[tuple[str, str]] = []
    # One asv run per torch version: asv creates every environment of its matrix before running
    # anything and stops at the first that cannot be built, so a single unknown version would
    # otherwise cost every other version its results.
    groups = [plan.torch_versions] if plan.existing else [(v,) for v in plan.torch_versions]
    # Rounds (`--rounds N`): the whole run again, in the opposite order each time, so every version
    # gets N separately measured replicates (the drift between runs is then measured, not assumed
    # away) and none always runs first.
    schedule = [(r, g) for r in range(plan.rounds) for g in (groups if r % 2 == 0 else groups[::-1])]
    sidecars: list[Path] = []
    fingerprint = functools.cache(fingerprint_of)  # one probe per environment, not per round

    def file_sidecars(files: Sequence[Path], speed: SpeedRecord | None) -> None:
        # The case log holds what the benchmarks appended since the last call (asv is not running
        # now, so nothing appends while it is read and emptied): each line is merged exactly once.
        lines = read_case_log(case_log_file)
        case_log_file.write_text("")
        new_sidecars = write_sidecars(files, pythons, existing_python=sys.executable if plan.existing else None,
                                      meta_dir=meta_dir, fingerprint=fingerprint, case_log=lines, speed=speed)
        sidecars.extend(p for p in new_sidecars if p not in sidecars)

    done: list[str] = []
    asv_started = False  # the start-of-run probes stand for the first asv run, fresh ones for each later
    try:
        for round_index, versions in schedule:
            if any(versions[0] == v for v, _ in failed):
                continue
            if plan.rounds > 1:
                log(f"round {round_index + 1} of {plan.rounds}")
            # The machine's speed right before this version, not only at the start: a host that slows
            # down halfway through a run moves every ratio between versions, and the comparison of
            # their sidecars' records says so (compare.speed).
            version_speed = _probe_speed(versions, log) if speed is not None and asv_started else speed
            asv_started = True
            config = write_run_config(root, versions, threads=plan.threads, isa=plan.isa)
            before = results_snapshot(results_dir, machine)
            cmd = asv_run_command(plan, config, machine, commit=commit)
            log(("running: asv " + " ".join(cmd[3:])).replace(str(root) + os.sep, ""))
            returncode = run_to_end(cmd, cwd=root, env=env)
            new = changed_results(before, results_snapshot(results_dir, machine))
            if returncode != 0 and not new:
                why = (f"asv run failed (exit {returncode}) and wrote no results: the environment could not "
                       "be built (no such torch wheel for this Python/platform?) or every benchmark failed; see "
                       "asv's output above")
                if plan.existing:
                    raise TorchperfError(f"asv run failed (exit {returncode}) and wrote no results; see its output above")
                why += low_disk_hint(conf.env_dir)
                log(f"torch {versions[0]}: {why}")
                failed.append((versions[0], why))
                case_log_file.write_text("")  # nothing of it was saved
                continue
            produced.extend(p for p in new if p not in produced)
            if not plan.existing:
                pythons.update(environment_pythons(config))
            # Each version's sidecar (fingerprint, contention, run medians) as soon as its results
            # are saved: a run stopped later (Ctrl-C, SIGTERM, a job's time limit) keeps them whole.
            file_sidecars(new, version_speed)
            done.extend(v for v in versions if v not in done)
    except KeyboardInterrupt:
        if done:
            log(f"stopped: the results of torch {', '.join(done)} are saved with their sidecars; "
                "`torchperf run --resume` measures only what is missing")
        raise
    if plan.resume:
        # An interrupted run saved results but never got to fingerprint them, and asv leaves a
        # finished commit x environment untouched when resuming: fingerprint those now.
        missing = [p for p in sorted(results_snapshot(results_dir, machine))
                   if p not in produced and not sidecar_path(p, meta_dir).exists()]
        produced.extend(missing)
        if missing:
            file_sidecars(missing, None)  # measured by the interrupted run, whose speed was not kept
    if not produced:
        raise TorchperfError(f"no torch version produced results (failed: {', '.join(v for v, _ in failed)}); "
                             "see asv's output above")
    html, publish_error = None, None
    if publish:
        try:
            html = publish_site(conf.path)
        except TorchperfError as exc:  # the results are saved; say so and still summarize
            publish_error = str(exc)
    current = [p for p in produced if p.name.startswith(commit[:8])] or _latest_commit_files(produced)
    summary = summarize_run(current, results_dir / "benchmarks.json", meta_dir)
    return RunOutcome(machine, tuple(produced), tuple(sidecars), summary.rows, html, publish_error, tuple(failed),
                      tuple(condition) + summary.speed_lines)


def _probe_speed(versions: Sequence[str], log: Callable[[str], None]) -> SpeedRecord:
    """The noise probes again (as at the start, `machine.measure_noise`; noise.json keeps the start's)."""
    from torchperf_core.machine import NOISE_RUNS, NOISE_SAMPLES, measure_noise

    log(f"the machine's speed before torch {', '.join(versions)}: the noise probes again (seconds)")
    return measure_noise(NOISE_RUNS, NOISE_SAMPLES, None).speed_record()

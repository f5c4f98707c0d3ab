"""Workers: one process per release environment, all alive at once, measured in interleaved rounds.

Why interleaved: this kind of VM drifts ±5% over minutes and a neighbour's load comes and goes, so
two versions measured one after the other differ by the drift as much as by the code. In a round
every worker takes a block of samples in the order A B C, then C B A, and so on (A B B A A B B A for
a pair), so drift that is linear over a round, and most of a neighbour's burst, falls on every side.
"Most" is not "all": a burst can still land on one block, and on a 2-core machine its samples then
read whole scheduler quanta. Every block says whether the engine's contention probe saw it disturbed
(worker.py), and a round with any disturbed block is returned as disturbed, for the search to set
aside rather than judge.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from torchperf_core.bisect.cases import CaseSpec
from torchperf_core.bisect.envs import Environment
from torchperf_core.errors import TorchperfError

WORKER_SCRIPT = Path(__file__).with_name("worker.py")


@dataclass(frozen=True)
class Round:
    """One interleaved round: every version's samples, and the versions whose block(s) the engine's
    probe saw contended, with its cause. A round with any disturbed version is `disturbed`."""

    samples: dict[str, list[float]]
    disturbed: dict[str, str] = field(default_factory=dict)  # version -> cause

    @property
    def is_disturbed(self) -> bool:
        return bool(self.disturbed)


class Worker:
    """One release's measuring process (see worker.py for the protocol).

    Started in its own session: a Ctrl-C in the terminal reaches this process only, which keeps
    what was measured and closes the workers, instead of killing a worker in mid-answer."""

    def __init__(self, env: Environment, log: Path) -> None:
        self.env = env
        self.log_path = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log, "ab")
        environ = env.environ(os.environ)
        self.proc = subprocess.Popen([env.python, "-s", str(WORKER_SCRIPT)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log, text=True, env=environ,
                                     cwd=str(log.parent), start_new_session=True)
        self.kernel: tuple[str, str] | None = None

    def ask(self, request: Mapping[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        line = self.proc.stdout.readline()
        if not line:
            raise TorchperfError(f"the {self.env.version} worker died ({self._tail()})", exit_code=1)
        answer = json.loads(line)
        if not answer.get("ok"):
            raise WorkerError(self.env.version, str(answer.get("error")))
        return answer

    def _tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        return (lines[-1] if lines else "no output")[:200] + f"; log: {self.log_path}"

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write('{"cmd": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class WorkerError(Exception):
    """The case failed inside a release's environment (an import, a setup, a missing kernel)."""

    def __init__(self, version: str, message: str) -> None:
        super().__init__(f"{version}: {message}")
        self.version = version
        self.message = message


class Pool:
    """The live workers, keyed by release; a release's worker is started once and kept while needed."""

    def __init__(self, case: CaseSpec, package: str, logs: Path) -> None:
        self.case = case
        self.package = package
        self.logs = logs
        self.workers: dict[str, Worker] = {}

    def start(self, env: Environment) -> Worker:
        worker = self.workers.get(env.version)
        if worker is None:
            worker = Worker(env, self.logs / f"worker-{env.version}.log")
            self.workers[env.version] = worker
            try:
                answer = worker.ask({"cmd": "load", "case": self.case.to_json(), "package": self.package})
            except BaseException:
                self.stop(env.version)
                raise
            worker.kernel = tuple(answer["kernel"]) if answer.get("kernel") else None  # type: ignore[assignment]
        return worker

    def keep_only(self, versions: Sequence[str]) -> None:
        for version in [v for v in self.workers if v not in versions]:
            self.stop(version)

    def stop(self, version: str) -> None:
        worker = self.workers.pop(version, None)
        if worker is not None:
            worker.close()

    def close(self) -> None:
        for version in list(self.workers):
            self.stop(version)

    def round(self, versions: Sequence[str], samples: int, blocks: int = 4) -> Round:
        """One interleaved round: `blocks` blocks per worker, forwards then backwards (A B B A A B B A),
        so a burst of load from a neighbour falls on every side rather than on one; a block the probe
        saw contended marks its version (first cause kept)."""
        out: dict[str, list[float]] = {v: [] for v in versions}
        disturbed: dict[str, str] = {}
        for i in range(blocks):
            for version in (versions if i % 2 == 0 else list(reversed(versions))):
                answer = self.workers[version].ask({"cmd": "measure", "samples": samples})
                out[version].extend(float(x) for x in answer["samples"])
                if answer.get("contended"):
                    disturbed.setdefault(version, str(answer.get("cause") or "the machine was busy"))
        return Round(out, disturbed)

    def why(self, version: str) -> dict[str, Any]:
        return self.workers[version].ask({"cmd": "why"})

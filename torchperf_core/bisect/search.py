"""The search: endpoints first, then halve the range, one interleaved session per step.

    endpoints:  build good's and bad's environments; measure them interleaved (rounds of A B B A)
                until the verdict room's rule for paired rounds (`judge_paired`) decides;
                bad SAME as or FASTER than good -> stop: "not reproduced" (nothing to bisect)
                still UNKNOWN after max rounds -> stop: "undecided" (never "not reproduced")
    step k:     mid = the middle release of those strictly between lo and hi that are not skipped
                (a release pip cannot install, or whose case fails, is skipped with its reason)
                measure lo, mid, hi interleaved; judge_paired(lo, mid) and judge_paired(mid, hi):
                    mid SLOWER than lo, hi not SLOWER than mid -> mid is bad:  hi = mid
                    hi SLOWER than mid, mid not SLOWER than lo -> mid is good: lo = mid
                    both SLOWER, or both SAME  -> the larger ratio wins (a slowdown spread over
                                                  several releases)
                    otherwise undecided after max rounds -> stop with the range lo..hi
    end:        no release left between lo and hi: lo -> hi is the culprit pair

Why paired rounds: the sides of a step are measured together, round by round, so the round is the
replicate (the gate's design, issue 11): each round gives one median per version, the per-round
ratios are tested (paired t-test for "different", joined by the signed-rank test at looks with
enough rounds for it to reach its share of alpha, which the default 8 rounds are not; an
equivalence interval inside the factor for "same"), and anything else is UNKNOWN: another round is
taken, up to `max_rounds`, never a guess from one sample. Bonferroni spreads a 5% false-alarm budget
over every comparison and look the search can make (`search_alpha`), so a wrong step anywhere stays
unlikely.

Why disturbed rounds are set aside (issue 11): on a shared machine a neighbour's burst can land on
one side's block, whose samples then read scheduler quanta (8 ms for a 330 us case on 2 cores), and
a ratio judged from such a round is the neighbour's, not the release's. Every block carries the
engine probe's verdict (worker.py); a round in which any side's block was contended is kept in the
state (`disturbed`) but never judged, and another round is taken. Disturbed rounds count toward
`max_rounds`, so a busy machine cannot loop forever; a decision left with fewer than `min_rounds`
clean rounds because of them ends CONTENDED (`verdict.contended_reason`, the gate's rule and words):
"re-run on a quiet machine", never "not reproduced" and never a culprit.

Everything measured is written to the state file after every round, so Ctrl-C keeps it and the next
run with the same question resumes (a round cut short is re-taken). An undecided search (a range, or
undecided endpoints) re-run with a larger `max_rounds` measures its last decision on from the rounds
it has: the rounds are paired replicates whichever process took them, and each new look uses the
new `max_rounds`' alpha. The looks the first run made at its own (larger) alpha are not charged
again, so such a decision's false-alarm bound grows by (looks added / looks now allowed) of its
share: raising 8 rounds to 16 (from 3) makes it 1 + 8/14 = 1.57 times its share, and every further
raise adds again. Said in docs/BISECT.md; the user chooses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from torchperf_core.bisect.cases import CaseSpec
from torchperf_core.bisect.envs import Environment, EnvironmentCache, Skipped
from torchperf_core.bisect.pool import Pool, WorkerError
from torchperf_core.bisect.state import CULPRIT, NOT_REPRODUCED, PAUSED, RANGE, UNDECIDED, BisectState
from torchperf_core.bisect.why import explain
from torchperf_core.errors import TorchperfError
from torchperf_core.engine import stats
from torchperf_core.verdict import (CONTENDED, MIN_ROUNDS, SLOWER, UNKNOWN, contended_reason, judge_paired,
                                   per_case_alpha)

Progress = Callable[..., None]


@dataclass(frozen=True)
class Rounds:
    """How much is measured per step: a round is `blocks` blocks of `samples` per version (A B B A);
    a step takes between `min_rounds` and `max_rounds` rounds."""

    samples: int = 10
    blocks: int = 2
    min_rounds: int = MIN_ROUNDS
    max_rounds: int = 8

    def __post_init__(self) -> None:
        if not MIN_ROUNDS <= self.min_rounds <= self.max_rounds:
            raise TorchperfError(f"rounds {self.min_rounds}..{self.max_rounds}: need {MIN_ROUNDS} <= min <= max "
                                 f"(fewer than {MIN_ROUNDS} rounds cannot estimate their spread)")

    @property
    def looks(self) -> int:
        return self.max_rounds - self.min_rounds + 1


def search_alpha(n_between: int, rounds: Rounds) -> float:
    """The p-value one comparison must beat: the search's 5% false-alarm budget (FAMILY_ALPHA)
    shared, Bonferroni, by every comparison it may make (the endpoints, two per step) and look."""
    return per_case_alpha(1 + 2 * expected_steps(n_between), rounds.looks)


def pooled(rounds: Sequence[Mapping[str, Sequence[float]]], version: str) -> list[float]:
    return [x for r in rounds for x in r.get(version, ())]


def round_medians(rounds: Sequence[Mapping[str, Sequence[float]]], version: str) -> list[float]:
    """The replicate of an interleaved measurement: one median per round."""
    return [stats.median(r[version]) for r in rounds if r.get(version)]


def compare_pair(rounds: Sequence[Mapping[str, Sequence[float]]], before: str, after: str,
                 factor: float, alpha: float) -> dict[str, Any]:
    """`judge_paired` on a session's rounds: after/before, paired by round."""
    j = judge_paired(round_medians(rounds, before), round_medians(rounds, after), factor, alpha)
    return {"before": before, "after": after, "verdict": j.verdict, "undecided": j.verdict == UNKNOWN,
            "ratio": j.ratio, "ci": list(j.ci) if j.ci else None, "rounds": j.rounds, "alpha": alpha,
            "p": j.deciding_p, "decided_by": j.decided_by}


def decide_endpoints(rounds: Sequence[Mapping[str, Sequence[float]]], good: str, bad: str, factor: float,
                     alpha: float) -> tuple[str | None, list[dict[str, Any]]]:
    """("slower" | "not reproduced" | None while undecided, the comparison)."""
    c = compare_pair(rounds, good, bad, factor, alpha)
    if c["verdict"] == SLOWER:
        return SLOWER, [c]
    return (None if c["undecided"] else NOT_REPRODUCED), [c]


def decide_mid(rounds: Sequence[Mapping[str, Sequence[float]]], lo: str, mid: str, hi: str, factor: float,
               alpha: float) -> tuple[str | None, list[dict[str, Any]]]:
    """("bad" | "good" | None while undecided, the two comparisons): which side of the step is mid on."""
    left, right = compare_pair(rounds, lo, mid, factor, alpha), compare_pair(rounds, mid, hi, factor, alpha)
    slow_left, slow_right = left["verdict"] == SLOWER, right["verdict"] == SLOWER
    if slow_left != slow_right:
        # One side holds a significant slowdown: the search follows it, whatever the other side's
        # state (a second, smaller step there would be a second culprit, not this one).
        return ("bad" if slow_left else "good"), [left, right]
    if left["undecided"] or right["undecided"]:
        return None, [left, right]
    return ("bad" if left["ratio"] >= right["ratio"] else "good"), [left, right]


def taken(session: Mapping[str, Any]) -> int:
    """Rounds a session has taken, clean and disturbed: what --max-rounds bounds."""
    return len(session["rounds"]) + len(session["disturbed"])


def last_cause(disturbed: Sequence[Mapping[str, Any]]) -> str | None:
    """The cause of the latest disturbed round, naming the version whose block it hit."""
    for entry in reversed(disturbed):
        for version, cause in (entry.get("causes") or {}).items():
            return f"{version}: {cause}"
    return None


def expected_steps(n_between: int) -> int:
    return math.ceil(math.log2(n_between + 1)) if n_between else 0


@dataclass
class Bisector:
    """One bisect run: its question (in `state`), environments, workers and progress callback."""

    case: CaseSpec
    package: str
    state: BisectState
    envs: EnvironmentCache
    rounds: Rounds
    progress: Progress
    max_steps: int | None = None
    _envs: dict[str, Environment] = field(default_factory=dict)

    def run(self) -> BisectState:
        pool = Pool(self.case, self.package, self.state.path.parent / "logs")
        try:
            self._run(pool)
            if self.state.status == CULPRIT and self.case.needs_torch and self.state.why is None:
                self._explain(pool)
        finally:
            pool.close()
        return self.state

    def _explain(self, pool: Pool) -> None:
        """The "why" at the culprit pair, asked of each side's own environment."""
        lo, hi = self.state.lo, self.state.hi
        self.progress("why", lo=lo, hi=hi)
        try:
            if self._start(pool, [lo, hi]) is not None:
                raise WorkerError(lo, "environment unavailable")
            kernel = pool.workers[hi].kernel
            self.state.why = explain(pool.why(lo), pool.why(hi), self.case, kernel)
        except (WorkerError, TorchperfError) as exc:
            self.state.why = {"error": str(exc)}
        self.state.save()

    def _undecided_note(self, what: str, session: Mapping[str, Any]) -> str:
        """Why the search stopped undecided, and how to go on."""
        n = taken(session)
        return (f"{what} after {n} rounds" + (f" ({session['note']})" if session["note"] else "")
                + f"; re-run with --max-rounds above {n} to measure on")

    def _reopen(self) -> bool:
        """An undecided search's last decision measures on when --max-rounds now allows more rounds
        than it took (its session is reopened, its rounds kept); False: nothing more to take."""
        last = self.state.sessions[-1]
        if taken(last) >= self.rounds.max_rounds:
            return False
        last["outcome"] = None
        self.progress("reopen", step=last["step"], versions=last["versions"], taken=taken(last),
                      max_rounds=self.rounds.max_rounds)
        return True

    # -- environments ------------------------------------------------------------------------

    def _env(self, version: str) -> Environment | None:
        if version in self._envs:
            return self._envs[version]
        if version in self.state.skipped:
            return None
        got = self.envs.ensure(version, self.progress)
        if isinstance(got, Skipped):
            self.state.skip(version, got.reason)
            self.progress("skip", version=version, reason=got.reason)
            return None
        self._envs[version] = got
        return got

    def _start(self, pool: Pool, versions: Sequence[str]) -> str | None:
        """Start every worker; the first version whose case fails to load, or None."""
        pool.keep_only(versions)
        for version in versions:
            env = self._env(version)
            if env is None:
                return version
            try:
                pool.start(env)
            except WorkerError as exc:
                self.state.skip(version, f"the case fails there: {exc.message}")
                self.progress("skip", version=version, reason=f"the case fails there: {exc.message}")
                return version
        return None

    # -- measuring ---------------------------------------------------------------------------

    def _session(self, pool: Pool, step: int, versions: list[str],
                 decide: Callable[[list[dict[str, list[float]]]], tuple[str | None, list[dict[str, Any]]]]
                 ) -> dict[str, Any]:
        """Rounds until `decide` decides or `max_rounds` (clean and disturbed together) are taken; only
        clean rounds are judged. The session's outcome: decide's, CONTENDED, or "undecided"."""
        session = self.state.open_session(step, versions)
        rounds: list[dict[str, list[float]]] = session["rounds"]
        disturbed: list[dict[str, Any]] = session["disturbed"]
        outcome, comparisons = (None, [])
        if len(rounds) >= self.rounds.min_rounds:
            outcome, comparisons = decide(rounds)
        while outcome is None and taken(session) < self.rounds.max_rounds:
            got = pool.round(versions, self.rounds.samples, self.rounds.blocks)
            number = taken(session) + 1
            if got.is_disturbed:
                disturbed.append({"round": number, "samples": got.samples, "causes": got.disturbed})
                self.state.save()
                self.progress("disturbed", step=step, round=number, versions=versions, cause=last_cause(disturbed))
                continue
            rounds.append(got.samples)
            self.state.save()
            self.progress("round", step=step, round=number, versions=versions)
            if len(rounds) >= self.rounds.min_rounds:
                outcome, comparisons = decide(rounds)
        note = ""
        if outcome is None:
            reason = contended_reason(len(rounds), len(disturbed), last_cause(disturbed), self.rounds.min_rounds)
            if reason is not None:
                outcome, note = CONTENDED, reason
            elif disturbed:
                note = f"{len(disturbed)} disturbed round(s) set aside"
        self.state.close_session(session, outcome or UNDECIDED, comparisons, note=note)
        return session

    def _run(self, pool: Pool) -> None:
        state, factor = self.state, self.state.factor
        good, bad = state.good, state.bad
        alpha = search_alpha(len(state.releases) - 2, self.rounds)
        if state.status in (CULPRIT, NOT_REPRODUCED):
            return
        # the last decision undecided (a range, undecided endpoints, or a run stopped between closing
        # that session and finishing): measured on if --max-rounds allows, else a finished search reports again
        last = state.sessions[-1] if state.sessions else None
        if last is not None and last["outcome"] == UNDECIDED and not self._reopen() \
                and state.status in (RANGE, UNDECIDED):
            return
        state.status = "running"  # a contended, paused or reopened search measures on
        if not state.endpoints_measured:
            for version, flag in ((good, "--good"), (bad, "--bad")):
                self.progress("endpoint", version=version)
                failed = self._start(pool, [good, bad][: 1 if version == good else 2])
                if failed is not None:
                    raise TorchperfError(f"{flag} {self.package} {failed} cannot be measured: {state.skipped[failed]}")
            self.progress("measure endpoints", versions=[good, bad])
            try:
                session = self._session(pool, 0, [good, bad], lambda r: decide_endpoints(r, good, bad, factor, alpha))
            except WorkerError as exc:
                raise TorchperfError(f"the case failed in {self.package} {exc}") from None
            if session["outcome"] == CONTENDED:
                state.finish(CONTENDED, good, bad, note=f"{good} vs {bad} (the endpoints): {session['note']}")
                return
            if session["outcome"] == NOT_REPRODUCED:
                state.finish(NOT_REPRODUCED, good, bad)
                return
            if session["outcome"] != SLOWER:
                note = self._undecided_note("the endpoints could not be told apart", session)
                state.finish(UNDECIDED, good, bad, note=note)
                return
            state.lo, state.hi = good, bad
            state.save()
        steps_done = sum(1 for s in state.sessions
                         if s["step"] > 0 and s["outcome"] not in (None, CONTENDED, UNDECIDED))
        while True:
            lo, hi = state.lo, state.hi
            between = [v for v in state.releases if state.index(lo) < state.index(v) < state.index(hi)
                       and v not in state.skipped]
            if not between:
                state.finish(CULPRIT, lo, hi)
                return
            if self.max_steps is not None and steps_done >= self.max_steps:
                state.finish(PAUSED, lo, hi)
                return
            mid = between[len(between) // 2]
            step = steps_done + 1
            self.progress("step", step=step, total=steps_done + expected_steps(len(between)), version=mid,
                          lo=lo, hi=hi)
            failed = self._start(pool, [lo, mid, hi])
            if failed in (lo, hi):
                raise TorchperfError(f"{self.package} {failed}, a bound of the search, cannot be measured any more: "
                                     f"{state.skipped[failed]}", exit_code=1)
            if failed is not None:
                continue  # mid skipped (recorded): the next middle release is tried
            try:
                session = self._session(pool, step, [lo, mid, hi],
                                        lambda r: decide_mid(r, lo, mid, hi, factor, alpha))
            except WorkerError as exc:
                if exc.version in (lo, hi):
                    raise TorchperfError(f"the case failed in {self.package} {exc}", exit_code=1) from None
                pool.stop(mid)
                state.skip(mid, f"the case fails there: {exc.message}")
                self.progress("skip", version=mid, reason=f"the case fails there: {exc.message}")
                continue
            steps_done += 1
            if session["outcome"] == "bad":
                state.hi = mid
            elif session["outcome"] == "good":
                state.lo = mid
            elif session["outcome"] == CONTENDED:
                state.finish(CONTENDED, lo, hi, note=f"{mid} between {lo} and {hi} (step {step}): {session['note']}")
                return
            else:
                note = self._undecided_note(f"{mid} could not be told apart from {lo} or {hi}", session)
                state.finish(RANGE, lo, hi, note=note)
                return
            state.save()


"""The state file of one bisect question: what was measured and decided, for resuming.

One JSON file per question (package, case, good, bad, index, factor) under `<cache>/runs/`. It is
rewritten atomically after every round, so Ctrl-C loses at most the round in progress, and a re-run
of the same question continues where the last one stopped (a finished one just reports again; an
undecided one measures on when --max-rounds allows more rounds than it took: search.Bisector).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from torchperf_core.formats import check_format_version
from torchperf_core.store import write_json
from torchperf_core.verdict import CONTENDED

# State file history:
#   1 — first version: question, releases, skipped, sessions (rounds of samples), lo/hi, status.
#   2 — sessions gain "disturbed" (rounds the contention probe saw disturbed, set aside: round
#       number, samples, causes by version) and "note"; "rounds" holds the clean rounds only; status
#       may be "contended". A version 1 file reads as having no disturbed rounds (none were watched).
#   3 — status may be "undecided": the endpoints were still unknown after --max-rounds (versions 1
#       and 2 called that "not reproduced", as if decided; they read back as "undecided": the status
#       of the last endpoints session, whose outcome says "undecided").
BISECT_STATE_FORMAT_VERSION = 3
_READS = (1, 2, 3)

# Statuses of a finished (or paused) search. CONTENDED (the verdict room's "contended"): a decision
# could not get enough clean rounds. RANGE: a step still unknown after --max-rounds; UNDECIDED: the
# endpoints still unknown after --max-rounds (never "not reproduced", which the rule decided). Both
# undecided kinds measure on when re-run with a larger --max-rounds.
CULPRIT, RANGE, NOT_REPRODUCED, PAUSED, UNDECIDED = "culprit", "range", "not reproduced", "paused", "undecided"


def question_key(question: Mapping[str, Any]) -> str:
    """The state file's name: readable endpoints plus a hash of the whole question."""
    digest = hashlib.sha256(json.dumps(question, sort_keys=True).encode()).hexdigest()[:10]
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in str(question["package"]))
    return f"{safe}-{question['good']}-{question['bad']}-{digest}"


class BisectState:
    """The mutable record of a search; `save()` writes it, `load()` reads it back."""

    def __init__(self, path: Path, question: Mapping[str, Any], releases: Sequence[str]) -> None:
        self.path = path
        self.question = dict(question)
        self.releases = list(releases)
        self.skipped: dict[str, str] = {}
        self.sessions: list[dict[str, Any]] = []
        self.lo: str = releases[0]
        self.hi: str = releases[-1]
        self.status = "running"
        self.note = ""
        self.why: dict[str, Any] | None = None
        self.resumed = False

    # -- the question ------------------------------------------------------------------------

    @property
    def good(self) -> str:
        return str(self.question["good"])

    @property
    def bad(self) -> str:
        return str(self.question["bad"])

    @property
    def factor(self) -> float:
        return float(self.question["factor"])

    def index(self, version: str) -> int:
        return self.releases.index(version)

    @property
    def endpoints_measured(self) -> bool:
        """A decision was made at the endpoints (a contended or undecided session decided nothing)."""
        return any(s["step"] == 0 and s["outcome"] not in (None, CONTENDED, UNDECIDED) for s in self.sessions)

    # -- recording ---------------------------------------------------------------------------

    def skip(self, version: str, reason: str) -> None:
        self.skipped[version] = reason
        self.save()

    def open_session(self, step: int, versions: Sequence[str]) -> dict[str, Any]:
        """The unfinished session for this step and these versions (resumed), or a new one."""
        last = self.sessions[-1] if self.sessions else None
        if last is not None and last["outcome"] is None and last["step"] == step and last["versions"] == list(versions):
            return last
        if last is not None and last["outcome"] is None:
            self.sessions.pop()  # a session for another step: its bounds changed, its rounds do not apply
        session = {"step": step, "versions": list(versions), "rounds": [], "disturbed": [], "outcome": None,
                   "comparisons": [], "note": ""}
        self.sessions.append(session)
        return session

    def close_session(self, session: dict[str, Any], outcome: str, comparisons: list[dict[str, Any]],
                      note: str = "") -> None:
        session["outcome"] = outcome
        session["comparisons"] = comparisons
        session["note"] = note
        self.save()

    def finish(self, status: str, lo: str, hi: str, note: str = "") -> None:
        self.status, self.lo, self.hi, self.note = status, lo, hi, note
        self.save()

    # -- persistence -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": BISECT_STATE_FORMAT_VERSION,
            "question": self.question,
            "releases": self.releases,
            "skipped": self.skipped,
            "sessions": self.sessions,
            "lo": self.lo,
            "hi": self.hi,
            "status": self.status,
            "note": self.note,
            "why": self.why,
        }

    def save(self) -> None:
        write_json(self.path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> "BisectState":
        data = json.loads(path.read_text(encoding="utf-8"))
        check_format_version(data, "bisect state", _READS, source=str(path),
                             fix="delete it (or pass --fresh) to start the search again")
        state = cls(path, data["question"], data["releases"])
        state.skipped = dict(data.get("skipped") or {})
        state.sessions = list(data.get("sessions") or [])
        for session in state.sessions:  # version 1: nothing was set aside
            session.setdefault("disturbed", [])
            session.setdefault("note", "")
        state.lo, state.hi = data["lo"], data["hi"]
        state.status = data.get("status", "running")
        endpoints = [s for s in state.sessions if s["step"] == 0]
        if data["format_version"] < 3 and state.status == NOT_REPRODUCED and endpoints \
                and endpoints[-1]["outcome"] == UNDECIDED:
            state.status = UNDECIDED  # versions 1-2: undecided endpoints were filed as "not reproduced"
        state.note = data.get("note", "")
        state.why = data.get("why")
        state.resumed = True
        return state

    @classmethod
    def open(cls, folder: Path, question: Mapping[str, Any], releases: Sequence[str], *, fresh: bool = False) -> "BisectState":
        """The question's state: resumed from its file unless `fresh`; a paused search runs on."""
        path = folder / f"{question_key(question)}.json"
        if path.exists() and not fresh:
            state = cls.load(path)
            if state.status in (PAUSED, CONTENDED):  # measured on: the contended decision is retaken
                state.status = "running"
            return state
        folder.mkdir(parents=True, exist_ok=True)
        state = cls(path, question, releases)
        state.save()
        return state

"""The one user-error type.

Library code raises `TorchperfError` for mistakes a user can fix (an unknown op, a malformed size, a
device that is not there). The message names the bad value and what is accepted. The CLI catches it
once, prints one line and exits with `exit_code`; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class TorchperfError(Exception):
    """A user mistake or an unusable environment, explained in one line."""

    exit_code: int = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


def one_of(value: object, accepted: "list[str] | tuple[str, ...]", what: str) -> TorchperfError:
    """Build the standard "unknown X 'v'; accepted: a, b, c" error."""
    return TorchperfError(f"unknown {what} {value!r}; accepted: {', '.join(accepted)}")


class UnsupportedCase(TorchperfError):
    """An op/dtype/device/layout combination that cannot run here: a skip, not a failure.

    asv benchmarks turn it into NotImplementedError (asv's skip); the CLI prints it as one line.
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill PID`, a CI job's timeout, a session ending), raised by the CLI's handler so that
    it stops the way Ctrl-C does: `finally` blocks run, asv is stopped, what was saved is kept."""


def how_stopped(exc: KeyboardInterrupt) -> tuple[str, int]:
    """(the word the CLI prints, the exit code) of a stop: ("terminated", 143) for SIGTERM,
    ("interrupted", 130) for Ctrl-C: 128 + the signal, what a shell reports for a process it ends."""
    return ("terminated", 143) if isinstance(exc, Terminated) else ("interrupted", 130)

"""Helpers for tests that drive a real child process the way a user's terminal does."""

from __future__ import annotations

import signal


def ctrl_c_reaches_it() -> None:
    """`preexec_fn` for a child the test will Ctrl-C (SIGINT). A shell that starts a job in the
    background without job control (`cmd &` in a script, many CI runners) starts it with SIGINT
    ignored, the child inherits that, and Python then installs no KeyboardInterrupt handler: the
    test's Ctrl-C would be silently dropped and the run would finish. A terminal's foreground job has
    the default disposition; give the child that back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)

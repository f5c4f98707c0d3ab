"""The `torchperf` command line.

Subcommands live in `torchperf_core/commands/<name>.py`, each with NAME, HELP, add_arguments(parser)
and run(args) -> int; they are discovered here so that adding one never edits a shared file. This is
the one place that turns a `TorchperfError` into a one-line message and an exit code, and a missing
third-party package into a one-line `pip install` hint (a partial install must not end in a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import signal
import sys
import threading
from types import ModuleType
from typing import Any, NoReturn, Sequence

from torchperf_core import __version__
from torchperf_core.errors import Terminated, TorchperfError, how_stopped


# Import names whose distribution on the package index is spelled differently.
_DISTRIBUTIONS = {"yaml": "pyyaml", "PIL": "pillow", "sklearn": "scikit-learn", "IPython": "ipython"}


def missing_package(exc: ImportError) -> str | None:
    """The distribution to `pip install` for a third-party module that could not be imported.

    None when the error is not a missing module of another package: a missing `torchperf_core`
    module or standard-library module means a broken installation (or a bug), which keeps its
    traceback rather than a misleading install hint.
    """
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    top = exc.name.split(".", 1)[0]
    if top == "torchperf_core" or top in sys.stdlib_module_names:
        return None
    return _DISTRIBUTIONS.get(top, top)


def _needs_package(command: str, package: str) -> str:
    return f"{command} needs the Python package '{package}'; install it with: pip install {package}"


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line (no usage dump), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"torchperf: error: {message}\n")


class _Unavailable:
    """A command whose module could not be imported here (e.g. an environment that lacks one of its
    packages): every other command still works, and this one explains itself when used."""

    def __init__(self, name: str, error: BaseException) -> None:
        self.NAME = name
        self.HELP = f"(unavailable here: {error})"
        self._error = error

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("rest", nargs=argparse.REMAINDER)

    def run(self, args: argparse.Namespace) -> int:
        package = missing_package(self._error) if isinstance(self._error, ImportError) else None
        if package is not None:
            raise TorchperfError(_needs_package(self.NAME, package))
        raise TorchperfError(f"command {self.NAME!r} cannot run in this environment: {self._error}; "
                             "the installation is incomplete: reinstall torchperf-core")


def _command_modules() -> list[ModuleType | _Unavailable]:
    import torchperf_core.commands as pkg

    modules: list[ModuleType | _Unavailable] = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        except ImportError as exc:
            modules.append(_Unavailable(info.name, exc))
            continue
        if hasattr(module, "NAME") and hasattr(module, "run"):
            modules.append(module)
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="torchperf",
        description="Track the performance of PyTorch tensor operations across PyTorch versions, "
        "hardware and your project's history (built on airspeed velocity).",
    )
    parser.add_argument("--version", action="version", version=f"torchperf {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in _command_modules():
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    previous = _stop_on_sigterm()
    try:
        return int(args._run(args) or 0)
    except TorchperfError as exc:
        print(f"torchperf: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ModuleNotFoundError as exc:
        # Commands import heavy packages lazily (matplotlib, asv, torch): in a partial install, one
        # that is missing surfaces here, while the command runs.
        package = missing_package(exc)
        if package is None:
            raise
        print(f"torchperf: error: {_needs_package(args.command, package)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        word, code = how_stopped(exc)
        print(f"torchperf: {word}", file=sys.stderr)
        return code
    except BrokenPipeError:
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def _stop_on_sigterm() -> Any:
    """SIGTERM stops a command the way Ctrl-C does (Python's default would end it on the spot:
    no `finally`, no sidecars of the versions already measured, asv left running). Returns the handler
    to restore; None where signals cannot be handled (not the main thread, e.g. a test calling main)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


if __name__ == "__main__":
    sys.exit(main())

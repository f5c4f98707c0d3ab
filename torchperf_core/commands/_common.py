"""Argument parsing shared by commands: options are parsed into values once, at the edge."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from typing import TYPE_CHECKING

from torchperf_core.errors import TorchperfError

if TYPE_CHECKING:
    from torchperf_core.engine import TimingOptions
    from torchperf_core.machine import Ceilings

_INT_RE = re.compile(r"[0-9]+")


def add_case_arguments(parser: argparse.ArgumentParser, *, dtype_default: str = "float32") -> None:
    from torchperf_core.catalog import DTYPES, LAYOUTS

    parser.add_argument("--dtype", default=dtype_default, help=f"one of {', '.join(DTYPES)} (default {dtype_default})")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps, xpu (default cpu)")
    parser.add_argument("--threads", default=None, help="intra-op threads (default: all cores this process may use)")
    parser.add_argument("--layout", default="contiguous", help=f"matmul operand layout: {', '.join(LAYOUTS)}")
    parser.add_argument("--cold-l2", action="store_true", help="flush the cache before every call (not timed)")
    parser.add_argument("--mode", default="sync", help="sync (device sync + perf_counter) or events (CUDA events)")
    parser.add_argument("--samples", default="15", help="samples to take (default 15)")
    parser.add_argument("--input-sets", default="1", help="rotate among this many seeded input sets (default 1)")


def positive_int(text: str | None, what: str, default: int | None = None) -> int | None:
    if text is None:
        return default
    value = str(text).strip()
    if not _INT_RE.fullmatch(value) or int(value) < 1:
        raise TorchperfError(f"{what} {text!r} is not a positive integer")
    return int(value)


def existing_dir(text: str | None, what: str) -> Path | None:
    """A folder the user named explicitly: it must exist and be a folder (a typo is not "empty")."""
    if text is None:
        return None
    path = Path(text)
    if not path.is_dir():
        problem = "is a file, not a folder" if path.exists() else "does not exist"
        raise TorchperfError(f"{what} {text!r} {problem}; give an existing folder")
    return path


def parse_sizes(text: str) -> list[int]:
    """`256,512,1024` -> [256, 512, 1024]; anything else is refused naming the bad item."""
    parts = [p.strip() for p in str(text).split(",")]
    sizes = []
    for p in parts:
        if not _INT_RE.fullmatch(p) or int(p) < 1:
            raise TorchperfError(f"malformed --sizes {text!r}: {p!r} is not a positive integer; "
                                 "expected a comma-separated list like 256,512,1024")
        sizes.append(int(p))
    return sizes


def timing_options(args: argparse.Namespace) -> "TimingOptions":
    from torchperf_core.engine import TIMING_MODES, TimingOptions

    if args.mode not in TIMING_MODES:
        raise TorchperfError(f"unknown timing mode {args.mode!r}; accepted: {', '.join(TIMING_MODES)}")
    samples = positive_int(args.samples, "--samples")
    return TimingOptions(samples=samples, min_samples=min(TimingOptions.min_samples, samples), mode=args.mode,
                         cold_l2=args.cold_l2)


def output_path(text: str, suffixes: tuple[str, ...], force: bool) -> Path:
    """An output file path: known suffix, existing folder, and never clobbering without --force."""
    path = Path(text)
    if path.suffix.lower() not in suffixes:
        raise TorchperfError(f"output {text!r} must end in one of {', '.join(suffixes)}")
    if not path.parent.exists():
        raise TorchperfError(f"output {text!r}: folder {str(path.parent)!r} does not exist")
    if path.exists() and not force:
        raise TorchperfError(f"output {text!r} exists; choose another name or pass --force to overwrite it")
    if path.is_dir():
        raise TorchperfError(f"output {text!r} is a folder")
    return path


def emit(text: str, output: str | None) -> None:
    """Print `text`; with `--output FILE`, also write it there (compare and regressions)."""
    import sys

    sys.stdout.write(text)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise TorchperfError(f"cannot write {output!r}: {exc.strerror}") from None


def load_ceilings_quietly(device: str, machine: str | None = None) -> "tuple[Ceilings | None, str | None]":
    """(ceilings, why not): the machine's calibration through the one reader when there is a usable
    one for `device`, else None and the reader's message (bench works without it)."""
    from torchperf_core import machine as calibrate

    path = calibrate.calibration_path(machine)
    if not path.exists():
        return None, None
    try:
        c = calibrate.load_calibration(path)
    except TorchperfError as exc:
        return None, str(exc)
    return (c if c.device == device else None), None

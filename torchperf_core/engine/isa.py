"""Forced ISA levels: run the same wheel at ATen CPU capability default / avx2 / avx512.

ATen picks its vectorised kernels once per process from `ATEN_CPU_CAPABILITY` (else from CPUID),
and oneDNN caps its JIT at `ONEDNN_MAX_CPU_ISA` (`DNNL_MAX_CPU_ISA` for older releases); both are
read at load time, so a level is applied by starting a *child* process with the variables set, never
by changing this process. A regression that appears at one level only is a kernel regression; one
that moves with the level is dispatch.

Two traps, both seen on this project's machines (torch 2.13.0+cpu, AMD EPYC VM without AVX-512):
- ATen takes `ATEN_CPU_CAPABILITY=avx512` without checking the CPU: `get_cpu_capability()` then
  says "AVX512" and the first vectorised kernel dies with SIGILL. So a level the CPU lacks (CPUID
  flags in /proc/cpuinfo) is *not* set: the child runs at the default level and the reading says
  the requested level was unavailable and which capability ATen used instead.
- `ATEN_CPU_CAPABILITY=default` is not "torch's default": it forces the scalar DEFAULT kernels. Our
  level "default" therefore means "variables unset" (and an inherited value is removed).

What ran is read back in the child, never assumed: `torch.backends.cpu.get_cpu_capability()`, the
ISA line oneDNN prints when verbose, and the MKL/oneDNN verbose lines of one call of the op
(verbose toggled at run time around that call only). The verbose lines are returned raw; naming the
kernels from them is `torchperf_core.env`'s provenance parser (`parse_verbose_output`), one layer up.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, MutableMapping, Sequence

from torchperf_core.errors import TorchperfError

ISA_LEVELS = ("default", "avx2", "avx512")
# The variables a level sets; "default" sets none and removes inherited ones.
ISA_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")
_ATEN_VALUE = {"avx2": "avx2", "avx512": "avx512"}
_ONEDNN_VALUE = {"avx2": "AVX2", "avx512": "AVX512_CORE"}
# CPUID flags (Linux names) ATen's AVX512 kernels need (its own check: avx512vl, bw, dq and FMA).
_REQUIRED_FLAGS = {"avx2": ("avx2", "fma"), "avx512": ("avx512f", "avx512vl", "avx512bw", "avx512dq", "fma")}
# What get_cpu_capability() returns when the level took effect.
EXPECTED_CAPABILITY = {"avx2": "AVX2", "avx512": "AVX512"}

_MARK = "@@torchperf-isa"
_ONEDNN_ISA_RE = re.compile(r"^(?:onednn|dnnl)_verbose,.*\bisa:([^,]+)")


def parse_isa(text: str | None) -> str:
    """`--isa`: one of ISA_LEVELS (case-insensitive); anything else is a one-line user error."""
    value = "default" if text is None else str(text).strip().lower()
    if value not in ISA_LEVELS:
        raise TorchperfError(f"unknown --isa {text!r}; accepted: {', '.join(ISA_LEVELS)}")
    return value


def cpu_flags(cpuinfo_text: str | None = None) -> frozenset[str]:
    """The CPUID flags of the first processor in /proc/cpuinfo (empty when it cannot be read)."""
    if cpuinfo_text is None:
        try:
            cpuinfo_text = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return frozenset()
    for line in cpuinfo_text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def unavailable_reason(level: str, flags: frozenset[str] | None = None) -> str | None:
    """Why `level` cannot be forced on this CPU, or None when it can ("default" always can)."""
    level = parse_isa(level)
    if level == "default":
        return None
    have = cpu_flags() if flags is None else flags
    if not have:
        return None  # flags unreadable (not Linux): let the read-back tell
    missing = [f for f in _REQUIRED_FLAGS[level] if f not in have]
    if not missing:
        return None
    return (f"{level} unavailable on this CPU (its CPUID flags lack {', '.join(missing)}); not forced, because "
            f"ATen accepts ATEN_CPU_CAPABILITY={_ATEN_VALUE[level]} unchecked and dies with SIGILL")


isa_unavailable_reason = unavailable_reason  # the name the engine door exports (device has its own)


def available_levels(flags: frozenset[str] | None = None) -> tuple[str, ...]:
    """The levels this CPU can run, in ISA_LEVELS order."""
    have = cpu_flags() if flags is None else flags
    return tuple(lv for lv in ISA_LEVELS if unavailable_reason(lv, have) is None)


def highest_capability(flags: frozenset[str] | None = None) -> str | None:
    """The highest ISA level this CPU (or one with `flags`) runs, as ATen names it (EXPECTED_CAPABILITY:
    "AVX2", "AVX512"), read from /proc/cpuinfo without torch; None where the flags cannot be read
    (unavailable_reason treats unknown flags as allowed: no level is assumed) or the CPU has neither."""
    flags = cpu_flags() if flags is None else flags
    levels = available_levels(flags) if flags else ()
    return next((EXPECTED_CAPABILITY[lv] for lv in reversed(levels) if lv in EXPECTED_CAPABILITY), None)


def isa_environment(level: str, base: Mapping[str, str] | None = None,
                    flags: frozenset[str] | None = None) -> dict[str, str]:
    """The child's environment for `level`: `base` (default os.environ) with the ISA variables set,
    or removed for "default" and for a level this CPU lacks (see the module docstring)."""
    level = parse_isa(level)
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in ISA_VARIABLES}
    if level != "default" and unavailable_reason(level, flags) is None:
        env["ATEN_CPU_CAPABILITY"] = _ATEN_VALUE[level]
        env["ONEDNN_MAX_CPU_ISA"] = _ONEDNN_VALUE[level]
        env["DNNL_MAX_CPU_ISA"] = _ONEDNN_VALUE[level]
    return env


def require_isa(text: str | None, flags: frozenset[str] | None = None) -> str:
    """A level to *force* (`run --isa`): parsed, and refused in one line when this CPU lacks it,
    because ATen would take it unchecked and the first vectorised kernel would die with SIGILL."""
    level = parse_isa(text)
    reason = unavailable_reason(level, flags)
    if reason is not None:
        raise TorchperfError(f"--isa {level}: {reason}; available here: {', '.join(available_levels(flags))}")
    return level


def apply_isa(level: str, environ: MutableMapping[str, str] | None = None,
              flags: frozenset[str] | None = None) -> None:
    """Set (or, for "default" and a level this CPU lacks, remove) the ISA variables in `environ`
    (default: this process's `os.environ`), as `isa_environment` would for a child.

    For the *current* process this works only before torch is imported: ATen and oneDNN read the
    variables once, at load. The asv suite calls it when `benchmarks/common.py` is imported."""
    target = os.environ if environ is None else environ
    wanted = isa_environment(level, {k: v for k, v in target.items() if k in ISA_VARIABLES}, flags)
    for name in ISA_VARIABLES:
        if name in wanted:
            target[name] = wanted[name]
        else:
            target.pop(name, None)


def cpu_capability() -> str | None:
    """The CPU capability ATen dispatches to in this process ("AVX2", "AVX512", "DEFAULT"), read
    back from torch (imported here if it is not yet); None when torch cannot say."""
    try:
        import torch  # noqa: PLC0415

        return str(torch.backends.cpu.get_cpu_capability())
    except Exception:  # noqa: BLE001 — an old torch without the call, or no torch: unknown, not a crash
        return None


def child_pythonpath(env: dict[str, str]) -> dict[str, str]:
    """Make this package importable in a child even when it is not installed in that interpreter."""
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    for noisy in ("MKL_VERBOSE", "ONEDNN_VERBOSE", "DNNL_VERBOSE"):  # verbose is toggled per call
        env.pop(noisy, None)
    return env


@dataclass(frozen=True)
class IsaReading:
    """What a child process ran with: the level asked for, and what ATen and oneDNN actually used."""

    requested: str  # an ISA_LEVELS entry
    forced: bool  # the variables were set (False for "default" and for an unavailable level)
    capability: str | None  # torch.backends.cpu.get_cpu_capability() in the child
    onednn_isa: str | None  # oneDNN's own "isa:" verbose line, when it printed one
    verbose_lines: tuple[str, ...] = ()  # MKL/oneDNN verbose lines of one call of the op
    note: str = ""  # why the level was not forced, or that ATen did not follow it

    @property
    def honoured(self) -> bool:
        """True when the capability ATen used is the one requested ("default": always)."""
        if self.requested == "default":
            return True
        return self.forced and self.capability == EXPECTED_CAPABILITY[self.requested]

    def describe(self) -> str:
        """One line: "isa avx2 (ATen AVX2, oneDNN Intel AVX2)" or the fallback spelled out."""
        used = f"ATen {self.capability or '?'}" + (f", oneDNN {self.onednn_isa}" if self.onednn_isa else "")
        text = f"isa {self.requested} ({used})"
        return f"{text}: {self.note}" if self.note else text

    def to_json(self) -> dict[str, Any]:
        return {"requested": self.requested, "forced": self.forced, "capability": self.capability,
                "onednn_isa": self.onednn_isa, "honoured": self.honoured,
                "verbose_lines": list(self.verbose_lines), "note": self.note}


# --------------------------------------------------------------------------------------------------
# The child side (also used by engine.instructions under valgrind).


def _emit(text: str) -> None:
    """A marker line after flushing Python's and C's stdio (MKL/oneDNN print through C stdio)."""
    sys.stdout.flush()
    try:
        import ctypes  # noqa: PLC0415

        ctypes.CDLL(None).fflush(None)
    except Exception:  # noqa: BLE001 — best effort; markers may then be misordered
        pass
    os.write(1, (text + "\n").encode())


def verbose_call(torch: Any, fn: Any) -> None:
    """Call `fn` once with MKL and oneDNN verbose on, between markers (parsed by `split_output`)."""
    _emit(f"{_MARK} verbose-begin")
    with torch.backends.mkl.verbose(torch.backends.mkl.VERBOSE_ON), \
            torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
        fn()
    _emit(f"{_MARK} verbose-end")


def emit_result(payload: Mapping[str, Any]) -> None:
    _emit(f"{_MARK} result {json.dumps(payload)}")


def split_output(text: str) -> tuple[tuple[str, ...], dict[str, Any] | None]:
    """(verbose lines, result payload) from a child's stdout (pure)."""
    verbose: list[str] = []
    inside = False
    result = None
    for line in text.splitlines():
        if line.startswith(f"{_MARK} verbose-begin"):
            inside = True
        elif line.startswith(f"{_MARK} verbose-end"):
            inside = False
        elif line.startswith(f"{_MARK} result "):
            result = json.loads(line.split(" ", 2)[2])
        elif inside and line.strip():
            verbose.append(line.strip())
    return tuple(verbose), result


def onednn_isa(lines: Sequence[str]) -> str | None:
    """oneDNN's "isa:Intel AVX2" info line -> "Intel AVX2"; None when it printed none."""
    for line in lines:
        m = _ONEDNN_ISA_RE.match(line)
        if m:
            return m.group(1).strip()
    return None


def child_main(argv: list[str]) -> int:
    """The ISA child: argv[0] is a JSON job {op, size, dtype, threads, layout, samples|None}.

    Reads back the capability, runs the op once with verbose on, and (when `samples` is given)
    times it with the engine; prints one result marker with the JSON."""
    import torch  # noqa: PLC0415

    from torchperf_core.engine.measurement import prepare  # noqa: PLC0415
    from torchperf_core.engine.precision import pinned_precision, pinned_threads  # noqa: PLC0415
    from torchperf_core.engine.timing import TimingOptions  # noqa: PLC0415

    job = json.loads(argv[0])
    payload: dict[str, Any] = {"capability": str(torch.backends.cpu.get_cpu_capability())}
    try:
        case = prepare(job["op"], job["size"], job["dtype"], "cpu", threads=job.get("threads"),
                       layout=job.get("layout", "contiguous"))
        with pinned_threads(case.threads), pinned_precision(case.settings):
            verbose_call(torch, case.callables()[0])
        if job.get("samples"):
            options = TimingOptions(samples=int(job["samples"]), min_samples=min(5, int(job["samples"])))
            payload["measurement"] = case.measure(options).to_json()
    except TorchperfError as exc:
        payload["error"] = str(exc)
    emit_result(payload)
    return 0


# --------------------------------------------------------------------------------------------------
# The parent side.


@dataclass(frozen=True)
class IsaRun:
    """One child run at a level: the reading, and the measurement's JSON when timed."""

    reading: IsaReading
    measurement: Mapping[str, Any] | None = field(default=None, repr=False)


def run_at_isa(level: str, op: str, size: int | str, dtype: str = "float32", *, threads: int | None = None,
               layout: str = "contiguous", samples: int | None = None, python: str | None = None,
               timeout: float = 300) -> IsaRun:
    """Run `op` in a child at `level` (time it with `samples` samples when given) and read back what ran.

    `python` is the interpreter of the benchmark environment (default: this one, `sys.executable`;
    never the first `python` on PATH). A level this CPU lacks is not forced (see the module
    docstring); the reading's note says so. A user error in the child (unknown op, unsupported
    dtype) is raised here as TorchperfError; a crashed child too, with its last line.
    """
    level = parse_isa(level)
    reason = unavailable_reason(level)
    env = child_pythonpath(isa_environment(level))
    job = {"op": op, "size": size, "dtype": dtype, "threads": threads, "layout": layout, "samples": samples}
    code = "import sys; from torchperf_core.engine.isa import child_main; sys.exit(child_main(sys.argv[1:]))"
    interpreter = os.path.abspath(python or sys.executable)  # abspath, not realpath: a venv's python is a link
    try:
        proc = subprocess.run([interpreter, "-c", code, json.dumps(job)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise TorchperfError(f"the isa {level} child for {op} timed out after {timeout:g} s") from None
    verbose, result = split_output(proc.stdout)
    if result is None:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise TorchperfError(f"the isa {level} child for {op} exited {proc.returncode} without a result: {tail}")
    if "error" in result:
        raise TorchperfError(str(result["error"]))
    forced = level != "default" and reason is None
    capability = result.get("capability")
    note = reason or ""
    if forced and capability != EXPECTED_CAPABILITY[level]:
        note = f"ATen did not follow ATEN_CPU_CAPABILITY={_ATEN_VALUE[level]}: it used {capability}"
    reading = IsaReading(requested=level, forced=forced, capability=capability, onednn_isa=onednn_isa(verbose),
                         verbose_lines=tuple(line for line in verbose if _ONEDNN_ISA_RE.match(line) is None)[:12],
                         note=note)
    return IsaRun(reading=reading, measurement=result.get("measurement"))


def read_isa(level: str, op: str = "mm", size: int | str = 64, dtype: str = "float32", *,
             python: str | None = None, timeout: float = 120) -> IsaReading:
    """What a child at `level` runs `op` with (no timing): the provenance of the ISA axis."""
    return run_at_isa(level, op, size, dtype, threads=1, python=python, timeout=timeout).reading


__all__ = [
    "EXPECTED_CAPABILITY", "ISA_LEVELS", "ISA_VARIABLES", "IsaReading", "IsaRun", "available_levels", "cpu_flags",
    "apply_isa", "cpu_capability", "isa_environment", "isa_unavailable_reason", "require_isa", "onednn_isa", "parse_isa", "read_isa", "run_at_isa", "split_output", "unavailable_reason",
]  # fmt: skip

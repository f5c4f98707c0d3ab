"""CPU affinity: pin benchmark processes to chosen CPUs (`--cpus 0-3,6`).

On a shared machine the scheduler moves a benchmark between cores (cold caches, another task's
sibling thread) and other work lands on the cores we use. Pinning the *current* process with
`sched_setaffinity` is enough: asv, its benchmark environments and every worker they spawn are
children, and children inherit the affinity mask. Pinning never changes system settings; it only
restricts where our own processes may run, so it needs no privileges.

The list syntax is the kernel's own cpulist format (`/sys/devices/system/cpu/online`,
`isolcpus=`, `taskset -c`): comma-separated CPUs or inclusive ranges, e.g. "0-3,6".
"""

from __future__ import annotations

import os

from torchperf_core.errors import TorchperfError


def parse_cpu_ranges(text: str) -> tuple[int, ...]:
    """Parse a kernel cpulist ("0-3,6") into sorted unique CPU numbers; no check against the machine.

    Raises ValueError naming the bad part; an empty or blank string gives ().
    """
    cpus: set[int] = set()
    for part in text.strip().split(","):
        part = part.strip()
        if not part:
            if text.strip():
                raise ValueError(f"empty item in CPU list {text!r}")
            continue
        lo_text, sep, hi_text = part.partition("-")
        try:
            lo = int(lo_text)
            hi = int(hi_text) if sep else lo
        except ValueError:
            raise ValueError(f"bad item {part!r} in CPU list {text!r}") from None
        if lo < 0 or hi < lo:
            raise ValueError(f"bad range {part!r} in CPU list {text!r}")
        cpus.update(range(lo, hi + 1))
    return tuple(sorted(cpus))


def format_cpu_list(cpus: "tuple[int, ...] | list[int] | set[int] | frozenset[int]") -> str:
    """The inverse of `parse_cpu_ranges`: (0, 1, 2, 3, 6) -> "0-3,6"."""
    ordered = sorted(set(cpus))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def current_affinity() -> tuple[int, ...]:
    """The CPUs this process may run on, sorted."""
    return tuple(sorted(os.sched_getaffinity(0)))


def parse_cpu_list(spec: str) -> tuple[int, ...]:
    """Parse a user's `--cpus` value and check every CPU is one this process may use.

    Raises TorchperfError naming the bad value and the allowed CPUs.
    """
    allowed = current_affinity()
    try:
        cpus = parse_cpu_ranges(spec)
    except ValueError as exc:
        raise TorchperfError(
            f"--cpus: {exc}; expected CPUs or ranges like '0-3,6' from {format_cpu_list(allowed)}"
        ) from None
    if not cpus:
        raise TorchperfError(f"--cpus: empty CPU list; allowed CPUs: {format_cpu_list(allowed)}")
    outside = [c for c in cpus if c not in allowed]
    if outside:
        raise TorchperfError(
            f"--cpus {spec!r}: CPU {format_cpu_list(outside)} not available to this process; "
            f"allowed CPUs: {format_cpu_list(allowed)}"
        )
    return cpus


def apply_affinity(cpus: "tuple[int, ...] | list[int]") -> tuple[int, ...]:
    """Pin the current process (and so every child it starts later) to `cpus`; return the new mask.

    Call it before starting asv or any worker: a child copies the mask when it is created.
    """
    try:
        os.sched_setaffinity(0, set(cpus))
    except (OSError, ValueError) as exc:
        raise TorchperfError(
            f"cannot pin to CPUs {format_cpu_list(list(cpus))}: {exc}; "
            f"allowed CPUs: {format_cpu_list(current_affinity())}"
        ) from None
    return current_affinity()

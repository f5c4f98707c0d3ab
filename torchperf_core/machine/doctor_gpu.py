"""The NVIDIA part of `torchperf doctor`: persistence mode, power limit, clocks and throttle reasons,
read through `nvidia-smi` (a path parameter, so tests use a fake script). Read-only like the rest:
the advice is the command to run, never run here.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from torchperf_core.machine.check import Check

# nvidia-smi -q -d PERFORMANCE reason lines that mean the GPU is being slowed down.
_GPU_SLOWDOWN_REASONS = ("sw power cap", "hw slowdown", "hw thermal slowdown", "sw thermal slowdown",
                         "hw power brake slowdown", "sync boost")
_GPU_QUERY_FIELDS = ("index", "name", "persistence_mode", "clocks.sm", "clocks.max.sm", "clocks.mem",
                     "clocks.max.mem", "power.limit", "power.default_limit", "power.max_limit",
                     "temperature.gpu")


def _run(argv: list[str]) -> tuple[int, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    return proc.returncode, proc.stdout if proc.returncode == 0 else (proc.stderr or proc.stdout)


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"


def _throttle_reasons(text: str) -> dict[str, list[str]]:
    """Active clock-slowdown reasons per GPU from `nvidia-smi -q -d PERFORMANCE`."""
    reasons: dict[str, list[str]] = {}
    gpu = None
    for line in text.splitlines():
        stripped = line.strip()
        if re.fullmatch(r"GPU \S+", stripped):  # "GPU 00000000:18:00.0" opens a GPU's section
            gpu = stripped.split()[1]
            reasons[gpu] = []
            continue
        key, sep, value = stripped.partition(":")
        if gpu is not None and sep and value.strip().lower() == "active":
            name = key.strip()
            if name.lower() in _GPU_SLOWDOWN_REASONS:
                reasons[gpu].append(name)
    return reasons


def check_nvidia(nvidia_smi: str = "nvidia-smi") -> list[Check]:
    exe = shutil.which(nvidia_smi)
    if exe is None:
        return [Check("gpu", "INFO", "no NVIDIA GPU (nvidia-smi not found)")]
    rc, out = _run([exe, f"--query-gpu={','.join(_GPU_QUERY_FIELDS)}", "--format=csv,noheader,nounits"])
    if rc != 0:
        first = (out.strip().splitlines() or ["no output"])[0]
        return [Check("gpu", "INFO", f"no usable NVIDIA GPU (nvidia-smi failed: {first})")]
    rc, perf = _run([exe, "-q", "-d", "PERFORMANCE"])
    reasons_by_gpu = list(_throttle_reasons(perf).values()) if rc == 0 else []
    checks = []
    for position, line in enumerate(out.strip().splitlines()):
        values = dict(zip(_GPU_QUERY_FIELDS, (v.strip() for v in line.split(","))))
        index = values.get("index", str(position))
        label = f"gpu{index}"
        name = values.get("name", "?")
        if values.get("persistence_mode", "").lower() == "enabled":
            checks.append(Check(f"{label} persistence", "OK", f"{name}: persistence mode on"))
        else:
            checks.append(Check(f"{label} persistence", "WARN", f"{name}: persistence mode off: the "
                                "driver may unload between runs and the first call pays for "
                                "initialisation", f"sudo nvidia-smi -i {index} -pm 1"))
        limit, default = _float(values.get("power.limit", "")), _float(values.get("power.default_limit", ""))
        if limit is not None and default is not None and limit < default * 0.99:
            checks.append(Check(f"{label} power", "WARN", f"power limit {limit:.0f} W below the "
                                f"default {default:.0f} W: clocks are capped",
                                f"sudo nvidia-smi -i {index} -pl {default:.0f}"))
        elif limit is not None:
            checks.append(Check(f"{label} power", "OK", f"power limit {limit:.0f} W"))
        sm, sm_max = _float(values.get("clocks.sm", "")), _float(values.get("clocks.max.sm", ""))
        if sm is not None and sm_max:
            checks.append(Check(f"{label} clocks", "INFO", f"SM clock {sm:.0f} of {sm_max:.0f} MHz, "
                                f"memory {values.get('clocks.mem', '?')} of "
                                f"{values.get('clocks.max.mem', '?')} MHz, "
                                f"{values.get('temperature.gpu', '?')} C; locking the clocks removes "
                                "boost drift", f"sudo nvidia-smi -i {index} --lock-gpu-clocks="
                                f"{sm_max:.0f},{sm_max:.0f}"))
        active = reasons_by_gpu[position] if position < len(reasons_by_gpu) else None
        if active:
            checks.append(Check(f"{label} throttle", "WARN", f"clocks slowed down now by: "
                                f"{', '.join(active)}", f"nvidia-smi -i {index} -q -d "
                                "PERFORMANCE,TEMPERATURE,POWER"))
        elif active is not None:
            checks.append(Check(f"{label} throttle", "OK", "no clock slowdown reason active"))
    return checks

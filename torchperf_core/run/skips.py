"""Why a case was skipped: asv stores only NaN for a benchmark whose `setup` raised
NotImplementedError, and drops the message. Most reasons are decided statically by the suite's own
`benchmarks/common.py:skip_reason` (size above the device's limit, a dtype the device lacks, tf32 off
CUDA, a slow case capped by the tier), so they are derived again here, from the same function, for
the run summary. A case skipped for a reason only found at run time (a kernel this torch lacks, a
size that did not fit) is said to be so.
"""

from __future__ import annotations

import ast
import importlib.util
import os
from pathlib import Path
from typing import Any, Callable, Mapping

from torchperf_core.verdict import COUNT_UNIT

RUNTIME = "skipped in setup at run time: a kernel this torch lacks or a size that did not fit (asv's output says which)"


def _suite_skip_reason(root: Path) -> Callable[..., str | None] | None:
    path = root / "benchmarks" / "common.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("_torchperf_suite_common", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception:  # noqa: BLE001 - a suite we cannot import gives no static reasons
        return None
    return getattr(module, "skip_reason", None)


def _values(params: str) -> list[Any] | None:
    """"(256, 'float16', 'cpu')" (asv's repr strings joined) -> [256, 'float16', 'cpu']."""
    inner = params.strip()
    if inner.startswith("(") and inner.endswith(")"):
        inner = inner[1:-1]
    try:
        return list(ast.literal_eval(f"[{inner}]"))
    except (ValueError, SyntaxError):
        return None


def skip_reasons(root: Path, benchmarks: Mapping[str, Any], cases: list[tuple[str, str]], tier: str) -> dict[tuple[str, str], str]:
    """{(benchmark, params): reason} for the given skipped cases."""
    reason_of = _suite_skip_reason(root)
    out: dict[tuple[str, str], str] = {}
    for name, params in cases:
        info = benchmarks.get(name) or {}
        values = _values(params)
        reason = None
        if reason_of is not None and values is not None and info.get("op"):
            named = dict(zip(info.get("param_names") or [], values))
            try:
                reason = reason_of(str(info["op"]), int(named.get("size", 0)), str(named.get("dtype", "float32")),
                                   str(named.get("layout", "contiguous")), str(named.get("device", "cpu")).split(":")[0],
                                   tier)
            except Exception:  # noqa: BLE001 - an unknown op or param shape: fall back to the runtime note
                reason = None
        if reason is None and info.get("unit") == COUNT_UNIT:
            requested = "instructions" in os.environ.get("TORCHPERF_METRICS", "").split(",")
            reason = ("instruction counts not requested: set TORCHPERF_METRICS=instructions" if not requested
                      else "instruction counts need valgrind (apt-get install valgrind); asv's output says why")
        out[(name, params)] = reason or RUNTIME
    return out

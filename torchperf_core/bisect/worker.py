"""The measuring process inside one release's environment: `python worker.py`, JSON lines on stdin/out.

Run as a script, not as `-m torchperf_core.bisect...`: the bisect room's door imports the store and
the comparison code (packaging, asv), which a bare release environment lacks; this file imports only
the engine (and the catalog, and the fingerprint for torch) from this checkout, via PYTHONPATH.

Requests, one JSON object a line; each answered by one line {"ok": true, ...} or {"ok": false,
"error": "..."}::

    {"cmd": "load", "case": CaseSpec.to_json()}   -> {"version": "<package version>", "kernel": [op, dtype] | null}
    {"cmd": "measure", "samples": n}              -> {"samples": [seconds per call, ...],
                                                      "contended": true | false | null, "cause": "..." | null}
    {"cmd": "why"}                                -> {"fingerprint": {...}, "kernels": {...}}  (torch only)
    {"cmd": "quit"}

"contended" is the engine's contention probe (`engine.SchedProbe`, standard library only, so any
release's environment runs it) on this block: true when its threads waited for a CPU too often to
trust it, with the probe's `cause` in words; null when the block could not be watched (a `track_`
case that keeps no timing record). The parent never judges a contended block (search.py).

The protocol owns the process's original stdout; fd 1 is pointed at stderr so that whatever the
measured code prints cannot corrupt an answer.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from typing import Any, Callable

_FIRST = dict(warmup_time=0.05, min_warmup_calls=3, max_time=5.0)
# Later blocks of the same worker: the process is warm already, so a block is a few calls, and
# blocks can alternate between workers often (finer interleaving) at little cost.
_WARM = dict(warmup_time=0.0, min_warmup_calls=1, max_time=5.0)


class _Host:
    """A CPU synchronizer that needs no torch. CPU work is synchronous, so there is nothing to wait
    for; the engine's `Device("cpu")` would import torch, which another package's release lacks."""

    def synchronize(self) -> None:
        return None


Timed = Callable[[int], "tuple[list[float], Any]"]  # n -> (samples, engine Contention | None)


def _probe(threads: int | None) -> Any:
    from torchperf_core.engine import SchedProbe

    return SchedProbe(threads or 1)


def _watched(run: Callable[[Any], Any], threads: int | None) -> tuple[list[float], Any]:
    """`run(probe)` -> RawTiming, with a fresh probe closed afterwards (its file descriptors)."""
    probe = _probe(threads)
    try:
        raw = run(probe)
    finally:
        probe.close()
    return list(raw.samples), raw.contention


class _Worker:
    def __init__(self) -> None:
        self.time: Timed | None = None
        self.teardown: Callable[[], None] | None = None
        self.kernel: tuple[str, str] | None = None
        self.package = ""
        self.blocks = 0

    def options(self, n: int) -> Any:
        from torchperf_core.engine import TimingOptions

        knobs = _FIRST if self.blocks == 0 else _WARM
        self.blocks += 1
        return TimingOptions(samples=n, min_samples=min(5, n), **knobs)

    def load(self, case: dict[str, Any], package: str) -> dict[str, Any]:
        from torchperf_core.engine import time_callable

        self.package = package
        kind = case["kind"]
        if kind == "callable":
            module, _, attr = case["target"].partition(":")
            obj: Any = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
            if not callable(obj):
                raise TypeError(f"{case['target']} is not callable")
            fn = obj
            self.time = lambda n: _watched(lambda p: time_callable(fn, device=_Host(), options=self.options(n),
                                                                   probe=p), None)
        elif kind == "op":
            from torchperf_core.engine import prepare

            prepared = prepare(case["op"], case["size"], case["dtype"], "cpu", threads=case.get("threads"),
                               layout=case["layout"])
            prepared.callables()[0]()  # one untimed call: a missing kernel fails here, not mid-timing
            self.kernel = (case["op"], case["dtype"])
            self.time = lambda n: _raw(prepared.time(self.options(n)))  # the engine watches by default
        elif kind == "suite":
            os.environ.setdefault("TORCHPERF_TIER", "full")  # every valid parameter set runs; none capped
            module = importlib.import_module(f"benchmarks.{case['module']}")
            bench = getattr(module, case["cls"])()
            params = list(case.get("params") or [])
            if hasattr(bench, "setup"):
                bench.setup(*params)
            method = getattr(bench, case["method"])
            names = list(getattr(bench, "param_names", []) or [])
            values = dict(zip(names, params))
            op = getattr(bench, "op", None)
            if op and "dtype" in values:
                self.kernel = (str(op), str(values["dtype"]))
            self.teardown = (lambda: bench.teardown(*params)) if hasattr(bench, "teardown") else None
            if case["method"].startswith("track_"):
                self.time = lambda n: _track_samples(bench, method, params, n)
            else:
                clock = getattr(bench, "clock", None)
                self.time = lambda n: _watched(lambda p: time_callable(lambda: method(*params), device=_Host(),
                                                                       clock=clock, options=self.options(n),
                                                                       probe=p), case.get("threads"))
        else:
            raise ValueError(f"unknown case kind {kind!r}")
        return {"version": _installed_version(package), "kernel": list(self.kernel) if self.kernel else None}

    def measure(self, samples: int) -> dict[str, Any]:
        if self.time is None:
            raise RuntimeError("measure before load")
        from torchperf_core.engine import block_fields

        values, contention = self.time(samples)
        return {"samples": values, **block_fields(contention)}

    def why(self) -> dict[str, Any]:
        from torchperf_core.env import collect_fingerprint, kernels_for

        fingerprint = collect_fingerprint("cpu").to_json()
        kernels = {}
        if self.kernel is not None:
            kernels = {k: v.to_json() for k, v in kernels_for([self.kernel], device="cpu").items()}
        return {"fingerprint": fingerprint, "kernels": kernels}


def _raw(raw: Any) -> tuple[list[float], Any]:
    return list(raw.samples), raw.contention


class _Merged:
    """Several timings' contention as one: contended if any was (a `track_` block may call the case
    more than once); the first contended one's cause."""

    def __init__(self, records: list[Any]) -> None:
        bad = [r for r in records if r.contended]
        self.contended = bool(bad)
        self.cause = (bad[0] if bad else records[0]).cause if records else None


def _track_samples(bench: Any, method: Callable[..., Any], params: list[Any], n: int) -> tuple[list[float], Any]:
    """A `track_` method that returns asv's timing dict ({"samples": [...], "number": k}) gives its
    per-call samples; one that returns a number gives one sample per call, taken n times. The suite's
    cases keep their engine timing in `bench.last_timing` (its contention is the block's)."""
    out: list[float] = []
    records: list[Any] = []
    while len(out) < n:
        result = method(*params)
        if isinstance(result, dict) and "samples" in result:
            out.extend(float(x) for x in result["samples"])
        else:
            out.append(float(result))
        contention = getattr(getattr(bench, "last_timing", None), "contention", None)
        if contention is not None:
            records.append(contention)
    return out, (_Merged(records) if records else None)


def _installed_version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def main() -> int:
    folder = os.environ.get("TORCHPERF_BISECT_SITE")  # envs.SITE_ENV (this script imports no bisect module)
    if folder:
        import site

        site.addsitedir(folder)  # already first on sys.path (PYTHONPATH); this runs its .pth files
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    worker = _Worker()
    for line in sys.stdin:
        request = json.loads(line)
        cmd = request.get("cmd")
        if cmd == "quit":
            break
        try:
            if cmd == "load":
                answer = worker.load(request["case"], request.get("package", ""))
            elif cmd == "measure":
                answer = worker.measure(int(request["samples"]))
            elif cmd == "why":
                answer = worker.why()
            else:
                raise ValueError(f"unknown request {cmd!r}")
            proto.write(json.dumps({"ok": True, **answer}) + "\n")
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
            traceback.print_exc()
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            proto.write(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {message}"[:300]}) + "\n")
    if worker.teardown is not None:
        try:
            worker.teardown()
        except Exception:  # noqa: BLE001 - the measurement is already taken
            traceback.print_exc()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One side of a gate round: a fresh process that times benchmark cases on request.

Run as a script by path (`python .../gate/worker.py --benchmark-dir DIR`), never imported from the
side's code tree: the side being measured is a commit's tree, which may predate the gate, so this
file uses the standard library only and takes the side's code from `--benchmark-dir` (its parent
goes first on sys.path, so `benchmarks` imports that commit's `torchperf_core` too: the engine is
part of what is measured).

Protocol, one JSON object per line: the parent writes a request on stdin, the worker answers on
stdout (anything the benchmarks print goes to stderr). Requests:

    (on start)                                       -> {"ready": true, "pid", "paced": BOOL}
    {"op": "list"}                                   -> {"cases": [{"benchmark", "key", "params"}]}
    {"op": "run", "benchmark": NAME, "key": KEY      -> {"ok": true, "median", "samples", "number",
     [, "paced": true]}                                  "contended", "cause", "paced": BOOL}
                                                      | {"ok": false, "skip": REASON}
                                                      | {"ok": false, "error": TEXT}
    {"op": "quit"}

Paced runs (sample by sample): with "paced": true, before every sample the worker answers
{"pace": N} (N samples taken so far) and waits for {"op": "go"}; the run's answer follows the last
sample as usual. The parent alternates two workers this way, one sample each (gate/pairs.py, `time_pair`).
"paced" at start says whether the side's tree can pace: its engine has `timing.pacing` (older trees
have not, and are run whole); a result's "paced" says whether this case was (a `time_` case always
is, an engine measurement where it goes through the paced loop; a case that answers without any
{"pace"} was not).

NAME is asv's benchmark name ("bench_matmul.MM.track_mm"), KEY asv's parameter key
("(1024, 'float32', 'contiguous', 'cpu')"), the same strings the results and sidecars use.
Cases are `track_` methods returning {"samples": [...], "number": n} (torchperf's suite: the engine
times them) and plain `time_` methods or functions (timed here as asv would: `number` calls per
sample so that a sample lasts >= 10 ms, 10 samples). A case is set up, timed once and torn down
per request, as asv does per repeat.

`TORCHPERF_GATE_SCALE="REGEX=FACTOR"` multiplies the samples of the cases whose "NAMEKEY" matches
REGEX by FACTOR: an exact, injected slowdown on top of the measured noise, for the detection-power
figures of scripts/gate_figures.py (never set by `torchperf continuous`).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import itertools
import json
import os
import re
import statistics
import sys
import time
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

_PREFIXES = ("track_", "time_")


def _key(combo: tuple[Any, ...]) -> str:
    return "(" + ", ".join(repr(v) for v in combo) + ")"


def _grid(owner: Any) -> list[tuple[Any, ...]]:
    params = getattr(owner, "params", [])
    grids = params if params and isinstance(params[0], (list, tuple)) else ([params] if params else [])
    return [tuple(c) for c in itertools.product(*grids)] if grids else [()]


def _owners(bench_dir: Path) -> Iterator[tuple[str, Any, bool]]:
    """(asv name prefix, class or module, is_class) for every benchmark-holding object, as asv finds
    them: classes defined in each module, and the module itself for plain functions."""
    package = bench_dir.name
    for path in sorted(bench_dir.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{path.stem}")
        yield path.stem, module, False
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__:
                yield f"{path.stem}.{cls_name}", cls, True


def _cases(bench_dir: Path) -> dict[tuple[str, str], tuple[Any, bool, str, tuple[Any, ...]]]:
    out: dict[tuple[str, str], tuple[Any, bool, str, tuple[Any, ...]]] = {}
    for prefix, owner, is_class in _owners(bench_dir):
        for attr in sorted(dir(owner) if is_class else vars(owner)):
            target = getattr(owner, attr)
            if not attr.startswith(_PREFIXES) or not callable(target) or inspect.isclass(target):
                continue
            if not is_class and getattr(target, "__module__", None) != owner.__name__:
                continue  # a function imported from elsewhere
            for combo in _grid(owner if is_class else target):
                out[(f"{prefix}.{attr}", _key(combo))] = (owner, is_class, attr, combo)
    return out


def _time_samples(call: Callable[[], Any], samples: int = 10, sample_time: float = 0.01,
                  pace: Callable[[], None] | None = None) -> dict[str, Any]:
    """asv's way for a `time_` benchmark: `number` calls per sample so a sample lasts >= sample_time;
    `pace`, when given, is called before every sample (outside it)."""
    call()  # warm-up
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            call()
        took = time.perf_counter() - start
        if took >= sample_time or number >= 10**6:
            break
        number *= 10 if took < sample_time / 10 else 2
    out = []
    for _ in range(samples):
        if pace is not None:
            pace()
        start = time.perf_counter()
        for _ in range(number):
            call()
        out.append((time.perf_counter() - start) / number)
    return {"samples": out, "number": number}


def _run_case(owner: Any, is_class: bool, method: str, params: tuple[Any, ...],
              pace: Callable[[], None] | None = None) -> dict[str, Any]:
    bench = owner() if is_class else SimpleNamespace()
    target = getattr(bench, method) if is_class else getattr(owner, method)
    try:
        if is_class and hasattr(bench, "setup"):
            bench.setup(*params)
    except NotImplementedError as exc:
        return {"ok": False, "skip": str(exc) or "skipped in setup"}
    try:
        if method.startswith("time_"):
            result = _time_samples(lambda: target(*params), pace=pace)
        else:
            result = target(*params)
        samples = [float(x) for x in result["samples"]]
        contention = getattr(getattr(bench, "last_timing", None), "contention", None)
        return {
            "ok": True,
            "median": statistics.median(samples),
            "samples": samples,
            "number": int(result.get("number", 1)),
            "contended": bool(getattr(contention, "contended", False)) if contention is not None else None,
            "cause": getattr(contention, "cause", None) if contention is not None else None,
        }
    finally:
        if is_class and hasattr(bench, "teardown"):
            bench.teardown(*params)


def _pacing() -> Callable[[Callable[[], None]], Any] | None:
    """The side's engine's `timing.pacing` context, or None where its tree predates it."""
    try:
        timing = importlib.import_module("torchperf_core.engine.timing")
    except ImportError:
        return None
    return getattr(timing, "pacing", None)


def _scale() -> tuple[re.Pattern[str], float] | None:
    text = os.environ.get("TORCHPERF_GATE_SCALE")
    if not text:
        return None
    pattern, _, factor = text.rpartition("=")
    return re.compile(pattern), float(factor)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark-dir", required=True)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    bench_dir = Path(args.benchmark_dir).resolve()
    sys.path.insert(0, str(bench_dir.parent))
    answer = sys.stdout
    sys.stdout = sys.stderr  # the benchmarks' prints must not corrupt the protocol
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    cases = _cases(bench_dir)
    scale = _scale()
    pacing = _pacing()
    requests = iter(sys.stdin)

    def reply(obj: dict[str, Any]) -> None:
        answer.write(json.dumps(obj) + "\n")
        answer.flush()

    paces = [0]

    def pace() -> None:
        """Before a sample: say so, and wait for the parent's go (the other side samples meanwhile)."""
        reply({"pace": paces[0]})
        paces[0] += 1
        request = json.loads(next(requests))
        if request.get("op") != "go":
            raise RuntimeError(f"a paced run expects {{'op': 'go'}} before each sample, got {request!r}")

    reply({"ready": True, "pid": os.getpid(), "paced": pacing is not None})
    for line in requests:
        request = json.loads(line)
        op = request.get("op")
        if op == "quit":
            break
        if op == "list":
            reply({"cases": [{"benchmark": n, "key": k} for n, k in cases]})
            continue
        case = cases.get((request.get("benchmark"), request.get("key")))
        if case is None:
            reply({"ok": False, "error": f"no case {request.get('benchmark')}{request.get('key')} on this side"})
            continue
        try:
            paces[0] = 0
            if request.get("paced") and pacing is not None:
                with pacing(pace):
                    result = _run_case(*case, pace=pace)
            else:
                result = _run_case(*case)
            result["paced"] = paces[0] > 0
            if scale is not None and result.get("ok") and scale[0].search(f"{request['benchmark']}{request['key']}"):
                result["samples"] = [x * scale[1] for x in result["samples"]]
                result["median"] = statistics.median(result["samples"])
            reply(result)
        except Exception:  # a failing benchmark is a result (failed), not the end of the round
            reply({"ok": False, "error": traceback.format_exc(limit=3).strip().splitlines()[-1]})
    return 0


if __name__ == "__main__":
    sys.exit(main())

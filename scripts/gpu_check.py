#!/usr/bin/env python3
"""Run every CUDA path of torchperf once, on a real NVIDIA GPU, and say which ones work.

Why: the CUDA code (SyncClock's device sync, CUDA-event timing, the cold-L2 flush, TF32 pinning,
out-of-memory skips, the GPU fingerprint, the doctor's nvidia-smi checks, the suite's cuda cases)
is covered on a CPU machine only by fakes. This script exercises the real paths the day a GPU is at
hand, compares two torch versions (or one twice) in separate processes and through the PR gate, and
prints torchperf's figures beside `triton.testing.do_bench` and
`torch.utils.benchmark.Timer.blocked_autorange` for a large GEMM and two µs-scale ops.

    python scripts/gpu_check.py [--out DIR] [--quick] [--python-b PYTHON] [--check NAME ...]

Each check is a function with a name. It passes, fails (the behaviour is wrong: the detail says
what), or is skipped (it cannot run here, e.g. triton is not importable: the detail says why).
Checks verify behaviour, never speed: "events mode returned 15 samples", "cold-L2 used number=1",
"the precision read back during the timing was 'high'", "the 2 TiB allocation became a skip".
The figures are printed and stored, and judged by a person.

Exit status: 1 if any check failed, 0 otherwise; 0 with one "no GPU" line where
`torch.cuda.is_available()` is False. `--out DIR/gpu_check.json` holds every figure, the
fingerprint and each check's status. Sized for under 8 minutes on an H100/H200 (a plan: it was
written without a GPU; the JSON's `seconds` say where the time went). docs/GPU_CHECK.md has the
table of checks, the code path each runs, and what passing means.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # benchmarks/ (the suite) and an uninstalled torchperf_core

# gpu_check.json history:
#   1 — first version: checks (name, status, detail, figures, seconds), timings, fingerprint, summary.
GPU_CHECK_FORMAT_VERSION = 1
NO_GPU_LINE = "no GPU: nothing to check (torch.cuda.is_available() is False)"
PASS, FAIL, SKIP = "pass", "fail", "skip"

# (row label, op, size, dtype): the large GEMM and two µs-scale ops of the reference table.
TIMED = (
    ("mm 8192³ bf16", "mm", "8192", "bfloat16"),
    ("mm 256² bf16", "mm", "256", "bfloat16"),
    ("add 4096 fp32", "add", "M=1,N=4096", "float32"),
)
BIG, ADD = TIMED[0], TIMED[2]
# 50 bf16 GEMMs of this size queue milliseconds of work on an H100/H200: still running when the
# launches return, so "the clock waited" is observable.
SYNC_PROBE_N = 4096


class Skip(Exception):
    """Raised by a check that cannot run here; the message is the reason."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # PASS | FAIL | SKIP
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None


# A check returns (problems, figures, summary): no problems means it passed.
Outcome = tuple[list[str], dict[str, Any], str]
CheckFn = Callable[[Any], Outcome]


@dataclass
class Context:
    """What every check shares: the device, the run's size, and the prepared cases (built once)."""

    device: Any  # torchperf_core.engine.Device
    quick: bool
    python_b: str
    cases: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    def case(self, op: str, size: str, dtype: str) -> Any:
        from torchperf_core.engine import prepare

        key = (op, size, dtype)
        if key not in self.cases:
            self.cases[key] = prepare(op, size, dtype, self.device)
        return self.cases[key]

    def options(self, **overrides: Any) -> Any:
        from torchperf_core.engine import TimingOptions

        base = dict(samples=8, min_samples=6, max_time=1.0) if self.quick else dict(samples=15, min_samples=8, max_time=2.0)
        base.update(overrides)
        return TimingOptions(**base)


def _torch() -> Any:
    import torch

    return torch


def _median(values: Sequence[float]) -> float:
    from torchperf_core.engine import stats

    return stats.median(values)


def _positive(values: Sequence[float]) -> bool:
    return bool(values) and all(math.isfinite(v) and v > 0 for v in values)


def _attempts(raw: Any) -> int:
    """Samples the loop took, retaken ones included (sync mode retakes samples whose threads waited
    for a CPU; `raw.contention` counts them)."""
    contention = getattr(raw, "contention", None)
    return contention.attempts if contention is not None else len(raw.samples)


def _contention(raw: Any) -> dict[str, Any] | None:
    contention = getattr(raw, "contention", None)
    return contention.to_json() if contention is not None else None


# --- the checks --------------------------------------------------------------------------------


def check_fingerprint(ctx: Context) -> Outcome:
    """The GPU fields of the fingerprint agree with what torch reports; clocks come from nvidia-smi
    (the fingerprint has no clock fields)."""
    from torchperf_core.env import collect_fingerprint

    torch = _torch()
    props = torch.cuda.get_device_properties(ctx.device.index or 0)
    fp = collect_fingerprint(str(ctx.device))
    gpu, problems = fp.gpu, []
    if gpu is None:
        return ["the fingerprint has no gpu section on a CUDA device"], {"fingerprint": fp.to_json()}, ""
    cudnn = torch.backends.cudnn.version()
    expected = {"gpu.name": (gpu.name, props.name), "gpu.sm_count": (gpu.sm_count, props.multi_processor_count),
                "gpu.compute_capability": (gpu.compute_capability, f"{props.major}.{props.minor}"),
                "gpu.memory_total_bytes": (gpu.memory_total_bytes, props.total_memory),
                "torch.cuda": (fp.torch.cuda, torch.version.cuda),
                "torch.cudnn": (fp.torch.cudnn, str(cudnn) if cudnn is not None else None)}
    problems += [f"{k} is {got!r}, torch says {want!r}" for k, (got, want) in expected.items() if got != want]
    smi = shutil.which("nvidia-smi")
    if smi and not gpu.driver:
        problems.append("gpu.driver is empty although nvidia-smi is on PATH")
    clocks = _smi_clocks(smi) if smi else None
    figures = {"fingerprint": fp.to_json(), "name": gpu.name, "driver": gpu.driver, "cuda": fp.torch.cuda,
               "cudnn": fp.torch.cudnn, "sm_count": gpu.sm_count, "compute_capability": gpu.compute_capability,
               "memory_total_bytes": gpu.memory_total_bytes, "nvidia_smi_clocks_mhz": clocks}
    summary = (f"{gpu.name}, driver {gpu.driver}, CUDA {fp.torch.cuda}, cuDNN {fp.torch.cudnn}, "
               f"{gpu.sm_count} SMs, sm_{props.major}{props.minor}")
    if isinstance(clocks, list) and clocks:  # nvidia-smi numbering (CUDA_VISIBLE_DEVICES may renumber)
        c = clocks[0]
        summary += (f"; nvidia-smi gpu{c.get('index')}: SM {c.get('clocks.sm')} of {c.get('clocks.max.sm')} MHz, "
                    f"memory {c.get('clocks.mem')} of {c.get('clocks.max.mem')} MHz")
    return problems, figures, summary


def _smi_clocks(smi: str) -> list[dict[str, str]] | str:
    fields = ("index", "clocks.sm", "clocks.max.sm", "clocks.mem", "clocks.max.mem")
    proc = subprocess.run([smi, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"],
                          capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0:
        return f"nvidia-smi failed: {(proc.stderr or proc.stdout).strip()[:200]}"
    return [dict(zip(fields, (v.strip() for v in line.split(",")))) for line in proc.stdout.strip().splitlines()]


def check_doctor_nvidia(ctx: Context) -> Outcome:
    """`torchperf doctor`'s GPU checks read nvidia-smi: persistence and clocks per GPU. Their WARNs
    are advice about the machine, not failures of this check."""
    if shutil.which("nvidia-smi") is None:
        raise Skip("nvidia-smi is not on PATH: the doctor's GPU checks cannot run")
    from torchperf_core.machine import run_checks

    gpu = [c for c in run_checks().checks if c.name.startswith("gpu")]
    names = [c.name for c in gpu]
    problems = [f"doctor: {c.detail}" for c in gpu if c.name == "gpu"]  # "no NVIDIA GPU" / "no usable ..."
    for kind in ("persistence", "clocks"):
        if not any(n.endswith(f" {kind}") for n in names):
            problems.append(f"the doctor has no '{kind}' check for any GPU (checks: {', '.join(names) or 'none'})")
    warns = [c.name for c in gpu if c.status == "WARN"]
    summary = f"{len(gpu)} GPU checks" + (f"; WARN (advice, see JSON): {', '.join(warns)}" if warns else ", no WARN")
    return problems, {"checks": [c.to_json() for c in gpu]}, summary


def check_sync_clock(ctx: Context) -> Outcome:
    """SyncClock waits for queued kernels, and the engine pays one sync per sample taken (+1 to open)."""
    from torchperf_core.engine import SyncClock

    torch = _torch()
    stream = torch.cuda.current_stream(ctx.device.index)
    a = torch.randn(SYNC_PROBE_N, SYNC_PROBE_N, device=ctx.device.torch(), dtype=torch.bfloat16)
    torch.cuda.synchronize(ctx.device.index)
    for _ in range(50):
        a @ a
    busy_after_launch = not stream.query()  # the control: the launches really are asynchronous
    clock = SyncClock(ctx.device)
    for _ in range(50):
        a @ a
    clock()
    idle_after_clock = stream.query()
    problems = [] if idle_after_clock else ["kernels still queued after SyncClock() returned: it did not wait"]
    if clock.syncs != 1:
        problems.append(f"SyncClock counted {clock.syncs} syncs for one read")
    counting = SyncClock(ctx.device)
    raw = ctx.case(*BIG[1:]).time(ctx.options(), clock=counting)
    if raw.mode != "sync" or raw.syncs_in_samples != _attempts(raw) + 1:
        problems.append(f"sync mode: {raw.syncs_in_samples} syncs for {_attempts(raw)} samples taken (expected samples + 1)")
    if not _positive(raw.samples):
        problems.append(f"sync mode: non-positive samples {raw.samples}")
    figures = {"stream_busy_right_after_launch": busy_after_launch, "stream_idle_after_clock": idle_after_clock,
               "samples": len(raw.samples), "attempts": _attempts(raw), "number": raw.number,
               "syncs_in_samples": raw.syncs_in_samples, "clock_overhead_s": raw.overhead,
               "median_s": _median(raw.samples) if raw.samples else None, "contention": _contention(raw)}
    return problems, figures, f"{BIG[0]}: {_attempts(raw)} samples × {raw.number}, {raw.syncs_in_samples} syncs"


def check_events_mode(ctx: Context) -> Outcome:
    """Events mode (Case.time builds the torch.cuda.Event factory) takes exactly `samples` samples
    and synchronizes once."""
    case, opts = ctx.case(*BIG[1:]), ctx.options(mode="events")
    raw = case.time(opts)
    problems = []
    if raw.mode != "events" or case.spec(opts).timing_mode != "events":
        problems.append(f"asked for events, got mode {raw.mode!r} / spec {case.spec(opts).timing_mode!r}")
    if len(raw.samples) != opts.samples:
        problems.append(f"events mode returned {len(raw.samples)} samples, asked {opts.samples}")
    if raw.syncs_in_samples != 1:
        problems.append(f"events mode synchronized {raw.syncs_in_samples} times (expected 1)")
    if not _positive(raw.samples):
        problems.append(f"events mode: non-positive samples {raw.samples}")
    figures = {"samples": len(raw.samples), "number": raw.number, "syncs_in_samples": raw.syncs_in_samples,
               "median_s": _median(raw.samples) if raw.samples else None}
    return problems, figures, f"{BIG[0]}: {len(raw.samples)} samples × {raw.number}, 1 sync"


def check_cold_l2(ctx: Context) -> Outcome:
    """The flush buffer is twice the L2; cold-L2 samples are one call each (number == 1), in sync
    mode (two syncs per sample taken: the flush is outside the timed region) and in events mode."""
    from torchperf_core.engine import flush_buffer_bytes

    torch = _torch()
    l2 = int(getattr(torch.cuda.get_device_properties(ctx.device.index or 0), "L2_cache_size", 0) or 0)
    flush_bytes = flush_buffer_bytes(ctx.device)
    problems = [] if flush_bytes == (2 * l2 if l2 else 256 << 20) else [f"flush buffer {flush_bytes} B for an L2 of {l2} B"]
    case, opts = ctx.case(*BIG[1:]), ctx.options(cold_l2=True)
    raw = case.time(opts)
    events = case.time(ctx.options(cold_l2=True, mode="events"))
    for label, r in (("sync", raw), ("events", events)):
        if r.number != 1 or not r.cold_l2:
            problems.append(f"cold-L2 {label}: number {r.number}, cold_l2 {r.cold_l2} (expected 1, True)")
        if not _positive(r.samples):
            problems.append(f"cold-L2 {label}: non-positive samples {r.samples}")
    if raw.syncs_in_samples != 2 * _attempts(raw):
        problems.append(f"cold-L2 sync: {_attempts(raw)} samples taken, {raw.syncs_in_samples} syncs (expected 2 each)")
    if len(events.samples) != opts.samples:
        problems.append(f"cold-L2 events: {len(events.samples)} samples, asked {opts.samples}")
    figures = {"l2_bytes": l2, "flush_bytes": flush_bytes, "number": raw.number, "samples": len(raw.samples),
               "attempts": _attempts(raw), "contention": _contention(raw),
               "median_sync_s": _median(raw.samples) if raw.samples else None,
               "median_events_s": _median(events.samples) if events.samples else None}
    return problems, figures, f"L2 {l2 >> 20} MiB, flush {flush_bytes >> 20} MiB, number=1 in sync and events modes"


def _precision_now(torch: Any) -> tuple[str, bool | None]:
    """(float32 matmul precision, cuDNN TF32), read through the API the engine sets."""
    conv = getattr(getattr(torch.backends.cudnn, "conv", None), "fp32_precision", None)
    return torch.get_float32_matmul_precision(), (conv == "tf32") if conv is not None else bool(torch.backends.cudnn.allow_tf32)


def check_tf32(ctx: Context) -> Outcome:
    """TF32 on and off are pinned for the whole timing (read back at every clock read), restored
    afterwards, and actually change the GEMM's result (on sm_80 and newer)."""
    from torchperf_core.engine import SyncClock, for_dtype, pinned_precision

    torch = _torch()

    class RecordingClock(SyncClock):
        def __init__(self, device: Any) -> None:
            super().__init__(device)
            self.seen: set[tuple[str, bool | None]] = set()

        def __call__(self) -> float:
            self.seen.add(_precision_now(torch))
            return super().__call__()

    original, problems, figures = torch.get_float32_matmul_precision(), [], {}
    torch.set_float32_matmul_precision("medium")  # a sentinel: must be back after each timing
    try:
        for dtype, want, label in (("tf32", ("high", True), "tf32"), ("float32", ("highest", False), "highest")):
            case, opts = ctx.case("mm", "1024", dtype), ctx.options()
            clock = RecordingClock(ctx.device)
            case.time(opts, clock=clock)
            figures[dtype] = {"read_back": sorted(list(s) for s in clock.seen), "spec_precision": case.spec(opts).precision}
            if clock.seen != {want}:
                problems.append(f"{dtype}: precision read during the timing {sorted(clock.seen)}, expected {want}")
            if case.spec(opts).precision != label:
                problems.append(f"{dtype}: spec says precision {case.spec(opts).precision!r}, expected {label!r}")
            if torch.get_float32_matmul_precision() != "medium":
                problems.append(f"{dtype}: precision not restored after the timing")
    finally:
        torch.set_float32_matmul_precision(original)
    props = torch.cuda.get_device_properties(ctx.device.index or 0)
    if props.major >= 8:
        x = torch.randn(1024, 1024, device=ctx.device.torch())
        ref = x.double() @ x.double()
        errors = {}
        for dtype in ("tf32", "float32"):
            with pinned_precision(for_dtype(dtype)):
                errors[dtype] = float(((x @ x).double() - ref).abs().max() / ref.abs().max())
        figures["relative_error_vs_fp64"] = errors
        if errors["tf32"] <= errors["float32"]:
            problems.append(f"TF32 pinned but the GEMM is as exact as IEEE fp32 ({errors}): the switch had no effect")
    else:
        figures["relative_error_vs_fp64"] = f"not checked: sm_{props.major}{props.minor} has no TF32"
    return problems, figures, "tf32 read back 'high', float32 'highest' at every clock read; restored after"


def check_oom_skip(ctx: Context) -> Outcome:
    """An allocation larger than the device becomes a skip, not a crash: the engine raises the
    user error "size too large", the suite's probe turns it into asv's skip (NotImplementedError),
    and the device still works afterwards."""
    from benchmarks.common import _probe  # the suite's own setup-time probe

    from torchperf_core.errors import TorchperfError

    torch = _torch()
    m = 2 * math.isqrt(torch.cuda.get_device_properties(ctx.device.index or 0).total_memory)
    case = ctx.case("mm", f"M={m},N={m},K=1", "float32")  # two m-vectors in; an m×m fp32 output: 16× the device
    problems, figures = [], {"output_bytes": 4 * m * m}
    for label, call, expected in (("engine", lambda: case.time(ctx.options()), TorchperfError),
                                  ("suite probe", lambda: _probe(case), NotImplementedError)):
        try:
            call()
            problems.append(f"{label}: a {4 * m * m >> 30} GiB output did not raise")
        except expected as exc:
            figures[label] = str(exc)[:300]
            if "size too large" not in str(exc):
                problems.append(f"{label}: {type(exc).__name__} without 'size too large': {str(exc)[:200]}")
    del ctx.cases[("mm", f"M={m},N={m},K=1", "float32")], case
    small = torch.randn(256, 256, device=ctx.device.torch())
    after = float((small @ small).abs().sum())
    torch.cuda.synchronize(ctx.device.index)
    if not math.isfinite(after):
        problems.append("the device gave a non-finite result after the out-of-memory error")
    figures["memory_reserved_after_bytes"] = torch.cuda.memory_reserved(ctx.device.index)
    return problems, figures, f"{4 * m * m >> 30} GiB output: 'size too large' in the engine, a skip in the suite"


def check_suite_cuda(ctx: Context) -> Outcome:
    """benchmarks/ with TORCHPERF_DEVICES=cuda: the grid has cuda and keeps tf32, and a cuda tf32
    case runs through setup → track → teardown as asv would call it."""
    import importlib

    saved = {k: os.environ.get(k) for k in ("TORCHPERF_DEVICES", "TORCHPERF_TIER")}
    os.environ.update(TORCHPERF_DEVICES="cuda", TORCHPERF_TIER="default")
    try:
        mod = importlib.reload(sys.modules["benchmarks.bench_matmul"]) if "benchmarks.bench_matmul" in sys.modules \
            else importlib.import_module("benchmarks.bench_matmul")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    names, params = mod.MM.param_names, mod.MM.params
    problems = []
    if params[names.index("device")] != ["cuda"]:
        problems.append(f"device parameter {params[names.index('device')]}, expected ['cuda']")
    if "tf32" not in params[names.index("dtype")]:
        problems.append("tf32 dropped from the grid on a cuda run")
    values = {"size": 256, "dtype": "tf32", "layout": "contiguous", "device": "cuda"}
    args = [values[n] for n in names]
    bench = mod.MM()
    try:
        bench.setup(*args)
    except NotImplementedError as exc:
        return problems + [f"setup skipped the cuda case: {exc}"], {}, ""
    try:
        out, label = bench.track_mm(*args), bench.case.settings.label
    finally:
        bench.teardown(*args)
    if not _positive(out.get("samples", [])) or out.get("number", 0) < 1:
        problems.append(f"track_mm returned {out}")
    if label != "tf32":
        problems.append(f"the tf32 case ran with precision {label!r}")
    figures = {"samples": len(out.get("samples", [])), "number": out.get("number"), "precision": label,
               "median_s": _median(out["samples"]) if out.get("samples") else None}
    return problems, figures, f"MM(256, tf32, contiguous, cuda): {figures['samples']} samples × {figures['number']}"


def check_torchperf_timings(ctx: Context) -> Outcome:
    """torchperf's medians for the reference table: sync, events, and cold-L2 in both modes. Cold-L2
    in events mode is like for like with do_bench (flush, then one event pair per call); cold-L2 in
    sync mode carries one device sync per call, which dominates a µs-scale op."""
    rows, problems = {}, []
    for label, op, size, dtype in TIMED:
        case = ctx.case(op, size, dtype)
        runs = {"sync_s": case.time(ctx.options()), "events_s": case.time(ctx.options(mode="events")),
                "cold_l2_sync_s": case.time(ctx.options(cold_l2=True)),
                "cold_l2_events_s": case.time(ctx.options(cold_l2=True, mode="events"))}
        rows[label] = {k: _median(r.samples) for k, r in runs.items()}
        rows[label]["contention"] = {k: _contention(r) for k, r in runs.items() if "events" not in k}
        problems += [f"{label} {k}: non-positive samples" for k, r in runs.items() if not _positive(r.samples)]
    contended = [f"{label} {k}" for label, row in rows.items() for k, c in row["contention"].items()
                 if c and c.get("contended")]
    note = f"; contended (see JSON): {', '.join(contended)}" if contended else ""
    return problems, {"rows": rows}, f"{len(rows)} ops × sync, events, cold-L2 sync and events{note}"


def check_utils_benchmark(ctx: Context) -> Outcome:
    """torch.utils.benchmark.Timer.blocked_autorange on the same callables, threads and precision."""
    from torch.utils.benchmark import Timer

    from torchperf_core.engine import pinned_precision, pinned_threads

    rows = {}
    for label, op, size, dtype in TIMED:
        case = ctx.case(op, size, dtype)
        with pinned_threads(case.threads), pinned_precision(case.settings):
            m = Timer(stmt="fn()", globals={"fn": case.callables()[0]}, num_threads=case.threads).blocked_autorange(
                min_run_time=0.2 if ctx.quick else 1.0)
        rows[label] = {"median_s": m.median, "runs": len(m.times), "number_per_run": m.number_per_run}
    problems = [f"{k}: median {r['median_s']}" for k, r in rows.items() if not _positive([r["median_s"]])]
    return problems, {"rows": rows}, f"{len(rows)} ops, blocked_autorange median"


def check_triton_do_bench(ctx: Context) -> Outcome:
    """triton.testing.do_bench: L2 flushed before each call, one event pair per call. Its default
    statistic is the mean; the median is asked for where this triton takes return_mode/quantiles."""
    try:
        from triton.testing import do_bench
    except ImportError as exc:
        raise Skip(f"triton is not importable ({exc})") from None
    import inspect

    from torchperf_core.engine import pinned_precision, pinned_threads

    accepted = inspect.signature(do_bench).parameters
    kwargs: dict[str, Any] = ({"return_mode": "median"} if "return_mode" in accepted
                              else {"quantiles": [0.5]} if "quantiles" in accepted else {})
    statistic = "median" if kwargs else "mean"
    rows = {}
    for label, op, size, dtype in TIMED:
        case = ctx.case(op, size, dtype)
        with pinned_threads(case.threads), pinned_precision(case.settings):
            ms = do_bench(case.callables()[0], warmup=25, rep=50 if ctx.quick else 200, **kwargs)
        ms = ms[0] if isinstance(ms, (list, tuple)) else ms
        rows[label] = {"seconds": float(ms) / 1e3, "statistic": statistic}
    problems = [f"{k}: {r['seconds']} s" for k, r in rows.items() if not _positive([r["seconds"]])]
    return problems, {"rows": rows, "statistic": statistic}, f"{len(rows)} ops, do_bench {statistic}"


def _bench_process(python: str, op: str, size: str, dtype: str, samples: int) -> Any:
    """One `torchperf bench --json` in its own process: the real CLI, engine and CUDA context."""
    from torchperf_core.engine import Measurement

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    argv = [python, "-m", "torchperf_core", "bench", op, "--size", size, "--dtype", dtype, "--device", "cuda",
            "--samples", str(samples), "--json"]
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[1:])} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return Measurement.from_json(json.loads(proc.stdout), source=f"{python} bench {op}")


def _torch_version(python: str) -> str:
    proc = subprocess.run([python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True,
                          timeout=120, check=True)
    return proc.stdout.strip()


def check_two_versions(ctx: Context) -> Outcome:
    """A two-version comparison: `torchperf bench` in separate processes, side A = this python,
    side B = --python-b (the same python by default: an A/A pair), in ABBA order (AB with --quick),
    judged by the one significance rule. The verdict is a figure, not pass/fail."""
    from asv_runner.statistics import compute_stats

    from torchperf_core.store import Sample
    from torchperf_core.verdict import DEFAULT_FACTOR, judge

    pythons = {"A": sys.executable, "B": ctx.python_b}
    versions = {side: _torch_version(py) for side, py in pythons.items()}
    order = "AB" if ctx.quick else "ABBA"
    kind = "A/A, one torch twice" if pythons["A"] == pythons["B"] else f"torch {versions['A']} vs {versions['B']}"
    rows, problems = {}, []
    for label, op, size, dtype in (BIG, ADD):
        pooled: dict[str, list[float]] = {"A": [], "B": []}
        for side in order:
            pooled[side] += _bench_process(pythons[side], op, size, dtype, 8 if ctx.quick else 15).samples
        sides = {}
        for side, samples in pooled.items():
            value, st = compute_stats(samples, 1)
            sides[side] = Sample(value=value, stats=st, samples=tuple(samples), version=None)
        verdict, beyond_factor_only = judge(sides["A"], sides["B"], DEFAULT_FACTOR)
        rows[label] = {"verdict": verdict, "beyond_factor_only": beyond_factor_only, "ratio_b_over_a":
                       sides["B"].value / sides["A"].value, "median_a_s": sides["A"].value, "median_b_s": sides["B"].value,
                       "samples": [len(pooled["A"]), len(pooled["B"])]}
        problems += [f"{label}: {len(pooled[s])} samples on side {s} (the rule needs 6)" for s in "AB" if len(pooled[s]) < 6]
    figures = {"kind": kind, "order": order, "pythons": pythons, "torch_versions": versions, "factor": DEFAULT_FACTOR,
               "rows": rows}
    verdicts = ", ".join(f"{k} {r['verdict']} ×{r['ratio_b_over_a']:.3f}" for k, r in rows.items())
    return problems, figures, f"{kind}, separate processes, {order}: {verdicts}"


# The gate's A/A cases: benchmark name + asv parameter key, as `continuous --bench` matches them.
GATE_CASES = r"\.MM\.track_mm\((8192|256), 'bfloat16', 'contiguous', 'cuda'\)"


def check_gate_continuous(ctx: Context) -> Outcome:
    """The PR gate, `torchperf continuous HEAD HEAD`, on two cuda cases of the suite (mm 8192³ and
    256² bf16): an A/A pair through its interleaved rounds of fresh processes. It must run to a
    verdict per case (exit 0 or 1); the verdicts are figures (exit 1 here is a false alarm)."""
    if not (ROOT / "torchperf_core" / "commands" / "continuous.py").is_file():
        raise Skip("this tree has no `torchperf continuous`")
    from torchperf_core.verdict import BOTH_FAILED, FAILED, FIXED, ONLY_AFTER, ONLY_BEFORE, SKIPPED

    if not (ROOT / ".git").exists():
        raise Skip("not a git checkout: the gate extracts each side's commit with git")
    rounds = ["--rounds-min", "3", "--max-rounds", "3"] if ctx.quick else \
        ["--rounds-min", "6", "--max-rounds", "10", "--budget", "90"]
    argv = [sys.executable, "-m", "torchperf_core", "continuous", "HEAD", "HEAD", "--bench", GATE_CASES,
            "--tier", "full", "--format", "json", *rounds]
    env = dict(os.environ, TORCHPERF_DEVICES="cuda")
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode not in (0, 1):
        return [f"`{' '.join(argv[2:])}` exited {proc.returncode}: {proc.stderr.strip()[-300:]}"], {}, ""
    report = json.loads(proc.stdout)
    cases = [{k: c.get(k) for k in ("benchmark", "key", "verdict", "ratio", "p", "rounds", "contended_rounds")}
             for c in report.get("cases", [])]
    problems = [] if len(cases) == 2 else [f"the gate judged {len(cases)} cases, expected 2 ({GATE_CASES})"]
    problems += [f"{c['key']}: {c['verdict']} (a cuda case that did not run on both sides)" for c in cases
                 if c["verdict"] in (SKIPPED, FAILED, FIXED, BOTH_FAILED, ONLY_BEFORE, ONLY_AFTER)]
    figures = {"argv": argv[1:], "exit_code": proc.returncode, "headline": report.get("headline"),
               "rounds": report.get("rounds"), "seconds": report.get("seconds"), "cases": cases}
    verdicts = ", ".join(f"{c['key']} {c['verdict']}" for c in cases)
    return problems, figures, f"A/A HEAD vs HEAD, {report.get('rounds')} rounds, exit {proc.returncode}: {verdicts}"


CHECKS: tuple[tuple[str, CheckFn], ...] = (
    ("fingerprint", check_fingerprint), ("doctor_nvidia", check_doctor_nvidia), ("sync_clock", check_sync_clock),
    ("events_mode", check_events_mode), ("cold_l2", check_cold_l2), ("tf32", check_tf32), ("oom_skip", check_oom_skip),
    ("suite_cuda", check_suite_cuda), ("torchperf_timings", check_torchperf_timings),
    ("utils_benchmark", check_utils_benchmark), ("triton_do_bench", check_triton_do_bench),
    ("two_versions", check_two_versions), ("gate_continuous", check_gate_continuous),
)


# --- running, accounting, rendering (no CUDA below: tested with fake results) ---------------------


def run_check(name: str, fn: CheckFn, ctx: Any, clock: Callable[[], float] = time.monotonic) -> CheckResult:
    """One check as a result: a Skip is a skip, any other exception a failure with its traceback."""
    start = clock()
    try:
        problems, figures, summary = fn(ctx)
    except Skip as why:
        return CheckResult(name, SKIP, str(why), {}, round(clock() - start, 3))
    except Exception as exc:  # noqa: BLE001 - a crash is a failed check, reported, never hidden
        return CheckResult(name, FAIL, f"crashed: {type(exc).__name__}: {str(exc)[:300]}",
                           {"traceback": traceback.format_exc()}, round(clock() - start, 3))
    status, detail = (FAIL, "; ".join(problems)) if problems else (PASS, summary)
    return CheckResult(name, status, detail, figures, round(clock() - start, 3))


def summarize(results: Sequence[CheckResult]) -> dict[str, int]:
    return {s: sum(r.status == s for r in results) for s in (PASS, FAIL, SKIP)}


def exit_code(results: Sequence[CheckResult]) -> int:
    return 1 if any(r.status == FAIL for r in results) else 0


def _rows_of(results: Sequence[CheckResult], name: str) -> dict[str, Any]:
    found = [r for r in results if r.name == name and r.status == PASS]
    return found[0].figures.get("rows", {}) if found else {}


def timing_rows(results: Sequence[CheckResult]) -> list[dict[str, Any]]:
    """One row per TIMED op with every timer's figure (None where a timer did not run)."""
    tp, ub, db = (_rows_of(results, n) for n in ("torchperf_timings", "utils_benchmark", "triton_do_bench"))
    statistic = next((r.figures.get("statistic") for r in results if r.name == "triton_do_bench" and r.status == PASS), None)
    rows = []
    for label, *_ in TIMED:
        t, u, d = tp.get(label, {}), ub.get(label, {}), db.get(label, {})
        rows.append({"op": label, "torchperf_sync_s": t.get("sync_s"), "torchperf_events_s": t.get("events_s"),
                     "torchperf_cold_l2_sync_s": t.get("cold_l2_sync_s"),
                     "torchperf_cold_l2_events_s": t.get("cold_l2_events_s"), "utils_benchmark_s": u.get("median_s"),
                     "do_bench_s": d.get("seconds"), "do_bench_statistic": statistic})
    return rows


def _ratio(a: float | None, b: float | None) -> str:
    return f"×{a / b:.3f}" if a is not None and b else "—"


def render_table(rows: Sequence[dict[str, Any]]) -> str:
    from torchperf_core.render import format_time, table

    statistic = next((r["do_bench_statistic"] for r in rows if r["do_bench_statistic"]), "not run")
    headers = ["op", "torchperf sync", "events", "cold-L2 events", "utils.benchmark", f"do_bench ({statistic})",
               "utils.benchmark/sync", "do_bench/cold-L2 events"]
    body = [[r["op"], format_time(r["torchperf_sync_s"]), format_time(r["torchperf_events_s"]),
             format_time(r["torchperf_cold_l2_events_s"]), format_time(r["utils_benchmark_s"]),
             format_time(r["do_bench_s"]), _ratio(r["utils_benchmark_s"], r["torchperf_sync_s"]),
             _ratio(r["do_bench_s"], r["torchperf_cold_l2_events_s"])]
            for r in rows]
    return table(headers, body)


def render_check(result: CheckResult) -> str:
    return f"[{result.status}] {result.name}: {result.detail}"


def build_report(results: Sequence[CheckResult], *, quick: bool, taken_at: str, total_seconds: float) -> dict[str, Any]:
    fingerprint = next((r.figures.get("fingerprint") for r in results if r.name == "fingerprint"), None)
    return {"format_version": GPU_CHECK_FORMAT_VERSION, "taken_at": taken_at, "quick": quick,
            "total_seconds": total_seconds, "fingerprint": fingerprint, "summary": summarize(results),
            "exit_code": exit_code(results), "timings": timing_rows(results),
            "checks": [asdict(r) for r in results]}


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="gpu-check", help="folder for gpu_check.json (default ./gpu-check)")
    parser.add_argument("--quick", action="store_true", help="fewer samples, shorter runs, fewer gate rounds")
    parser.add_argument("--python-b", default=sys.executable,
                        help="python with another torch for side B of the comparison (default: this one: A/A)")
    parser.add_argument("--check", action="append", dest="only", metavar="NAME",
                        help=f"run only these checks (repeatable): {', '.join(n for n, _ in CHECKS)}")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, *, cuda_available: Callable[[], bool] | None = None,
         checks: Sequence[tuple[str, CheckFn]] | None = None, context: Any = None) -> int:
    """`cuda_available`, `checks` and `context` are for tests (fake check results, no CUDA)."""
    args = _parse(argv)
    checks = CHECKS if checks is None else checks
    unknown = [n for n in args.only or [] if n not in dict(checks)]
    if unknown:
        print(f"error: unknown check {unknown[0]!r}; accepted: {', '.join(n for n, _ in checks)}", file=sys.stderr)
        return 2
    if not (cuda_available or (lambda: _torch().cuda.is_available()))():
        print(NO_GPU_LINE)
        return 0
    if context is None:
        from torchperf_core.engine import parse_device

        context = Context(parse_device("cuda"), args.quick, args.python_b)
    started = time.monotonic()
    results = []
    for name, fn in checks:
        if args.only and name not in args.only:
            continue
        results.append(run_check(name, fn, context))
        print(render_check(results[-1]), flush=True)
    print()
    print(render_table(timing_rows(results)))
    counts = summarize(results)
    print(f"\nchecks: {counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped")
    taken_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    report = build_report(results, quick=args.quick, taken_at=taken_at, total_seconds=round(time.monotonic() - started, 1))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {out / 'gpu_check.json'}")
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(main())

"""Glue between asv and the torchperf engine, shared by every `bench_<family>.py`.

Why `track_` benchmarks that call the engine, not `time_` benchmarks with a synchronizing `timer`
------------------------------------------------------------------------------------------------
asv_runner >= 0.3 gives any benchmark with a `setup` hook one call per sample (an explicit
`number > 1` re-runs setup before every call). A `time_` benchmark would then pay one device
synchronization per *call*: for a µs-scale GPU kernel the sample is mostly launch and sync latency.
`asv run --quick` also sets warmup to 0 and takes a single sample, i.e. one cold call (1.5× to 85×
the warm time for torch on a CPU).

So every benchmark here is a `track_` method whose body runs the torchperf engine on inputs built in
`setup`: the engine warms up (by time and by a minimum call count: `--quick` still reports warm
numbers), calibrates `number` so that one synchronization per sample costs < 1% of it, and returns
the per-call samples. A `track_` benchmark returning ``{"samples": [...], "number": n}`` is stored by
asv exactly like a timing: median, 99% CI, quartiles, `number`, `repeat` (= the sample count) and,
with `--record-samples` (default for `asv continuous`), the raw samples, so `asv compare` and
`asv continuous` judge significance from them. `unit = "seconds"` makes asv display them as times.
The clock is `torchperf_core.clock.SyncClock`: the one clock of the engine and of these classes.

What reaches `results/benchmarks.json`
--------------------------------------
Every `track_` method carries, as function attributes (asv copies any JSON-serialisable one):

- `version`: explicit, so reformatting a file does not orphan its history;
- `unit`: "seconds";
- `op`: the catalog op name;
- `flops` / `bytes_moved`: dicts from the parameter set, written as asv writes it in compare output
  (the params' repr strings joined by ", " in parentheses, e.g. ``"(1024, 'float32', 'cpu')"``), to
  the op's FLOP count and minimum bytes moved per call, from `torchperf_core.catalog` (the only
  copy of those models). They cover every tier and device, so results taken with another tier
  still find their entry.

Tiers and devices
-----------------
`TORCHPERF_TIER` (smoke | default | full; default "default") picks the parameter lists when a
module is imported: smoke for CI and a first look (<= 2 min per environment on 2 CPU cores),
default for a real run (<= 10 min), full for the large and slow cases. Benchmark names never depend
on the tier, so a smoke result and a default result of the same case share their history.
`TORCHPERF_DEVICES` (comma list, e.g. "cpu,cuda") picks the devices; by default "cpu", plus
"cuda" where an NVIDIA driver is present (checked from /proc, without importing torch). Sizes
above a device's limit and unsupported dtype/layout/device combinations are skipped by raising
NotImplementedError in `setup`.

Importing this module is cheap: no torch, no device work (asv imports every module to discover).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import sys
from typing import Any, Mapping, Sequence

TIERS = ("smoke", "default", "full")
DEVICES = ("cpu", "cuda")
TIER_ENV = "TORCHPERF_TIER"
DEVICES_ENV = "TORCHPERF_DEVICES"
# The thread count the suite runs at (`torchperf run --threads N` sets it through asv's matrix, so
# those results get an environment name, and a history, of their own). Unset: torch's default (all
# cores), what eager PyTorch users run with. 1 thread is what torch.utils.benchmark defaults to: a
# shared machine disturbs it far less (one busy process beside a 2-thread mm 1024² doubled it; at 1
# thread it read the same as quiet).
THREADS_ENV = "TORCHPERF_THREADS"
# Where each timed case appends one JSON line (set by `torchperf run`; a bare `asv run` logs nothing).
CASE_LOG_ENV = "TORCHPERF_CASE_LOG"
# The forced ISA level (`torchperf run --isa avx2` sets it through asv's matrix, like the threads:
# results of their own). ATen and oneDNN read their variables once, when torch loads, so the level
# is applied when this module is imported (`apply_isa_level`, below): every bench module imports it
# before anything imports torch. Unset: the library's own dispatch.
ISA_ENV = "TORCHPERF_ISA"

# Largest size per device: a 4096³ fp32 GEMM is ~1 s per call on 2 CPU cores; a GPU goes further.
MAX_SIZE = {"cpu": 4096, "cuda": 8192}
# Cases far slower than their neighbours, capped per tier: float16 GEMMs on CPUs without native
# fp16 arithmetic take a slow path (a 1024³ fp16 mm took 3.3 s, 60× float32, on a 2-core Zen 4).
SLOW_CAPS = {("cpu", "float16"): {"smoke": 256, "default": 512, "full": 1024}}
# bfloat16 GEMM-type work on a CPU without AVX-512 (or a run capped below it) takes ATen's slow
# path: on a 2-core AVX2 EPYC (torch 2.13) a 1024³ bf16 mm took 2.2 s a call (~1 GFLOP/s, 150×
# float32), a bmm 1024 9 s, a 2048³ mm 58 s; its 62 bf16 cases were 711 s of the default tier's 771 s
# a pass. Above these FLOPs a call such cases are left to the 'full' tier there; the cheaper ones
# (mm 256², conv2d 32, the backward passes at 256) stay. Memory-bound ops and sdpa (its bf16
# kernel ran at ~130 GFLOP/s there) are not capped.
SLOW_BF16_OPS = frozenset({"mm", "addmm", "bmm", "matmul", "linear", "linear_backward", "matmul_backward", "conv2d"})
SLOW_BF16_FLOP_CAPS = {"smoke": 1e9, "default": 1e9, "full": None}


def current_tier() -> str:
    tier = os.environ.get(TIER_ENV, "default") or "default"
    if tier not in TIERS:
        raise ValueError(f"{TIER_ENV}={tier!r} is not a tier; accepted: {', '.join(TIERS)}")
    return tier


def _nvidia_driver_present() -> bool:
    return os.path.exists("/proc/driver/nvidia/version")


def current_devices() -> list[str]:
    text = os.environ.get(DEVICES_ENV, "")
    if not text:
        return ["cpu", "cuda"] if _nvidia_driver_present() else ["cpu"]
    devices = [d.strip() for d in text.split(",") if d.strip()]
    bad = [d for d in devices if d not in DEVICES]
    if bad or not devices:
        raise ValueError(f"{DEVICES_ENV}={text!r}: accepted devices are {', '.join(DEVICES)}")
    return devices


def current_threads() -> int | None:
    """`TORCHPERF_THREADS` as a positive int; None when unset (torch's default)."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{THREADS_ENV}={text!r} is not a thread count; give a positive integer, e.g. 1")
    return int(text)


def current_isa() -> str | None:
    """`TORCHPERF_ISA` as an ISA level ("default", "avx2", "avx512"); None when unset."""
    text = os.environ.get(ISA_ENV, "").strip()
    if not text:
        return None
    from torchperf_core.engine import ISA_LEVELS

    if text.lower() not in ISA_LEVELS:
        raise ValueError(f"{ISA_ENV}={text!r} is not an ISA level; accepted: {', '.join(ISA_LEVELS)}")
    return text.lower()


def apply_isa_level() -> None:
    """Set ATEN_CPU_CAPABILITY / ONEDNN_MAX_CPU_ISA from `TORCHPERF_ISA`, before torch is imported
    (a level this CPU lacks is not set: ATen would SIGILL; the recorded capability then says so).
    Nothing when unset: the library's own dispatch, inherited variables included."""
    level = current_isa()
    if level is None:
        return
    from torchperf_core.engine import apply_isa

    apply_isa(level)


apply_isa_level()  # at import: cheap (no torch), and earlier than any benchmark's torch import


def timing_options(tier: str | None = None) -> Any:
    """Engine options per tier. Every tier keeps >= 6 samples: asv's Mann-Whitney test needs 6+6."""
    from torchperf_core.engine import TimingOptions

    tier = tier or current_tier()
    if tier == "smoke":
        return TimingOptions(warmup_time=0.05, samples=10, min_samples=6, max_time=0.3)
    if tier == "full":
        return TimingOptions(warmup_time=0.2, samples=30, min_samples=10, max_time=3.0)
    return TimingOptions(warmup_time=0.1, samples=15, min_samples=8, max_time=1.0)


def _key(combo: Sequence[Any]) -> str:
    return "(" + ", ".join(repr(v) for v in combo) + ")"


def grid(tiers: Mapping[str, Mapping[str, Sequence[Any]]]) -> tuple[list[list[Any]], list[str]]:
    """asv `params`, `param_names` for the current tier and devices.

    `tiers` maps a tier to {param name: values}; "device" is appended from `current_devices()`.
    "tf32" is dropped without a cuda device (it is a CUDA mode) so a CPU run does not spawn a
    process per skipped case; CUDA-only sizes are skipped on CPU in setup.
    """
    chosen = tiers[current_tier()]
    devices = current_devices()
    names = list(chosen) + ["device"]
    params = [list(v) for v in chosen.values()] + [devices]
    if "dtype" in chosen and "cuda" not in devices:
        i = names.index("dtype")
        params[i] = [d for d in params[i] if d != "tf32"]
    return params, names


@functools.cache
def _this_cpu_flags() -> frozenset[str]:
    """This CPU's flags, read once a process (every case's `setup` asks)."""
    from torchperf_core.engine.isa import cpu_flags

    return cpu_flags()


def bf16_gemm_is_slow(flags: frozenset[str] | None = None) -> bool:
    """True when ATen runs on this CPU without AVX-512: its flags lack it, or the run is capped at
    avx2 (`TORCHPERF_ISA`). Unreadable flags (not Linux) cap nothing: slow is what was measured.
    ATen's own test for sending bf16 GEMMs to oneDNN (`mkldnn_bf16_device_check`: avx512bw, vl, dq)
    is within the avx512 level's flags; an AVX-512 CPU without native bf16 (avx512_bf16) passes it
    and runs oneDNN's emulated bf16 (a few times float32's cost, not measured here): not capped."""
    from torchperf_core.engine import isa_unavailable_reason

    have = _this_cpu_flags() if flags is None else flags
    if not have:
        return False
    return current_isa() == "avx2" or isa_unavailable_reason("avx512", have) is not None


def skip_reason(op: str, size: int, dtype: str, layout: str, device_type: str, tier: str,
                flags: frozenset[str] | None = None) -> str | None:
    """Why a case is not run here, decided without importing torch (skips stay cheap). `flags`: the
    CPUID flags the rules read (default: this CPU's)."""
    from torchperf_core import catalog

    if size > MAX_SIZE.get(device_type, MAX_SIZE["cpu"]):
        return f"size {size} is above the {device_type} limit {MAX_SIZE.get(device_type, MAX_SIZE['cpu'])}"
    cap = SLOW_CAPS.get((device_type, dtype), {}).get(tier)
    if cap is not None and size > cap:
        return f"{dtype} on {device_type} above {cap} is slow: run the 'full' tier for it"
    flop_cap = SLOW_BF16_FLOP_CAPS[tier]
    if (device_type, dtype) == ("cpu", "bfloat16") and op in SLOW_BF16_OPS and flop_cap is not None \
            and bf16_gemm_is_slow(flags):
        opdef = catalog.get_op(op)
        flops = opdef.flops(opdef.shape_for_size(size))
        if flops > flop_cap:
            return (f"bfloat16 {op} at {flops:.2g} FLOPs a call is slow on a CPU without AVX-512 (8-150x "
                    f"float32 where measured): run the 'full' tier for it")
    if device_type == "cuda" and not _nvidia_driver_present():
        return "no NVIDIA driver on this machine"
    return catalog.unsupported_reason(catalog.get_op(op), dtype, device_type, layout)


def annotate(method: Any, op: str, tiers: Mapping[str, Mapping[str, Sequence[Any]]], version: str) -> None:
    """Attach version, unit, op, and FLOP/byte dicts (every tier × device) to a `track_` method."""
    from torchperf_core import catalog

    opdef = catalog.get_op(op)
    flops: dict[str, float] = {}
    bytes_moved: dict[str, float] = {}
    for table in tiers.values():
        names = list(table)
        for combo in itertools.product(*table.values(), DEVICES):
            values = dict(zip(names + ["device"], combo))
            shape = opdef.shape_for_size(int(values["size"]))
            key = _key(combo)
            flops[key] = opdef.flops(shape)
            bytes_moved[key] = opdef.bytes_moved(shape, catalog.itemsize(str(values.get("dtype", "float32"))))
    method.version = version
    method.unit = "seconds"
    method.op = op
    method.flops = flops
    method.bytes_moved = bytes_moved


class OpBenchmark:
    """Base of every suite class: `setup` builds and checks the case, `_run` times it.

    Subclasses set `op`, `params`/`param_names` (via `grid`) and one `track_<op>` method returning
    `self._run()`. Parameters are matched by name, so families may omit dtype or layout.
    """

    op = ""
    timeout = 180  # seconds: a full-tier 4096³ GEMM on 2 cores needs ~1 s per call
    clock: Any = None

    def setup(self, *args: Any) -> None:
        from torchperf_core.clock import SyncClock
        from torchperf_core.device import parse_device
        from torchperf_core.errors import TorchperfError
        from torchperf_core.measure import prepare

        values = dict(zip(self.param_names, args))  # type: ignore[attr-defined]
        self._asv_key = _key(args)
        device_name = str(values.get("device", "cpu"))
        size = int(values["size"])
        dtype = str(values.get("dtype", "float32"))
        layout = str(values.get("layout", "contiguous"))
        reason = skip_reason(self.op, size, dtype, layout, device_name.split(":")[0], current_tier())
        if reason:
            raise NotImplementedError(reason)
        try:
            device = parse_device(device_name)
            self.case = prepare(self.op, size, dtype, device, layout=layout, threads=current_threads())
        except TorchperfError as exc:  # includes UnsupportedCase; an unusable device or size
            raise NotImplementedError(str(exc)) from None
        _probe(self.case, budget=self.timeout)
        self.clock = SyncClock(device)
        from torchperf_core.engine import cpu_capability

        self.capability = cpu_capability()  # what ATen dispatched to here, read back, not assumed

    def teardown(self, *args: Any) -> None:
        case = getattr(self, "case", None)
        self.case = None
        if case is not None:
            case.device.empty_cache()

    def _run(self) -> dict[str, Any]:
        """Time the prepared case; the per-call samples go to asv as a timing result.

        asv has no column for how disturbed a measurement was, so the engine's verdict on that
        (`last_timing.contention`) goes to the case log `torchperf run` reads (`log_case`).
        """
        timing = self.case.time(timing_options(), clock=self.clock)
        self.last_timing = timing
        method = sys._getframe(1).f_code.co_name  # the track_ method that called us
        log_case(type(self), method, self._asv_key, timing, self.case.threads, getattr(self, "capability", None))
        return {"samples": list(timing.samples), "number": timing.number}


def log_case(klass: type, method: str, key: str, timing: Any, threads: int, capability: str | None = None) -> None:
    """Append what asv cannot store about one case to `$TORCHPERF_CASE_LOG`: its benchmark name as
    asv spells it, its parameter key, the environment and commit asv ran it for, the median, the
    engine's contention record and the CPU capability ATen reported in this process (the ISA axis).
    One `write` of one line: concurrent appends stay whole lines."""
    path = os.environ.get(CASE_LOG_ENV)
    if not path:
        return
    import time

    from torchperf_core.engine import stats

    name = ".".join(klass.__module__.split(".", 1)[1:] + [klass.__name__, method])  # asv's naming
    contention = getattr(timing, "contention", None)
    line = {
        "benchmark": name, "params": key, "env_name": os.environ.get("ASV_ENV_NAME"),
        "commit": os.environ.get("ASV_COMMIT"), "python": sys.executable, "threads": threads,
        "capability": capability,
        "median": stats.median(timing.samples), "time": time.time(),
        "contention": contention.to_json() if contention is not None else None,
    }  # fmt: skip
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


def _probe(case: Any, budget: float | None = None) -> None:
    """One untimed call, so a kernel this torch lacks ("not implemented for 'Half'") or a size that
    does not fit is a skip found in setup, not a failure in the middle of a timing. The engine's own
    translation decides which errors those are (anything else is re-raised: a real failure).

    The call is also timed: where the calls a measurement needs (warmup + minimum samples) would not
    fit in asv's `timeout` (`budget`), the case is skipped with the measured figure instead of
    failing after minutes (bf16 mm 2048² takes 59 s a call on a CPU without AVX-512: native bf16
    arithmetic is missing there)."""
    import time

    from torchperf_core.measure import translate_error

    try:
        start = time.perf_counter()
        case.callables()[0]()
        case.device.synchronize()
        elapsed = time.perf_counter() - start
    except (RuntimeError, MemoryError) as exc:
        raise NotImplementedError(str(translate_error(exc, case))) from None
    options = timing_options()
    needed = options.min_warmup_calls + options.min_samples
    if budget is not None and elapsed * needed > 0.8 * budget:
        raise NotImplementedError(
            f"one call took {elapsed:.1f} s on this machine: the {needed} calls a measurement needs would not "
            f"fit in the {budget:.0f} s benchmark timeout (`torchperf bench` measures it alone)")

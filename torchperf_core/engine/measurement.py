"""One call from "op, size, dtype, device" to a Measurement: catalog + engine + pinned settings.

`prepare()` builds the inputs (the part asv benchmarks do in `setup`), `Case.measure()` times them.
Threads and precision are pinned for the duration of the timing and recorded in the TaskSpec.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from torchperf_core import catalog

from torchperf_core.engine import precision
from torchperf_core.engine.device import Device, parse_device
from torchperf_core.engine.contention import SchedProbe
from torchperf_core.engine.timing import STOP_TIME, RawTiming, TimingOptions, time_callable
from torchperf_core.errors import TorchperfError, UnsupportedCase
from torchperf_core.engine.results import Measurement, TaskSpec

_OOM_MARKERS = ("out of memory", "can't allocate memory", "cannot allocate memory", "not enough memory",
                "invalid buffer size", "storage size calculation overflowed")
_UNSUPPORTED_MARKERS = ("not implemented for", "no kernel", "not supported", "does not support")


def _is_oom(exc: BaseException) -> bool:
    import torch

    oom_type = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, (RuntimeError, MemoryError)) and (
        isinstance(exc, MemoryError) or any(m in str(exc).lower() for m in _OOM_MARKERS)
    )


def _llc_bytes() -> int:
    """Size of the largest CPU cache (Linux sysfs); 32 MiB when unknown."""
    best = 0
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for entry in os.listdir(base):
            try:
                with open(os.path.join(base, entry, "size")) as f:
                    text = f.read().strip().upper()
            except OSError:
                continue
            mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
            digits = text.rstrip("KMG")
            if digits.isdigit():
                best = max(best, int(digits) * mult)
    except OSError:
        pass
    return best or (32 << 20)


def flush_buffer_bytes(device: Device) -> int:
    """Twice the last-level cache, so a flush evicts everything (triton uses a fixed 256 MB)."""
    if device.type == "cuda":
        import torch

        props = torch.cuda.get_device_properties(device.index or 0)
        l2 = int(getattr(props, "L2_cache_size", 0) or 0)
        return 2 * l2 if l2 else 256 << 20
    return 2 * _llc_bytes()


def make_flush(device: Device) -> Any:
    import torch

    buf = torch.empty(flush_buffer_bytes(device) // 4, dtype=torch.float32, device=device.torch())

    def flush() -> None:
        buf.add_(1.0)  # read + write every line: evicts the operands from cache

    return flush


@dataclass
class Case:
    """Inputs built and ready to time. Not frozen: it owns device tensors."""

    op: catalog.OpDef
    shape: dict[str, int]
    dtype: str
    device: Device
    layout: str
    threads: int
    settings: precision.PrecisionSettings
    input_sets: list[tuple[Any, ...]] = field(repr=False)

    def spec(self, options: TimingOptions) -> TaskSpec:
        return TaskSpec(
            op=self.op.name,
            shape=tuple(self.shape.items()),
            dtype=self.dtype,
            device=str(self.device),
            layout=self.layout,
            threads=self.threads,
            precision=self.settings.label if self.dtype in ("float32", "tf32") else "n/a",
            cold_l2=options.cold_l2,
            timing_mode=options.mode,
            backward=self.op.backward,
        )

    @property
    def flops(self) -> float:
        return self.op.flops(self.shape)

    @property
    def bytes_moved(self) -> float:
        return self.op.bytes_moved(self.shape, catalog.itemsize(self.dtype))

    def callables(self) -> list[Any]:
        call = self.op.call
        return [(lambda x=x: call(x)) for x in self.input_sets]

    def time(self, options: TimingOptions = TimingOptions(), *, clock: Any = None, watch: bool = True) -> RawTiming:
        """Run the engine with threads and precision pinned; kernel gaps become clear errors.

        `watch`: read the scheduler's counters around every sample (sync mode) and retake the
        disturbed ones (`engine.contention`)."""
        flush = make_flush(self.device) if options.cold_l2 else None
        event_factory = None
        if options.mode == "events":
            if self.device.type != "cuda":
                raise TorchperfError(f"timing mode 'events' needs a cuda device, not {self.device}; use 'sync'")
            import torch

            event_factory = lambda: torch.cuda.Event(enable_timing=True)  # noqa: E731
        with precision.pinned_threads(self.threads), precision.pinned_precision(self.settings):
            try:
                probe = SchedProbe(self.threads) if watch and options.mode == "sync" else None
                try:
                    return time_callable(self.callables(), device=self.device, clock=clock, options=options,
                                         flush=flush, event_factory=event_factory, probe=probe)
                finally:
                    if probe is not None:
                        probe.close()
            except RuntimeError as exc:
                raise translate_error(exc, self) from exc

    def measure(self, options: TimingOptions = TimingOptions(), *, clock: Any = None, watch: bool = True) -> Measurement:
        raw = self.time(options, clock=clock, watch=watch)
        notes: tuple[str, ...] = ()
        if raw.stopped_by == STOP_TIME:  # short of the samples asked (disturbed retakes: the contention line too)
            notes = (f"{len(raw.samples)} of the {options.samples} samples asked: the {options.max_time:g} s time cap "
                     f"ended the measurement (at least {options.min_samples} are kept)",)
        return Measurement(
            spec=self.spec(options),
            samples=raw.samples,
            number=raw.number,
            warmup_calls=raw.warmup_calls,
            flops=self.flops,
            bytes_moved=self.bytes_moved,
            overhead=raw.overhead,
            notes=notes,
            contention=raw.contention,
        )


def translate_error(exc: BaseException, case: "Case | None", label: str = "") -> TorchperfError:
    """An out-of-memory or missing-kernel error as a user-facing one (the allocator emptied);
    any other error is re-raised unchanged."""
    where = label or (f"{case.op.name} {case.dtype} shape {case.shape} on {case.device}" if case else "")
    if _is_oom(exc):
        if case is not None:
            case.device.empty_cache()
        return TorchperfError(f"size too large for {where}: cannot be allocated ({str(exc).splitlines()[0][:160]})")
    text = str(exc)
    if any(m in text.lower() for m in _UNSUPPORTED_MARKERS):
        return UnsupportedCase(f"{where}: not supported by this torch ({text.splitlines()[0][:160]})")
    raise exc


def prepare(
    op: str,
    size: int | str | Mapping[str, int],
    dtype: str,
    device: str | Device = "cpu",
    *,
    threads: int | None = None,
    layout: str = "contiguous",
    seed: int = 0,
    input_sets: int = 1,
) -> Case:
    """Validate everything, then build `input_sets` seeded random input sets on the device."""
    import torch

    dev = device if isinstance(device, Device) else parse_device(device)
    opdef, shape = catalog.check_case(op, size, dtype, dev.type, layout)
    if threads is None:
        threads = precision.default_threads()
    if threads < 1:
        raise TorchperfError(f"threads {threads} must be >= 1")
    if input_sets < 1:
        raise TorchperfError(f"input sets {input_sets} must be >= 1")
    gen = torch.Generator().manual_seed(seed)
    label = f"{opdef.name} {dtype} shape {shape} on {dev}"
    try:
        sets = [opdef.build(shape, catalog.torch_dtype(dtype), dev.torch(), layout, gen) for _ in range(input_sets)]
    except (RuntimeError, MemoryError) as exc:
        dev.empty_cache()
        raise translate_error(exc, None, label) from exc
    return Case(opdef, shape, dtype, dev, layout, threads, precision.for_dtype(dtype), sets)


def measure(
    op: str,
    size: int | str | Mapping[str, int],
    dtype: str = "float32",
    device: str | Device = "cpu",
    *,
    threads: int | None = None,
    layout: str = "contiguous",
    options: TimingOptions = TimingOptions(),
    seed: int = 0,
    input_sets: int = 1,
) -> Measurement:
    """Build inputs and time them: the whole engine in one call."""
    case = prepare(op, size, dtype, device, threads=threads, layout=layout, seed=seed, input_sets=input_sets)
    return case.measure(options)

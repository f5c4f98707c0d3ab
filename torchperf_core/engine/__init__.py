"""The engine: numbers that are right.

One clock (`SyncClock`: synchronize the device, then `perf_counter`), the timing loop (warmup,
batching, CUDA events, cold-L2 flush), pinned threads and precision, pure statistics on raw
samples, and `Measurement`, the frozen value holding them. `prepare`/`measure` join the catalog to
the engine. Nothing here prints, exits or touches a device at import time.
"""

from torchperf_core.engine import stats
from torchperf_core.engine.affinity import (
    apply_affinity,
    current_affinity,
    format_cpu_list,
    parse_cpu_list,
    parse_cpu_ranges,
)
from torchperf_core.engine.clock import SyncClock, Synchronizer
from torchperf_core.engine.contention import Contention, SchedProbe, block_fields
from torchperf_core.engine.device import Device, parse_device, unavailable_reason
from torchperf_core.engine.measurement import Case, flush_buffer_bytes, measure, prepare, translate_error
from torchperf_core.engine.precision import (
    PrecisionSettings,
    default_threads,
    for_dtype,
    pinned_precision,
    pinned_threads,
)
from torchperf_core.engine.results import RESULTS_FORMAT_VERSION, Measurement, TaskSpec
from torchperf_core.engine.instructions import (INSTRUCTIONS_FORMAT_VERSION, InstructionCase, InstructionCount,
                                                collect_instructions, default_calls, valgrind_unavailable_reason)
from torchperf_core.engine.isa import (ISA_LEVELS, IsaReading, IsaRun, available_levels, isa_unavailable_reason, parse_isa,
                                       read_isa, run_at_isa)
from torchperf_core.engine.isa import apply_isa, cpu_capability, cpu_flags, highest_capability, require_isa
from torchperf_core.engine.timing import (
    TIMING_MODES,
    RawTiming,
    TimingOptions,
    choose_number,
    measure_clock_overhead,
    time_callable,
)

__all__ = [
    "Contention", "SchedProbe", "block_fields",
    "RESULTS_FORMAT_VERSION", "apply_affinity", "current_affinity", "format_cpu_list", "parse_cpu_list",
    "parse_cpu_ranges", "unavailable_reason", "TIMING_MODES", "Device", "Measurement", "PrecisionSettings", "Case", "flush_buffer_bytes",
    "RawTiming", "SyncClock", "Synchronizer", "TaskSpec", "TimingOptions", "choose_number", "default_threads",
    "for_dtype", "measure", "measure_clock_overhead", "parse_device", "pinned_precision", "pinned_threads",
    "prepare", "stats", "time_callable", "translate_error",
    "INSTRUCTIONS_FORMAT_VERSION", "InstructionCase", "InstructionCount", "collect_instructions", "default_calls",
    "valgrind_unavailable_reason", "ISA_LEVELS", "IsaReading", "IsaRun", "available_levels", "parse_isa", "read_isa",
    "run_at_isa", "isa_unavailable_reason",
    "apply_isa", "cpu_capability", "cpu_flags", "highest_capability", "require_isa",
]  # fmt: skip

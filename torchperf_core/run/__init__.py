"""The main job, `torchperf run`: the asv suite across pinned PyTorch versions on this machine —
machine registration, one asv run per version, the sidecars, the summary, with the guards around
it (one run per checkout, readable results, resolvable commits, disk space) and the skip reasons
asv does not keep."""

from torchperf_core.run.asvglue import HARDWARE_KEYS, hardware_keys, register_machine, write_run_config
from torchperf_core.run.lock import project_lock
from torchperf_core.run.skips import RUNTIME, skip_reasons
from torchperf_core.run.suite import (
    DEVICES,
    TIERS,
    RunOutcome,
    RunPlan,
    SummaryRow,
    configured_torch_versions,
    parse_bench,
    parse_commits,
    parse_devices,
    parse_machine,
    parse_tier,
    parse_torch_version,
    parse_torch_versions,
    run_suite,
    summarize,
    write_sidecars,
)

__all__ = [
    "DEVICES", "HARDWARE_KEYS", "RUNTIME", "TIERS", "RunOutcome", "RunPlan", "SummaryRow",
    "configured_torch_versions", "hardware_keys", "parse_bench", "parse_commits", "parse_devices",
    "parse_machine", "parse_tier", "parse_torch_version", "parse_torch_versions", "project_lock",
    "register_machine", "run_suite", "skip_reasons", "summarize", "write_run_config", "write_sidecars",
]  # fmt: skip

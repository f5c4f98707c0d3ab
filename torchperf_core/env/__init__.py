"""The environment: why numbers differ.

The typed, versioned fingerprint (torch build, BLAS/MKL/oneDNN, threads, precision flags, CPU and
GPU, whitelisted environment variables), how it is collected, the backend kernel each op ran
(provenance), and the two as one report (`torchperf env --json --kernels`).
"""

from torchperf_core.env.collect import collect_fingerprint, cpu_model, describe_cpu, describe_load, parse_config_show, parse_cpuinfo, parse_parallel_info
from torchperf_core.env.fingerprint import (
    ABSENT,
    FINGERPRINT_FORMAT_VERSION,
    FieldDiff,
    Fingerprint,
    comparability_warnings,
    diff_fingerprints,
    is_key_field,
    scrub_environment,
)
from torchperf_core.env.kernels import KernelInfo, kernel_key, kernels_for, parse_verbose_output
from torchperf_core.env.report import ENV_REPORT_FORMAT_VERSION, EnvReport

__all__ = [
    "ABSENT", "ENV_REPORT_FORMAT_VERSION", "FINGERPRINT_FORMAT_VERSION", "EnvReport", "FieldDiff", "Fingerprint",
    "KernelInfo", "collect_fingerprint", "comparability_warnings", "cpu_model", "describe_cpu", "describe_load", "diff_fingerprints",
    "is_key_field", "kernel_key", "kernels_for", "parse_config_show", "parse_cpuinfo", "parse_parallel_info",
    "scrub_environment", "parse_verbose_output",
]  # fmt: skip

"""The store: what is on disk and how it is read.

The asv config (one reader, `read_config`), asv's results (read through asv's own API), the
sidecars beside them (`meta/<machine>/`), the machine name and `meta/` paths, and atomic JSON writes.
"""

from torchperf_core.store.asv_results import (
    ResultsFile,
    ResultsStore,
    Sample,
    TORCH_REQUIREMENT_KEYS,
    asv_reason,
    attribute_for,
    flops_for,
    read_results_file,
    resolve_revision,
    strip_torch_from_env_name,
    torch_version_of,
)
from torchperf_core.store.config import CONFIG_NAME, ISA_ENV, PROJECT_ROOT_KEY, THREADS_ENV, AsvConfig, read_config
from torchperf_core.store.torch_versions import (
    flavour_of,
    parse_torch_version,
    parse_torch_versions,
    release_of,
    torch_version_for,
    version_key,
)
from torchperf_core.store.meta import (
    blas_report_files,
    blas_report_path,
    default_machine_name,
    meta_path,
    write_json,
    write_text,
)
from torchperf_core.store.sidecars import (
    META_DIR,
    SIDECAR_FORMAT_VERSION,
    CaseCondition,
    Sidecar,
    SpeedRecord,
    case_conditions,
    latest_speed,
    merge_case_records,
    load_sidecar,
    sidecar_for,
    sidecar_path,
    write_sidecar,
)

__all__ = [
    "THREADS_ENV", "ISA_ENV", "blas_report_files", "blas_report_path",
    "CaseCondition", "case_conditions", "latest_speed", "merge_case_records",
    "META_DIR", "SIDECAR_FORMAT_VERSION", "ResultsFile", "ResultsStore", "read_results_file", "Sample", "Sidecar", "SpeedRecord", "asv_reason",
    "attribute_for", "default_machine_name", "flops_for", "load_sidecar", "meta_path", "resolve_revision", "sidecar_for",
    "sidecar_path", "strip_torch_from_env_name", "torch_version_of", "write_json", "write_sidecar", "write_text",
    "flavour_of", "parse_torch_version",
    "AsvConfig", "CONFIG_NAME", "PROJECT_ROOT_KEY", "TORCH_REQUIREMENT_KEYS", "read_config", "parse_torch_versions", "release_of", "torch_version_for", "version_key",
]  # fmt: skip

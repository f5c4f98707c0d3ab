"""Comparing: commit against commit, torch version against version, the version matrix, the "why"
(fingerprint and kernel differences), and asv's step-detected regressions. Pure logic: frozen
values out; rendering is `render`'s job."""

from torchperf_core.compare.comparisons import (
    COMPARE_FORMAT_VERSION,
    FAILED,
    FASTER,
    FIXED,
    INCOMPARABLE,
    MARKS,
    ONLY_AFTER,
    ONLY_BEFORE,
    REGRESSION_VERDICTS,
    SAME,
    SLOWER,
    Cell,
    Comparison,
    MatrixRow,
    Row,
    Side,
    Source,
    VersionMatrix,
    compare_commits,
    judge,
    pair_rows,
    parse_factor,
)
from torchperf_core.compare.versions import compare_version_matrix, compare_versions, version_speed_lines
from torchperf_core.compare.blas import BLAS_DTYPES, BLAS_FORMAT_VERSION, BlasReport, compare_blas, load_blas_report
from torchperf_core.verdict import BOTH_FAILED, SKIPPED
from torchperf_core.verdict import CONTENDED, NEXT_STEP, UNDECIDED_VERDICTS, UNKNOWN
from torchperf_core.compare.comparisons import param_key
from torchperf_core.compare.regressions import REGRESSIONS_FORMAT_VERSION, Jump, Regression, RegressionReport, load_regressions
from torchperf_core.compare.regressions import Step as RegressionStep, judge_regressions
from torchperf_core.compare.why import EnvDiff, KernelChange, env_diff, kernel_changes, kernel_keys_for
from torchperf_core.compare.why import (ISA_DISPATCH, ISA_KERNEL, ISA_OP, IsaFinding, IsaLevel, isa_findings,
                                       isa_level_of)
from torchperf_core.compare.machines import HARDWARE_KEYS as MACHINE_HARDWARE_KEYS
from torchperf_core.compare.machines import MachineComparison, MachineRow, MachineSide, compare_machines
from torchperf_core.compare.speed import SpeedShift, speed_shift, speed_warning, speed_warnings
from torchperf_core.compare.metrics import MORE_WORK, MORE_WORK_UNSEEN, READINGS, WALL_CLOCK_ONLY, CountBeside, counts_beside

__all__ = [
    "ISA_DISPATCH", "ISA_KERNEL", "ISA_OP", "IsaFinding", "IsaLevel", "isa_findings", "isa_level_of",
    "BOTH_FAILED", "SKIPPED", "COMPARE_FORMAT_VERSION", "FAILED", "FASTER", "FIXED", "INCOMPARABLE", "MARKS", "ONLY_AFTER", "ONLY_BEFORE",
    "REGRESSIONS_FORMAT_VERSION", "REGRESSION_VERDICTS", "SAME", "SLOWER", "Cell", "Comparison", "EnvDiff", "Jump",
    "KernelChange", "MatrixRow", "Regression", "RegressionReport", "Row", "Side", "Source", "VersionMatrix",
    "compare_commits", "compare_version_matrix", "compare_versions", "env_diff", "judge", "kernel_changes",
    "kernel_keys_for", "load_regressions", "pair_rows", "parse_factor", "RegressionStep", "judge_regressions",
    "CONTENDED", "NEXT_STEP", "UNDECIDED_VERDICTS", "UNKNOWN", "param_key",
    "BLAS_DTYPES", "BLAS_FORMAT_VERSION", "BlasReport", "compare_blas", "load_blas_report",
    "MACHINE_HARDWARE_KEYS", "MachineComparison", "MachineRow", "MachineSide", "compare_machines",
    "SpeedShift", "speed_shift", "speed_warning", "speed_warnings", "version_speed_lines",
    "MORE_WORK", "MORE_WORK_UNSEEN", "READINGS", "WALL_CLOCK_ONLY", "CountBeside", "counts_beside",
]  # fmt: skip

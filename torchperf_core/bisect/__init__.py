"""Bisect a slowdown across a package's releases (torch by default), with the reason at the culprit.

Prebuilt releases from the package index, one cached environment each; both endpoints measured
first; every step measured interleaved with its bounds and decided by the one significance rule;
state kept after every round so a search resumes. `worker.py` is the process inside each release's
environment and is run as a script, never imported from here.
"""

from torchperf_core.bisect.cases import CASE_KINDS, CaseSpec, parse_case
from torchperf_core.bisect.envs import (
    RUNTIME_MATRIX,
    EnvironmentCache,
    candidate_pythons,
    suite_environment,
    torch_requirements,
)
from torchperf_core.bisect.releases import (
    IndexOptions,
    check_order,
    index_versions,
    is_plain,
    parse_package,
    parse_release,
    releases_between,
)
from torchperf_core.bisect.report import (
    BISECT_REPORT_FORMAT_VERSION,
    build_report,
    load_report,
    plot_report,
    save_report,
)
from torchperf_core.bisect.search import CONTENDED, Bisector, Rounds, expected_steps
from torchperf_core.bisect.state import (BISECT_STATE_FORMAT_VERSION, CULPRIT, NOT_REPRODUCED, PAUSED, RANGE, UNDECIDED,
                                         BisectState, question_key)

__all__ = [
    "BISECT_REPORT_FORMAT_VERSION", "BISECT_STATE_FORMAT_VERSION", "CASE_KINDS", "CULPRIT", "NOT_REPRODUCED",
    "CONTENDED", "PAUSED", "RANGE", "RUNTIME_MATRIX", "UNDECIDED",
    "BisectState", "Bisector", "CaseSpec", "EnvironmentCache", "IndexOptions", "Rounds",
    "build_report", "candidate_pythons", "check_order", "expected_steps", "index_versions", "is_plain", "load_report",
    "parse_case", "parse_package", "parse_release", "plot_report", "question_key", "releases_between", "save_report",
    "suite_environment", "torch_requirements",
]  # fmt: skip

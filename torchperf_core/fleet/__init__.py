"""The fleet: one suite on many machines over SSH, and merging results folders (`torchperf fleet`, `merge`).

`hosts` reads the hosts file; `remote` is one host over SSH (asyncssh: strict host keys, public
keys only, one work folder per host); `fanout` runs them all in parallel and merges what each
brings back with `merge` (the code of `torchperf merge`); `progress` shows it.
"""

from torchperf_core.fleet.fanout import FleetOutcome, FleetPlan, HostOutcome, already_merged, run_fleet
from torchperf_core.fleet.hosts import Host, check_unique_machines, parse_hosts, read_hosts
from torchperf_core.fleet.merge import IDENTITY_KEYS, MergeReport, identity_conflicts, locate, merge_results
from torchperf_core.fleet.progress import Progress
from torchperf_core.fleet.remote import PIP_VARIABLES, SshOptions, forwarded_environment, work_folder

__all__ = [
    "FleetOutcome", "FleetPlan", "Host", "HostOutcome", "IDENTITY_KEYS", "MergeReport", "PIP_VARIABLES",
    "Progress", "SshOptions", "already_merged", "check_unique_machines", "forwarded_environment",
    "identity_conflicts", "locate", "merge_results", "parse_hosts", "read_hosts", "run_fleet", "work_folder",
]  # fmt: skip

"""`torchperf fleet run --hosts FILE`: the same `torchperf run` on many machines over SSH.

One line of the hosts file per host, `[user@]host[:port] [machine-name]`. Connection settings come
from ~/.ssh/config (or --ssh-config); host keys are checked strictly against known_hosts (or
--known-hosts). Each host's results are merged here as it finishes; the site is published once at
the end (unless --no-publish). Exit status: 0 when every host brought back all its results, 1 when
any host failed or some torch version failed on it (each such host has one line), 2 on bad input
(including two hosts under one machine name: nothing runs then), 3 when another run holds this
checkout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torchperf_core.fleet import FleetPlan

NAME = "fleet"
HELP = "run the suite on many machines over SSH (fleet run --hosts FILE) and merge their results here"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="fleet_command", metavar="ACTION", required=True, parser_class=type(parser))
    p = sub.add_parser("run", help="run `torchperf run` on every host of a hosts file, in parallel",
                       description=HELP)
    p.add_argument("--hosts", required=True, metavar="FILE",
                   help="hosts file: one `[user@]host[:port] [machine-name]` per line, # comments")
    p.add_argument("--torch", nargs="+", metavar="VERSION", help="PyTorch releases (default: those in asv.conf.json)")
    p.add_argument("--tier", default="default", help="smoke, default or full (as `torchperf run`)")
    p.add_argument("--bench", metavar="REGEX", help="only benchmarks whose name matches REGEX")
    p.add_argument("--device", nargs="+", metavar="DEVICE", help="cpu and/or cuda (default: each host decides)")
    p.add_argument("--quick", action="store_true", help="pass --quick to asv on every host")
    p.add_argument("--no-machine-checks", action="store_true", help="skip the doctor, noise probes and calibration")
    p.add_argument("--resume", action="store_true",
                   help="run only the hosts whose results for this commit are not merged here yet")
    p.add_argument("--no-publish", action="store_true", help="do not publish the site afterwards")
    p.add_argument("--ssh-config", metavar="FILE", help="OpenSSH client config to read (default ~/.ssh/config)")
    p.add_argument("--known-hosts", metavar="FILE",
                   help="known_hosts file (default: the config's UserKnownHostsFile, else ~/.ssh/known_hosts)")
    p.add_argument("--connect-timeout", default="30", metavar="SECONDS", help="per host (default 30)")


def _file(text: str | None, what: str) -> Path | None:
    from torchperf_core.errors import TorchperfError

    if text is None:
        return None
    path = Path(text).expanduser()
    if not path.is_file():
        raise TorchperfError(f"{what} {text!r} is not an existing file")
    return path


def plan_from_args(args: argparse.Namespace, root: Path) -> "FleetPlan":
    """The hosts file and `torchperf run`'s options, checked by their one parser each before any
    connection is opened."""
    from torchperf_core import run as suite
    from torchperf_core.commands._common import positive_int
    from torchperf_core.fleet import FleetPlan, SshOptions, read_hosts
    from torchperf_core.store import CONFIG_NAME, read_config

    hosts = read_hosts(args.hosts)
    if args.torch:
        versions = suite.parse_torch_versions(args.torch)
    else:
        versions = suite.configured_torch_versions(read_config(root / CONFIG_NAME))
    ssh = SshOptions(config=_file(args.ssh_config, "--ssh-config"), known_hosts=_file(args.known_hosts, "--known-hosts"),
                     connect_timeout=float(positive_int(args.connect_timeout, "--connect-timeout") or 30))
    return FleetPlan(tuple(hosts), versions, suite.parse_tier(args.tier), suite.parse_bench(args.bench),
                     suite.parse_devices(args.device), args.quick, not args.no_machine_checks, args.resume, ssh)


def run(args: argparse.Namespace) -> int:
    from torchperf_core.fleet import run_fleet
    from torchperf_core.store import CONFIG_NAME

    root = Path.cwd()
    plan = plan_from_args(args, root)
    outcome = run_fleet(plan, root, sys.stderr, live=sys.stderr.isatty())
    merged = [h for h in outcome.hosts if h.merged is not None]
    for h in outcome.hosts:
        if h.status == "skipped":
            print(f"fleet: {h.host.label} ({h.machine}): {h.message}", file=sys.stderr)
        elif h.merged is not None:
            print(f"fleet: {h.host.label} ({h.machine}): {h.merged.lines()[0]}", file=sys.stderr)
    for h in outcome.failed:
        print(f"fleet: FAILED {h.message}", file=sys.stderr)
    if merged and not args.no_publish:
        from torchperf_core.errors import TorchperfError
        from torchperf_core.site import publish_site

        try:
            result = publish_site(root / CONFIG_NAME)
            print(f"fleet: site published in {result.html_dir}", file=sys.stderr)
        except TorchperfError as exc:
            print(f"fleet: results merged, but publishing failed: {exc}", file=sys.stderr)
            return 1
    if outcome.failed:
        print(f"fleet: {len(outcome.failed)} of {len(outcome.hosts)} host(s) failed", file=sys.stderr)
    return outcome.exit_code

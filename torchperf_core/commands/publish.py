"""`torchperf publish`: asv's static site plus the across-versions, efficiency, environment and
regressions pages, in the `html_dir` of asv.conf.json."""

from __future__ import annotations

import argparse
import sys

from torchperf_core.machine import DEFAULT_FACTOR
from torchperf_core.store import CONFIG_NAME

NAME = "publish"
HELP = "build the static site: asv publish plus torchperf's across-versions, efficiency and environment pages"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=CONFIG_NAME, help="asv config file (default: %(default)s)")
    parser.add_argument("--commit", metavar="REV", help="also show this commit (hash prefix, branch or tag), besides the latest")
    parser.add_argument("--factor", default=str(DEFAULT_FACTOR),
                        help="ratio a significant change must exceed to be marked (default: %(default)s)")
    parser.add_argument("--meta", metavar="DIR", help="torchperf sidecar folder (default: the project's meta/, "
                        "beside asv.conf.json, also when --config is a copy derived under .asv/)")
    parser.add_argument("--no-asv", action="store_true", help="do not run `asv publish`; rebuild only torchperf's pages")


def run(args: argparse.Namespace) -> int:
    from torchperf_core.site import publish_site

    result = publish_site(args.config, commit=args.commit, factor=args.factor, run_asv=not args.no_asv,
                          meta_dir=args.meta)
    for problem in result.problems:
        print(f"warning: {problem}", file=sys.stderr)
    for url in result.unbundled_urls:
        print(f"note: asv's index.html still loads {url} from the network (no bundled copy)")
    print(f"published {len(result.pages)} pages and {len(result.figures)} figures")
    print(f"open {result.html_dir / 'index.html'} or {result.pages[0]}")
    return 0

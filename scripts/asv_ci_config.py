#!/usr/bin/env python3
"""Prepare asv for one CI job through torchperf's library, as `torchperf run` does it.

1. The derived config (`torchperf_core.run.write_run_config`): the project's asv.conf.json, checked
   by the one config reader (a misspelt key stops the job), every path absolute, the project root
   recorded so that `torchperf publish/compare --config` on the copy find the project's meta/, and
   with --torch the matrix narrowed (a pull-request gate should not build every pinned PyTorch:
   2.12.0 alone is a multi-GB download).
2. With --machine, the machine registered with its hardware keys (`register_machine`: CPU model,
   GPU, driver, CUDA), so CI results carry the CPU model and `torchperf compare` can refuse results
   from a different machine. A plain `asv machine --yes` records none of them.

Usage: asv_ci_config.py --config asv.conf.json --out .asv/ci.conf.json [--torch 2.13.0 2.14.1] [--machine NAME]
Prints the path of the written config; a user error is one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="asv.conf.json")
    parser.add_argument("--out", default=".asv/ci.conf.json")
    parser.add_argument("--torch", nargs="*", default=[], help="torch versions to keep (default: the config's matrix)")
    parser.add_argument("--machine", help="also register this machine name, with its hardware keys")
    args = parser.parse_args(argv)

    from torchperf_core.errors import TorchperfError
    from torchperf_core.run import parse_machine, register_machine, write_run_config
    from torchperf_core.store import parse_torch_versions

    try:
        words = " ".join(args.torch).split()  # one shell word "2.13.0 2.14.1" or several
        versions = parse_torch_versions(words) if words else None
        config = Path(args.config)
        out = write_run_config(config.resolve().parent, versions, path=Path(args.out), config=config)
        machine = parse_machine(args.machine)
        if machine:
            register_machine(machine, config=out)
    except TorchperfError as exc:
        print(f"asv_ci_config: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(os.fspath(out.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

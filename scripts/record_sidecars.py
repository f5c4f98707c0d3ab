#!/usr/bin/env python3
"""Write the fingerprint sidecar of every results file that lacks one, after a plain asv command.

`torchperf run` records a sidecar (meta/<machine>/<results file stem>.json) for each results file it
produces; `asv continuous` (the interleaved PR-gate run) does not. This takes each environment's
fingerprint with that environment's own Python, exactly as `torchperf run` does
(`torchperf_core.suite.write_sidecars`), so `torchperf compare` can explain the differences.

Usage: record_sidecars.py --config CONF --machine NAME
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="asv.conf.json")
    parser.add_argument("--machine", required=True)
    parser.add_argument("--meta-dir", help="default: the project's meta/ (also for a config derived under .asv/)")
    args = parser.parse_args(argv)

    from torchperf_core.errors import TorchperfError
    from torchperf_core.run import suite
    from torchperf_core.store import read_config, sidecar_path

    try:
        conf = read_config(args.config)
    except TorchperfError as exc:
        print(f"record_sidecars: error: {exc}", file=sys.stderr)
        return exc.exit_code
    config, results_dir = conf.path, conf.results_dir
    meta = Path(args.meta_dir) if args.meta_dir else conf.meta_dir
    files = [
        p
        for p in sorted((results_dir / args.machine).glob("*.json"))
        if p.name != "machine.json" and not sidecar_path(p, meta).exists()
    ]
    written = suite.write_sidecars(files, suite.environment_pythons(config), meta_dir=meta) if files else []
    print(f"record_sidecars: {len(written)} sidecar(s) written to {meta}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
    parser.add_argument("--meta-dir", help="default: meta/ next to the results directory")
    args = parser.parse_args(argv)

    from asv import util

    from torchperf_core.run import suite
    from torchperf_core.store.sidecars import sidecar_path

    config = Path(args.config).resolve()
    conf = util.load_json(str(config), js_comments=True)
    results_dir = (config.parent / conf.get("results_dir", "results")).resolve()
    meta = Path(args.meta_dir) if args.meta_dir else results_dir.parent / "meta"
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

#!/usr/bin/env python3
"""Write a copy of asv.conf.json for one CI job: absolute paths, and the torch matrix narrowed.

asv has no command-line switch to pick a subset of a matrix entry, and a pull-request gate should
not build every pinned PyTorch (2.12.0 alone is a multi-GB download). The copy lives outside the
work tree's tracked files (under .asv/ by default), so its relative paths are made absolute.

Usage: asv_ci_config.py --config asv.conf.json --out .asv/ci.conf.json [--torch 2.13.0 2.14.1]
Prints the path of the written config.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

PATH_KEYS = ("repo", "results_dir", "html_dir", "env_dir", "benchmark_dir")
TORCH_KEYS = ("torch", "pip+torch", "pytorch", "conda+pytorch")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="asv.conf.json")
    parser.add_argument("--out", default=".asv/ci.conf.json")
    parser.add_argument("--torch", nargs="*", default=[], help="torch versions to keep (default: all)")
    args = parser.parse_args(argv)

    from asv import util

    src = Path(args.config).resolve()
    conf = util.load_json(str(src), js_comments=True)
    base = src.parent
    defaults = {"repo": ".", "results_dir": "results", "html_dir": "html", "env_dir": "env", "benchmark_dir": "benchmarks"}
    for key in PATH_KEYS:
        value = conf.get(key, defaults[key])
        if "://" in str(value):
            continue  # a remote repository URL
        conf[key] = str((base / value).resolve())

    versions = [v for v in " ".join(args.torch).split() if v]
    if versions:
        matrix = conf.get("matrix", {})
        tables = [matrix.get("req", {})] if "req" in matrix else [matrix]
        found = False
        for table in tables:
            for key in TORCH_KEYS:
                if key in table:
                    table[key] = versions
                    found = True
        if not found:
            print(f"asv_ci_config: no torch entry in the matrix of {src}; --torch ignored", file=sys.stderr)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(conf, indent=2) + "\n")
    print(os.fspath(out.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

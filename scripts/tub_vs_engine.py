"""torch.utils.benchmark and torchperf's engine on the same callable, in the same process, across two
torch releases (a benchmark, not a test: run it on a quiet machine).

Why: `gate_figures.py --figures versions` found torch.utils.benchmark and the gate disagreeing on two
cross-version cases. This separates the two possible causes: if the two timers disagree *inside one
process*, the timers differ; if they agree there but a round's ratio moves from one process (or second)
to the next, the machine's level drifts and a few rounds of either timer cannot resolve the change.

Each round starts one fresh process per release in the suite's asv environments (`torchperf run
--torch A B` built them), in ABBA order; in it, per case, `blocked_autorange(min_run_time=1)` and then
the engine's `Case.time` (the suite's default timing options), both on the case's one input set.

    python scripts/tub_vs_engine.py --torch 2.13.0 2.14.1 --rounds 6
    python scripts/tub_vs_engine.py --cases "layer_norm 1024" "sdpa 256" "mm 256"
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_PROBE = r"""
import json, statistics, sys
import torch
from torch.utils.benchmark import Timer
from torchperf_core.engine import TimingOptions, block_fields
from torchperf_core.measure import prepare
out = {}
for spec in json.loads(sys.argv[1]):
    op, size, dtype = spec
    case = prepare(op, size, dtype, "cpu", threads=torch.get_num_threads())
    fn = case.callables()[0]
    tub = Timer("fn()", globals={"fn": fn}, num_threads=torch.get_num_threads()).blocked_autorange(min_run_time=1.0)
    raw = case.time(TimingOptions(warmup_time=0.1, samples=15, min_samples=8, max_time=1.0))
    out[" ".join(map(str, spec))] = {"tub": tub.median, "engine": statistics.median(raw.samples),
                                     "contended": bool(block_fields(raw.contention)["contended"])}
print(json.dumps({"torch": torch.__version__.split("+")[0], "threads": torch.get_num_threads(), "cases": out}))
"""


def _probe(python: str, cases: list[list[object]]) -> dict:
    proc = subprocess.run([python, "-c", _PROBE, json.dumps(cases)], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--torch", nargs=2, default=["2.13.0", "2.14.1"], metavar=("A", "B"))
    parser.add_argument("--cases", nargs="+", default=["layer_norm 1024", "sdpa 256"],
                        help="'op size [dtype]' (default dtype float32)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--config", default=str(ROOT / "asv.conf.json"))
    args = parser.parse_args(argv)

    from torchperf_core.errors import TorchperfError
    from torchperf_core.gate import torch_pythons
    from torchperf_core.store import read_config

    try:
        if args.rounds < 1:
            raise TorchperfError(f"--rounds {args.rounds} is not a positive integer")
        cases = []
        for text in args.cases:
            parts = text.split()
            if len(parts) not in (2, 3) or not parts[1].isdigit():
                raise TorchperfError(f"case {text!r} is not 'op size [dtype]' (e.g. 'layer_norm 1024')")
            cases.append([parts[0], int(parts[1]), parts[2] if len(parts) == 3 else "float32"])
        pythons = torch_pythons(read_config(args.config).env_dir)
        missing = [v for v in args.torch if v not in pythons]
        if missing:
            raise TorchperfError(f"no asv environment with torch {', '.join(missing)}; built: "
                                 f"{', '.join(sorted(pythons)) or 'none'} (run `torchperf run --torch ...` first)")
    except TorchperfError as exc:
        print(f"tub_vs_engine: error: {exc}", file=sys.stderr)
        return 2

    a, b = args.torch
    rounds = []
    for r in range(args.rounds):
        order = (a, b) if r % 2 == 0 else (b, a)
        got = {v: _probe(pythons[v], cases) for v in order}
        rounds.append(got)
    print(f"torch {a} -> {b}, {rounds[0][a]['threads']} thread(s), {args.rounds} rounds (ABBA), one process per "
          "release and round; ratio = B/A")
    for key in (" ".join(map(str, c)) for c in cases):
        tub, eng = [], []
        for r, got in enumerate(rounds):
            x, y = got[a]["cases"][key], got[b]["cases"][key]
            tub.append(y["tub"] / x["tub"])
            eng.append(y["engine"] / x["engine"])
            flag = " contended" if x["contended"] or y["contended"] else ""
            print(f"  {key:18s} round {r}: tub {x['tub'] * 1e6:9.1f} -> {y['tub'] * 1e6:9.1f} µs x{tub[-1]:.3f} | "
                  f"engine {x['engine'] * 1e6:9.1f} -> {y['engine'] * 1e6:9.1f} µs x{eng[-1]:.3f}{flag}")
        print(f"  {key:18s} median ratio: tub x{statistics.median(tub):.3f} (x{min(tub):.3f}-x{max(tub):.3f}), "
              f"engine x{statistics.median(eng):.3f} (x{min(eng):.3f}-x{max(eng):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

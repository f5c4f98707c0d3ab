"""Does interleaving asv rounds across PyTorch versions make the version ratio steadier here?

A benchmark, not a test. asv runs each benchmark in `rounds` separate processes; with
`--interleave-rounds` (asv's default for built environments) round k runs in every environment before
round k-1 starts, so slow drift of the machine's speed hits both torch versions alike. With
`--no-interleave-rounds` all rounds of one environment run before the next environment's.

For each mode this script repeats a small asv run over two torch versions `--reps` times (modes
alternate, so drift over the study hits both), and reports, per case, the spread of the version
ratio (new/old median) across the repetitions: max/min - 1. A steadier ratio is the point of
interleaving; the table says how much it buys on this machine.

    .venv/bin/python scripts/interleave_study.py --versions 2.13.0 2.14.1 --bench 'MM' --reps 3

Environments are reused from `.asv/env` of the project (build them first with `torchperf run`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts._snapshot import snapshot_checkout  # noqa: E402
from torchperf_core.run.asvglue import write_run_config  # noqa: E402
from torchperf_core.render.text import table  # noqa: E402
from torchperf_core.store import read_results_file  # noqa: E402
from torchperf_core.run.suite import parse_torch_versions  # noqa: E402


def one_run(repo: Path, config: Path, bench: str, rounds: int, interleave: bool, home: Path) -> dict[str, dict[str, float]]:
    """{case: {env_name: median}} of one asv run."""
    results = repo / "results"
    shutil.rmtree(results, ignore_errors=True)
    cmd = [sys.executable, "-m", "asv", "--config", str(config), "run", "--machine", "study", "--record-samples",
           "HEAD^!", "--bench", bench, "-a", f"rounds={rounds}",
           "--interleave-rounds" if interleave else "--no-interleave-rounds"]
    env = dict(os.environ, HOME=str(home), TORCHPERF_TIER="smoke")
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"asv failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    out: dict[str, dict[str, float]] = {}
    for path in (results / "study").glob("*.json"):
        if path.name == "machine.json":
            continue
        env_name = path.stem.split("-", 1)[1]
        for (name, params), sample in read_results_file(path).entries.items():
            if not sample.is_missing:
                case = name.split('.', 1)[-1] + "(" + ", ".join(v for _, v in params) + ")"
                out.setdefault(case, {})[env_name] = sample.value
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--versions", nargs=2, default=["2.13.0", "2.14.1"])
    ap.add_argument("--bench", default="MM")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--env-dir", default=str(ROOT / ".asv" / "env"))
    args = ap.parse_args()
    versions = parse_torch_versions(args.versions)
    with tempfile.TemporaryDirectory() as tmp:
        repo, home = Path(tmp) / "project", Path(tmp) / "home"
        repo.mkdir()
        home.mkdir()
        snapshot_checkout(repo, "study")
        (repo / ".asv").mkdir()
        Path(args.env_dir).mkdir(parents=True, exist_ok=True)
        (repo / ".asv" / "env").symlink_to(Path(args.env_dir).resolve(), target_is_directory=True)
        subprocess.run([sys.executable, "-m", "asv", "machine", "--yes", "--machine", "study"],
                       cwd=repo, env=dict(os.environ, HOME=str(home)), check=True, capture_output=True)
        config = write_run_config(repo, versions)
        ratios: dict[str, dict[str, list[float]]] = {"interleaved": {}, "sequential": {}}
        for rep in range(args.reps):
            for mode in (("interleaved", "sequential") if rep % 2 == 0 else ("sequential", "interleaved")):
                medians = one_run(repo, config, args.bench, args.rounds, mode == "interleaved", home)
                for case, by_env in medians.items():
                    old = next((m for e, m in by_env.items() if f"torch{versions[0]}" in e), None)
                    new = next((m for e, m in by_env.items() if f"torch{versions[1]}" in e), None)
                    if old and new:
                        ratios[mode].setdefault(case, []).append(new / old)
                print(f"rep {rep + 1}/{args.reps} {mode}: {len(medians)} cases", file=sys.stderr, flush=True)
    rows, spreads = [], {"interleaved": [], "sequential": []}
    for case in sorted(ratios["interleaved"]):
        cells = [case]
        for mode in ("interleaved", "sequential"):
            rs = ratios[mode].get(case, [])
            spread = max(rs) / min(rs) - 1 if len(rs) > 1 else float("nan")
            spreads[mode].append(spread)
            cells.append(" ".join(f"{r:.3f}" for r in rs) + f"  (spread {spread:.1%})")
        rows.append(cells)
    print(f"torch {versions[1]} / {versions[0]} median ratio per repetition, {args.rounds} rounds, {args.reps} reps")
    print(table(["case", "interleaved rounds", "sequential rounds"], rows, "lll"))
    for mode, values in spreads.items():
        print(f"median spread, {mode}: {statistics.median(values):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

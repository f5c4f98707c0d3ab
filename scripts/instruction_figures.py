#!/usr/bin/env python3
"""The figures of issue 12, measured on this machine (a benchmark script, not a test).

Prints:
1. Instruction counts of the curated set (benchmarks/bench_instructions.py): per case the count, the
   spread over repeats inside one Callgrind child, and the A/A spread between separate collections
   (three children by default, `--collections`); the ISA each count describes (under valgrind).
2. Time to collect the curated set (one Callgrind child, wall clock).
3. Detection of an injected +2% of work: add on 262,144 floats against 267,387 (+2.0%), ten
   pairs counted in one child, each judged by the count rule (`judge_counts`, default 1%
   tolerance); and the same ten base counts judged against each other (false flags, A/A).
4. BLAS backends: torch's own fp32 mm path ÷ numpy (OpenBLAS) for 256-2048, same thread count,
   interleaved rounds, with both libraries' versions and the kernel each ran.

Counts are deterministic, so (1) and (3) hold on a busy machine; (2) and (4) are wall-clock figures
and say the load they were taken under. `--quick` runs a reduced set (3 curated cases, 3 pairs,
BLAS 256 and 512) in a few minutes.

    python scripts/instruction_figures.py            # full: ~15-30 min on 2 cores
    python scripts/instruction_figures.py --quick
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _machine() -> str:
    from torchperf_core.env import describe_cpu, describe_load

    return f"{platform.node()}: {describe_cpu()}; {describe_load()}"


def curated_cases(quick: bool) -> list[tuple[str, Any]]:
    import benchmarks.bench_instructions as suite
    from torchperf_core.engine import InstructionCase

    chosen = suite.CURATED[:1] + suite.CURATED[5:6] + suite.CURATED[7:8] if quick else suite.CURATED
    return [(label, InstructionCase(op, size, dtype, calls=calls)) for label, op, size, dtype, calls in chosen]


def counts_section(quick: bool, n_collections: int) -> None:
    from torchperf_core.engine import collect_instructions
    from torchperf_core.render import format_count, table

    cases = curated_cases(quick)
    collections, seconds = [], []
    for _ in range(n_collections):
        t0 = time.perf_counter()
        collections.append(collect_instructions([c for _, c in cases], repeats=3))
        seconds.append(time.perf_counter() - t0)
    rows = []
    for i, (label, _) in enumerate(cases):
        first = collections[0][i]
        values = [col[i].value for col in collections]
        between = (max(values) - min(values)) / min(values) if len(values) > 1 else None
        rows.append([label, format_count(first.value), f"{max(col[i].spread for col in collections):.3%}",
                     f"{between:.3%}" if between is not None else "—", first.isa_label()])
    print(f"\n1. Instruction counts per call ({collections[0][0].valgrind}, 1 thread, 3 repeats per collection, "
          f"{len(collections)} collection(s))")
    print(table(["case", "instructions/call", "spread in a child", "A/A between children", "what ran"], rows,
                "lrrrl"))
    print(f"\n2. Time to collect the {'reduced' if quick else 'curated'} set ({len(cases)} cases, one Callgrind "
          f"child each time): {', '.join(f'{s:.0f} s' for s in seconds)}")


def detection_section(quick: bool) -> None:
    from torchperf_core.engine import InstructionCase, collect_instructions
    from torchperf_core.verdict import DEFAULT_COUNT_TOLERANCE, SAME, SLOWER, judge_counts

    pairs = 3 if quick else 10
    # +2.0% elements of an elementwise add: work that scales exactly (a larger K of a GEMM changes its
    # tail handling too: mm 256² with K 256 -> 261, +1.95% FLOPs, counted +3.6%).
    base = InstructionCase("add", "M=1,N=262144", calls=5)
    plus = InstructionCase("add", "M=1,N=267387", calls=5)
    t0 = time.perf_counter()
    counts = collect_instructions([c for _ in range(pairs) for c in (base, plus)], repeats=1)
    bases, pluses = counts[0::2], counts[1::2]
    detected = sum(judge_counts(b, p, DEFAULT_COUNT_TOLERANCE)[0] == SLOWER for b, p in zip(bases, pluses))
    same = sum(judge_counts(b, c, DEFAULT_COUNT_TOLERANCE)[0] == SAME for b, c in zip(bases, bases[1:]))
    ratios = [p.value / b.value for b, p in zip(bases, pluses)]
    print(f"\n3. Injected +2.0% work (add, 262,144 -> 267,387 floats), tolerance {DEFAULT_COUNT_TOLERANCE}: detected "
          f"{detected}/{pairs}; count ratio {min(ratios):.4f}..{max(ratios):.4f}; A/A pairs judged same "
          f"{same}/{pairs - 1} (collected in {time.perf_counter() - t0:.0f} s)")


def blas_section(quick: bool, threads: int) -> None:
    from torchperf_core.compare import compare_blas
    from torchperf_core.render import render_blas

    sizes = [256, 512] if quick else [256, 512, 1024, 2048]
    report = compare_blas(sizes, ["float32"], threads=threads, rounds=2 if quick else 3, samples=5)
    print("\n4. " + render_blas(report))
    print("   torch÷numpy: " + ", ".join(f"{r.size}² {r.ratio():.2f}" for r in report.rows()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a reduced set, a few minutes")
    parser.add_argument("--threads", type=int, default=1, help="threads for the BLAS section (default 1)")
    parser.add_argument("--label", default="", help="a note printed with the figures, e.g. 'measured while other jobs ran'")
    parser.add_argument("--skip-counts", action="store_true", help="only the BLAS section")
    parser.add_argument("--collections", type=int, default=3,
                        help="separate Callgrind children for the A/A spread (default 3; ~3-5 min each)")
    args = parser.parse_args(argv)
    if args.collections < 1:
        parser.error(f"--collections {args.collections} must be >= 1")

    import torch

    from torchperf_core.engine import valgrind_unavailable_reason

    print(f"issue 12 figures{' (--quick)' if args.quick else ''}{': ' + args.label if args.label else ''}")
    print(f"machine {_machine()}")
    print(f"torch {torch.__version__}, ATen capability here {torch.backends.cpu.get_cpu_capability()}")
    if not args.skip_counts:
        reason = valgrind_unavailable_reason()
        if reason:
            print(f"instruction counts skipped: {reason}")
        else:
            counts_section(args.quick, args.collections)
            detection_section(args.quick)
    blas_section(args.quick, args.threads)
    print(f"\nmachine after: {_machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""How often a paired test rejects when nothing changed (or detects a change): the gate's tests.

    python scripts/paired_null_rates.py                  # 20,000 draws a row (~10 min on 2 cores)
    python scripts/paired_null_rates.py --draws 2000     # a quick look
    python scripts/paired_null_rates.py --ratio 1.05 --alphas 4.9e-5 --rounds 18 30   # detection of +5%

A simulation, not a timing: each draw is `rounds` per-round log ratios under "no change", and each
test rejects when |t| exceeds its two-sided critical value at `alpha`. A valid test rejects about
`alpha` of the draws; more is a false-alarm excess, much less is lost power. With --ratio the
draws are centred on log(ratio) instead, and the rates are detections. The tests:

  t      the paired t-test on the log ratios alone at alpha: verdict.judge_paired's p (n - 1 df)
  yuen   Yuen's 20%-trimmed paired t-test (trimmed mean, winsorized variance, h - 1 df with h the
         rounds left after trimming): a robust candidate, not used (it rejects too often, above)
  rank   Wilcoxon's signed-rank test alone at alpha, exact (verdict.signed_rank_p)
  gate   the gate's rule (verdict.judge_paired): the t-test or the signed-rank test, alpha shared
         where the signed-rank test could reject (verdict.alpha_shares); a rejection is a change
         in either direction (factor 1, so no estimate is inside it)

and three kinds of spread between rounds, the last two what a shared host does to a few rounds:

  normal     N(0, 5%)
  outliers   N(0, 3%), and 15% of the rounds from N(0, 30%)
  one-sided  N(0, 3%), and 15% of the rounds with one side (either, at random) slowed by 10-80%
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from torchperf_core.verdict import FASTER, GATE_FACTOR, SLOWER, judge_paired, signed_rank_p  # noqa: E402
from torchperf_core.verdict.tdist import t_ppf  # noqa: E402

TRIM = 0.2
SPREADS: dict[str, Callable[[random.Random], float]] = {
    "normal": lambda r: r.gauss(0.0, 0.05),
    "outliers": lambda r: r.gauss(0.0, 0.03) if r.random() >= 0.15 else r.gauss(0.0, 0.30),
    "one-sided": lambda r: r.gauss(0.0, 0.03) + (r.choice((1, -1)) * math.log1p(r.uniform(0.1, 0.8))
                                                  if r.random() < 0.15 else 0.0),
}


def t_p(d: list[float]) -> float:
    """The gate's own two-sided p on these per-round log ratios (verdict.judge_paired)."""
    p = judge_paired([1.0] * len(d), [math.exp(x) for x in d], GATE_FACTOR, 0.05).p
    return 1.0 if p is None else p


def yuen_stat(d: list[float], trim: float = TRIM) -> tuple[float, int]:
    d = sorted(d)
    n = len(d)
    g = int(trim * n)
    h = n - 2 * g
    core = d[g:n - g]
    trimmed_mean = sum(core) / h
    wins = [d[g]] * g + core + [d[n - g - 1]] * g
    wmean = sum(wins) / n
    wvar = sum((x - wmean) ** 2 for x in wins) / (n - 1)
    se = math.sqrt((n - 1) * wvar / (h * (h - 1)))
    return (trimmed_mean / se if se else 0.0), h - 1


def rates(draws: int, rounds: int, alpha: float, spread: str, seed: int, ratio: float = 1.0) -> dict[str, float]:
    rng = random.Random(f"{seed}-{rounds}-{alpha}-{spread}" + (f"-{ratio}" if ratio != 1.0 else ""))
    shift = math.log(ratio)
    crit: dict[int, float] = {}
    hits = {"t": 0, "yuen": 0, "rank": 0, "gate": 0}
    for _ in range(draws):
        d = [shift + SPREADS[spread](rng) for _ in range(rounds)]
        # one judgement gives both the t-test's p (it does not depend on alpha) and the gate's verdict
        j = judge_paired([1.0] * rounds, [math.exp(x) for x in d], 1.0, alpha)
        hits["t"] += (1.0 if j.p is None else j.p) < alpha
        t, df = yuen_stat(d)
        hits["yuen"] += abs(t) > crit.setdefault(df, t_ppf(1.0 - alpha / 2.0, df))
        hits["rank"] += signed_rank_p(d) <= alpha
        hits["gate"] += j.verdict in (SLOWER, FASTER)
    return {k: v / draws for k, v in hits.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--draws", type=int, default=20000, help="draws a row (default 20000)")
    parser.add_argument("--rounds", type=int, nargs="+", default=[6, 10, 18, 30])
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.01, 0.001])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ratio", type=float, default=1.0, help="the true after/before ratio (default 1: no change)")
    args = parser.parse_args(argv)
    if args.draws < 1:
        parser.error(f"--draws {args.draws} must be at least 1")
    if min(args.rounds) < 5:
        parser.error(f"--rounds {min(args.rounds)} is too few: a 20%-trimmed test needs at least 5")
    if not all(0.0 < a < 1.0 for a in args.alphas):
        parser.error(f"--alphas {args.alphas} must be between 0 and 1")
    if not args.ratio > 0.0:
        parser.error(f"--ratio {args.ratio} must be a positive number (1 = no change)")
    null = args.ratio == 1.0
    print(f"rejections under no change, {args.draws} draws a row (nominal = alpha)" if null
          else f"detections of a true ratio x{args.ratio:g}, {args.draws} draws a row")
    names = ("t", "yuen", "rank", "gate")
    print(f"{'alpha':>7} {'spread':<10} {'rounds':>6} " + " ".join(f"{n:>8}" for n in names)
          + ("  " + " ".join(f"{n + '/alpha':>10}" for n in names) if null else ""))
    for alpha in args.alphas:
        for spread in SPREADS:
            for rounds in args.rounds:
                r = rates(args.draws, rounds, alpha, spread, args.seed, args.ratio)
                print(f"{alpha:>7g} {spread:<10} {rounds:>6} " + " ".join(f"{r[n]:>8.5f}" for n in names)
                      + ("  " + " ".join(f"{r[n] / alpha:>10.2f}" for n in names) if null else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The gate's report, byte for byte: text, markdown and JSON of a hand-built GateReport (the gate's
real runs take seconds and vary; the rendering must not), one case per verdict."""

from __future__ import annotations

import json
from pathlib import Path

from torchperf_core.gate import CaseOutcome, GatePlan, GateReport, GateSide, RoundPair, render_gate
from torchperf_core.verdict import (CONTENDED, FAILED, FASTER, SAME, SIGNED_RANK, SLOWER, UNKNOWN, PairedJudgement,
                                   signed_rank_note)


def _j(verdict: str, ratio: float | None, ci: tuple[float, float] | None, spread: float | None,
       rounds: int = 6, **robust: object) -> PairedJudgement:
    return PairedJudgement(verdict=verdict, rounds=rounds, ratio=ratio, ci=ci, p=0.001, spread=spread, alpha=0.0025,
                           **robust)  # type: ignore[arg-type]


# decided by the signed-rank test: 20 rounds, every one slower (exact p 2 / 2**20)
RANKED = _j(SLOWER, 1.5, (1.42, 1.58), 0.031, rounds=20, rank_p=2 / 2**20, robust_ratio=1.5, robust_spread=0.01,
            decided_by=SIGNED_RANK)


# the calm report's base tree predates sample pacing: the gate fell back to whole cases, and says so
FALLBACK = "cases alternated whole, not sample by sample: the tree of b8a3a8cb predates sample pacing"


def _report(cases: tuple[CaseOutcome, ...], budget_spent: bool = False) -> GateReport:
    return GateReport(
        before=GateSide("b8a3a8cb", "python", Path("b"), commit="b8a3a8cb" * 5),
        after=GateSide("c0ffee12", "python", Path("a"), commit="c0ffee12" * 5),
        plan=GatePlan(factor=1.1, rounds_min=6, batch=4, max_rounds=30, budget=42.0 if budget_spent else None,
                      budget_share="nearest" if budget_spent else "even"), alpha=0.0025, cases=cases,
        rounds=10, seconds=42.4, budget_spent=budget_spent,
        notes=(FALLBACK,) if budget_spent else (), interleave="case" if budget_spent else "sample",
    )  # fmt: skip


CASES = (
    CaseOutcome("bench.T.time_mm", "(1024, 'float32')", SAME, _j(SAME, 1.004, (0.991, 1.017), 0.012),
                0.002, 0.002008, 6, 0),
    CaseOutcome("bench.T.time_mm", "(256, 'float32')", SLOWER, RANKED, 1e-5, 1.5e-5, 20, 1,
                reason=signed_rank_note(RANKED)),
    # its rounds as the gate keeps them: which side ran first alternates (ABBA), after is 0.8x before
    CaseOutcome("bench.T.time_add", "()", FASTER, _j(FASTER, 0.8, (0.77, 0.83), 0.02), 3e-3, 2.4e-3, 6, 0,
                per_round=tuple(RoundPair(r, r % 2, 3e-3, 2.4e-3) for r in range(1, 7))),
    CaseOutcome("bench.T.time_noisy", "('a|b')", UNKNOWN, _j(UNKNOWN, 1.02, (0.7, 1.3), 0.25), 1.1, 1.122, 30, 0,
                reason="not decided after 30 rounds: re-measure"),
    CaseOutcome("bench.T.time_busy", "()", CONTENDED, None, None, None, 0, 7,
                reason="every round was disturbed <load 3.2>"),
    CaseOutcome("bench.T.time_broken", "()", FAILED, None, 5e-4, None, 1, 0, reason="fails at head"),
)

TEXT = r"""
torchperf continuous: REGRESSION: 1 slower, 1 newly failing; 1 unknown (re-measure) and 1 contended (re-run on a quiet machine): not counted as unchanged
b8a3a8cb → c0ffee12: 6 case(s), 10 round(s), 42 s; factor 1.1; per-case alpha 0.0025 (family-wise 5% over cases and 7 looks); changes: paired t-test, and from 11 rounds the signed-rank test (alpha shared); same = 90% CI inside the factor; sides alternated sample by sample

   Verdict    Before    After  Ratio           CI             Rounds  Spread  Benchmark (Parameter)
-  ---------  ------  -------  -----  -----------  -----------------  ------  --------------------------------
+  slower      10 µs    15 µs  1.500  1.420–1.580  20 (+1 disturbed)   ±3.1%  bench.T.time_mm(256, 'float32')
?  unknown     1.1 s   1.12 s  1.020  0.700–1.300                 30  ±25.0%  bench.T.time_noisy('a|b')
c  contended     n/a      n/a    n/a            —   0 (+7 disturbed)       —  bench.T.time_busy
-  faster       3 ms   2.4 ms  0.800  0.770–0.830                  6   ±2.0%  bench.T.time_add
!  failed     500 µs      n/a    n/a            —                  1       —  bench.T.time_broken
   same         2 ms  2.01 ms  1.004  0.991–1.017                  6   ±1.2%  bench.T.time_mm(1024, 'float32')

Notes:
  bench.T.time_mm(256, 'float32'): decided by the signed-rank test (p 1.9e-06 over 20 rounds; ratio: Hodges-Lehmann): a few rounds far off widen the paired t-test's spread (3.1%, p 0.001, geometric mean x1.498 and its interval)
  bench.T.time_noisy('a|b'): not decided after 30 rounds: re-measure
  bench.T.time_busy: every round was disturbed <load 3.2>
  bench.T.time_broken: fails at head

+ slower, - faster (decided), ? unknown: re-measure, c contended: re-run on a quiet machine; Ratio: geometric mean of the per-round ratios (Hodges-Lehmann where the signed-rank test decided); Spread: standard deviation of the per-round log ratios; exit 1 only for decided regressions
"""[1:]

MARKDOWN = r"""
❌ **torchperf continuous**: REGRESSION: 1 slower, 1 newly failing; 1 unknown (re-measure) and 1 contended (re-run on a quiet machine): not counted as unchanged

b8a3a8cb → c0ffee12: 6 case(s), 10 round(s), 42 s; factor 1.1; per-case alpha 0.0025 (family-wise 5%); changes: paired t-test, and from 11 rounds the signed-rank test (alpha shared); sides alternated sample by sample

|   | Verdict | Before | After | Ratio | CI | Rounds | Spread | Benchmark (Parameter) |
|:-:|---|---:|---:|---:|---:|---:|---:|---|
| + | slower | 10 µs | 15 µs | 1.500 | 1.420–1.580 | 20 (+1 disturbed) | ±3.1% | `bench.T.time_mm(256, 'float32')` |
| ? | unknown | 1.1 s | 1.12 s | 1.020 | 0.700–1.300 | 30 | ±25.0% | `bench.T.time_noisy('a\|b')` |
| c | contended | n/a | n/a | n/a | — | 0 (+7 disturbed) | — | `bench.T.time_busy` |
| - | faster | 3 ms | 2.4 ms | 0.800 | 0.770–0.830 | 6 | ±2.0% | `bench.T.time_add` |
| ! | failed | 500 µs | n/a | n/a | — | 1 | — | `bench.T.time_broken` |

<details>
<summary>All 6 case(s)</summary>

|   | Verdict | Before | After | Ratio | CI | Rounds | Spread | Benchmark (Parameter) |
|:-:|---|---:|---:|---:|---:|---:|---:|---|
| + | slower | 10 µs | 15 µs | 1.500 | 1.420–1.580 | 20 (+1 disturbed) | ±3.1% | `bench.T.time_mm(256, 'float32')` |
| ? | unknown | 1.1 s | 1.12 s | 1.020 | 0.700–1.300 | 30 | ±25.0% | `bench.T.time_noisy('a\|b')` |
| c | contended | n/a | n/a | n/a | — | 0 (+7 disturbed) | — | `bench.T.time_busy` |
| - | faster | 3 ms | 2.4 ms | 0.800 | 0.770–0.830 | 6 | ±2.0% | `bench.T.time_add` |
| ! | failed | 500 µs | n/a | n/a | — | 1 | — | `bench.T.time_broken` |
|   | same | 2 ms | 2.01 ms | 1.004 | 0.991–1.017 | 6 | ±1.2% | `bench.T.time_mm(1024, 'float32')` |

</details>

- `bench.T.time_mm(256, 'float32')`: decided by the signed-rank test (p 1.9e-06 over 20 rounds; ratio: Hodges-Lehmann): a few rounds far off widen the paired t-test's spread (3.1%, p 0.001, geometric mean x1.498 and its interval)
- `bench.T.time_noisy('a\|b')`: not decided after 30 rounds: re-measure
- `bench.T.time_busy`: every round was disturbed &lt;load 3.2&gt;
- `bench.T.time_broken`: fails at head
"""[1:]

JSON = r"""
{
  "format_version": 1,
  "kind": "gate",
  "before": {
    "label": "b8a3a8cb",
    "commit": "b8a3a8cbb8a3a8cbb8a3a8cbb8a3a8cbb8a3a8cb",
    "torch_version": null,
    "python": "python"
  },
  "after": {
    "label": "c0ffee12",
    "commit": "c0ffee12c0ffee12c0ffee12c0ffee12c0ffee12",
    "torch_version": null,
    "python": "python"
  },
  "factor": 1.1,
  "alpha_per_case": 0.0025,
  "family_alpha": 0.05,
  "looks": 7,
  "rounds": 10,
  "seconds": 42.4,
  "budget": null,
  "budget_spent": false,
  "interleave": "sample",
  "budget_share": "even",
  "exit_code": 1,
  "headline": "REGRESSION: 1 slower, 1 newly failing; 1 unknown (re-measure) and 1 contended (re-run on a quiet machine): not counted as unchanged",
  "summary": {
    "contended": 1,
    "failed": 1,
    "faster": 1,
    "same": 1,
    "slower": 1,
    "unknown": 1
  },
  "cases": [
    {
      "benchmark": "bench.T.time_add",
      "key": "()",
      "verdict": "faster",
      "before": 0.003,
      "after": 0.0024,
      "ratio": 0.8,
      "ci": [
        0.77,
        0.83
      ],
      "p": 0.001,
      "rounds": 6,
      "contended_rounds": 0,
      "between_round_spread": 0.02,
      "reason": null,
      "p_signed_rank": null,
      "robust_ratio": null,
      "decided_by": null,
      "per_round": [
        {
          "round": 1,
          "first": "after",
          "before": 0.003,
          "after": 0.0024
        },
        {
          "round": 2,
          "first": "before",
          "before": 0.003,
          "after": 0.0024
        },
        {
          "round": 3,
          "first": "after",
          "before": 0.003,
          "after": 0.0024
        },
        {
          "round": 4,
          "first": "before",
          "before": 0.003,
          "after": 0.0024
        },
        {
          "round": 5,
          "first": "after",
          "before": 0.003,
          "after": 0.0024
        },
        {
          "round": 6,
          "first": "before",
          "before": 0.003,
          "after": 0.0024
        }
      ]
    },
    {
      "benchmark": "bench.T.time_broken",
      "key": "()",
      "verdict": "failed",
      "before": 0.0005,
      "after": null,
      "ratio": null,
      "ci": null,
      "p": null,
      "rounds": 1,
      "contended_rounds": 0,
      "between_round_spread": null,
      "reason": "fails at head"
    },
    {
      "benchmark": "bench.T.time_busy",
      "key": "()",
      "verdict": "contended",
      "before": null,
      "after": null,
      "ratio": null,
      "ci": null,
      "p": null,
      "rounds": 0,
      "contended_rounds": 7,
      "between_round_spread": null,
      "reason": "every round was disturbed <load 3.2>"
    },
    {
      "benchmark": "bench.T.time_mm",
      "key": "(1024, 'float32')",
      "verdict": "same",
      "before": 0.002,
      "after": 0.002008,
      "ratio": 1.004,
      "ci": [
        0.991,
        1.017
      ],
      "p": 0.001,
      "rounds": 6,
      "contended_rounds": 0,
      "between_round_spread": 0.012,
      "reason": null,
      "p_signed_rank": null,
      "robust_ratio": null,
      "decided_by": null
    },
    {
      "benchmark": "bench.T.time_mm",
      "key": "(256, 'float32')",
      "verdict": "slower",
      "before": 1e-05,
      "after": 1.5e-05,
      "ratio": 1.5,
      "ci": [
        1.42,
        1.58
      ],
      "p": 0.001,
      "rounds": 20,
      "contended_rounds": 1,
      "between_round_spread": 0.031,
      "reason": "decided by the signed-rank test (p 1.9e-06 over 20 rounds; ratio: Hodges-Lehmann): a few rounds far off widen the paired t-test's spread (3.1%, p 0.001, geometric mean x1.498 and its interval)",
      "p_signed_rank": 1.9073486328125e-06,
      "robust_ratio": 1.5,
      "decided_by": "signed-rank test"
    },
    {
      "benchmark": "bench.T.time_noisy",
      "key": "('a|b')",
      "verdict": "unknown",
      "before": 1.1,
      "after": 1.122,
      "ratio": 1.02,
      "ci": [
        0.7,
        1.3
      ],
      "p": 0.001,
      "rounds": 30,
      "contended_rounds": 0,
      "between_round_spread": 0.25,
      "reason": "not decided after 30 rounds: re-measure",
      "p_signed_rank": null,
      "robust_ratio": null,
      "decided_by": null
    }
  ]
}
"""[1:]

CALM_TEXT = r"""
torchperf continuous: no decided regression
b8a3a8cb → c0ffee12: 2 case(s), 10 round(s), 42 s; factor 1.1; per-case alpha 0.0025 (family-wise 5% over cases and 7 looks); changes: paired t-test, and from 11 rounds the signed-rank test (alpha shared); same = 90% CI inside the factor; sides alternated case by case; --budget 42 s (--budget-share nearest); budget spent

   Verdict  Before    After  Ratio           CI  Rounds  Spread  Benchmark (Parameter)
-  -------  ------  -------  -----  -----------  ------  ------  --------------------------------
-  faster     3 ms   2.4 ms  0.800  0.770–0.830       6   ±2.0%  bench.T.time_add
   same       2 ms  2.01 ms  1.004  0.991–1.017       6   ±1.2%  bench.T.time_mm(1024, 'float32')

Notes:
  cases alternated whole, not sample by sample: the tree of b8a3a8cb predates sample pacing

+ slower, - faster (decided), ? unknown: re-measure, c contended: re-run on a quiet machine; Ratio: geometric mean of the per-round ratios (Hodges-Lehmann where the signed-rank test decided); Spread: standard deviation of the per-round log ratios; exit 1 only for decided regressions
"""[1:]

CALM_MARKDOWN = r"""
✅ **torchperf continuous**: no decided regression

b8a3a8cb → c0ffee12: 2 case(s), 10 round(s), 42 s; factor 1.1; per-case alpha 0.0025 (family-wise 5%); changes: paired t-test, and from 11 rounds the signed-rank test (alpha shared); sides alternated case by case; --budget 42 s (--budget-share nearest); budget spent

|   | Verdict | Before | After | Ratio | CI | Rounds | Spread | Benchmark (Parameter) |
|:-:|---|---:|---:|---:|---:|---:|---:|---|
| - | faster | 3 ms | 2.4 ms | 0.800 | 0.770–0.830 | 6 | ±2.0% | `bench.T.time_add` |

<details>
<summary>All 2 case(s)</summary>

|   | Verdict | Before | After | Ratio | CI | Rounds | Spread | Benchmark (Parameter) |
|:-:|---|---:|---:|---:|---:|---:|---:|---|
| - | faster | 3 ms | 2.4 ms | 0.800 | 0.770–0.830 | 6 | ±2.0% | `bench.T.time_add` |
|   | same | 2 ms | 2.01 ms | 1.004 | 0.991–1.017 | 6 | ±1.2% | `bench.T.time_mm(1024, 'float32')` |

</details>

- cases alternated whole, not sample by sample: the tree of b8a3a8cb predates sample pacing
"""[1:]

CALM_JSON = r"""
{
  "format_version": 1,
  "kind": "gate",
  "before": {
    "label": "b8a3a8cb",
    "commit": "b8a3a8cbb8a3a8cbb8a3a8cbb8a3a8cbb8a3a8cb",
    "torch_version": null,
    "python": "python"
  },
  "after": {
    "label": "c0ffee12",
    "commit": "c0ffee12c0ffee12c0ffee12c0ffee12c0ffee12",
    "torch_version": null,
    "python": "python"
  },
  "factor": 1.1,
  "alpha_per_case": 0.0025,
  "family_alpha": 0.05,
  "looks": 7,
  "rounds": 10,
  "seconds": 42.4,
  "budget": 42.0,
  "budget_spent": true,
  "interleave": "case",
  "budget_share": "nearest",
  "exit_code": 0,
  "headline": "no decided regression",
  "summary": {
    "faster": 1,
    "same": 1
  },
  "cases": [
    {
      "benchmark": "bench.T.time_add",
      "key": "()",
      "verdict": "faster",
      "before": 0.003,
      "after": 0.0024,
      "ratio": 0.8,
      "ci": [
        0.77,
        0.83
      ],
      "p": 0.001,
      "rounds": 6,
      "contended_rounds": 0,
      "between_round_spread": 0.02,
      "reason": null,
      "p_signed_rank": null,
      "robust_ratio": null,
      "decided_by": null,
      "per_round": [
        {
          "round": 1,
          "first": "after",
          "before": 0.003,
          "after": 0.0024
        },
        {
          "round": 2,
          "first": "before",
          "before": 0.003,
          "after": 0.0024
        },
        {
          "round": 3,
          "first": "after",
          "before": 0.003,
          "after": 0.0024
        },
        {
          "round": 4,
          "first": "before",
          "before": 0.003,
          "after": 0.0024
        },
        {
          "round": 5,
          "first": "after",
          "before": 0.003,
          "after": 0.0024
        },
        {
          "round": 6,
          "first": "before",
          "before": 0.003,
          "after": 0.0024
        }
      ]
    },
    {
      "benchmark": "bench.T.time_mm",
      "key": "(1024, 'float32')",
      "verdict": "same",
      "before": 0.002,
      "after": 0.002008,
      "ratio": 1.004,
      "ci": [
        0.991,
        1.017
      ],
      "p": 0.001,
      "rounds": 6,
      "contended_rounds": 0,
      "between_round_spread": 0.012,
      "reason": null,
      "p_signed_rank": null,
      "robust_ratio": null,
      "decided_by": null
    }
  ],
  "notes": [
    "cases alternated whole, not sample by sample: the tree of b8a3a8cb predates sample pacing"
  ]
}
"""[1:]


def _calm() -> GateReport:
    """No undecided case and the budget spent: the other branches of the headline and the status."""
    return _report(tuple(c for c in CASES if c.verdict in (SAME, FASTER)), budget_spent=True)


def test_text_is_exact() -> None:
    assert render_gate(_report(CASES), "text") == TEXT
    assert render_gate(_calm(), "text") == CALM_TEXT


def test_markdown_is_exact() -> None:
    assert render_gate(_report(CASES), "markdown") == MARKDOWN
    assert render_gate(_calm(), "markdown") == CALM_MARKDOWN


def test_json_is_exact_and_parses() -> None:
    assert render_gate(_report(CASES), "json") == JSON
    assert render_gate(_calm(), "json") == CALM_JSON
    assert json.loads(JSON)["exit_code"] == 1 and json.loads(CALM_JSON)["exit_code"] == 0


def test_a_short_runs_time_is_not_rounded_to_whole_seconds() -> None:
    """The line under the headline gives the run's time as every sentence gives seconds (render.format_seconds):
    a gate over a smoke tier takes a second or less. Bugs caught: "2 s" for 1.54 s or "0 s" for 40 ms in
    either the text or the pull-request comment."""
    from dataclasses import replace

    for seconds, text in ((1.54, "1.5 s"), (0.04, "40.0 ms")):
        r = replace(_report(CASES), seconds=seconds)
        for fmt in ("text", "markdown"):
            line = next(x for x in render_gate(r, fmt).splitlines() if " round(s), " in x)
            assert f"6 case(s), 10 round(s), {text}; factor 1.1;" in line, (fmt, line)

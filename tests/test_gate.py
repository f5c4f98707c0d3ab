"""`torchperf continuous`, the PR gate (issue 11, part 4): rounds of fresh worker processes, the two
sides interleaved in alternating order, undecided cases re-measured, exact verdicts and exit codes.

The round logic runs real worker processes on two throwaway code trees whose benchmark is pure
Python and deterministic (its "timings" are computed, not measured), so each verdict is decided by
the fixture: a 1.5x slowdown, an unchanged case, a case that alternates 0.7x/1.3x (never decided), a
case contended in every round, one skipped in setup and one failing at head. One slow test runs the
real command on this repository's suite (HEAD against HEAD, one tiny case).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.compare_helpers import ROOT, run_cli
from torchperf_core.errors import TorchperfError
from torchperf_core.gate import GatePlan, GateSide, commit_sides, extract_tree, first_side, render_gate, run_gate
from torchperf_core.gate.budget import REMEASURE_RULES
from torchperf_core.verdict import FAMILY_ALPHA, PAIRED_RULE, per_case_alpha

BENCH = '''
import os
from pathlib import Path
from types import SimpleNamespace

SIDE = "{side}"


class Fake:
    params = [["steady", "slow", "noisy", "edge", "busy", "skip", "broken"]]
    param_names = ["kind"]

    def setup(self, kind):
        if kind == "skip":
            raise NotImplementedError("not on this machine")

    def track_fake(self, kind):
        log = Path(os.environ["GATE_TEST_LOG"])
        counter = log.parent / f"count-{{SIDE}}-{{kind}}"
        k = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(k + 1))
        with log.open("a") as f:
            f.write(f"{{SIDE}} {{kind}}\\n")
        base = 1e-3
        if kind == "slow" and SIDE == "after":
            base *= 1.5
        if kind == "noisy" and SIDE == "after":
            base *= 1.3 if k % 2 else 0.7
        if kind == "edge" and SIDE == "after":
            base *= 1.068 * (0.98 if k % 2 == 0 else 1.02)
        if kind == "broken" and SIDE == "after":
            raise RuntimeError("boom")
        if kind == "edge" and SIDE == "after" and k >= int(os.environ.get("GATE_TEST_EDGE_FAILS_AT", "1000000")):
            raise RuntimeError("gone")
        if kind == "busy":
            self.last_timing = SimpleNamespace(contention=SimpleNamespace(contended=True, cause="run-queue wait 50%"))
        return {{"samples": [base] * 6, "number": 1}}
'''


def _tree(root: Path, side: str) -> Path:
    bench = root / side / "benchmarks"
    bench.mkdir(parents=True)
    (bench / "__init__.py").write_text("")
    (bench / "bench_fake.py").write_text(BENCH.format(side=side))
    return bench


@pytest.fixture()
def sides(tmp_path: Path) -> tuple[GateSide, GateSide]:
    return (GateSide("before", sys.executable, _tree(tmp_path, "before")),
            GateSide("after", sys.executable, _tree(tmp_path, "after")))


def _env(tmp_path: Path) -> dict[str, str]:
    import os

    return {**os.environ, "GATE_TEST_LOG": str(tmp_path / "calls.log")}


def test_first_side_alternates_by_round_and_case():
    """ABBA across rounds: each case has each side first in consecutive rounds, and neighbouring
    cases start differently. Bug caught: the before side always first (a position effect)."""
    assert [first_side(0, i) for i in range(4)] == [0, 1, 0, 1]
    assert [first_side(1, i) for i in range(4)] == [1, 0, 1, 0]
    for i in range(5):
        assert Counter(first_side(r, i) for r in range(10)) == {0: 5, 1: 5}


def test_the_gate_decides_remeasures_and_reports_exactly(tmp_path, sides):
    plan = GatePlan(factor=1.07, rounds_min=3, batch=2, max_rounds=7)
    lines: list[str] = []
    report = run_gate(*sides, plan, base_env=_env(tmp_path), progress=lines.append)
    got = {c.key: c.verdict for c in report.cases}
    assert got == {"('steady')": "same", "('slow')": "slower", "('noisy')": "unknown", "('edge')": "unknown",
                   "('busy')": "contended", "('skip')": "skipped", "('broken')": "failed"}
    assert report.exit_code == 1 and report.rounds == 7 and not report.budget_spent
    assert plan.looks == 3 and report.alpha == per_case_alpha(7, 3)  # Bonferroni over 7 cases x 3 looks
    by = {c.key: c for c in report.cases}
    assert (by["('slow')"].rounds, by["('slow')"].judgement.ratio) == (3, pytest.approx(1.5))
    assert (by["('edge')"].rounds, by["('busy')"].rounds, by["('busy')"].contended_rounds) == (7, 0, 7)
    assert by["('busy')"].reason == "7 round(s) disturbed (run-queue wait 50%): re-run on a quiet machine"
    # x1.068 +-2%: never beyond the factor, never inside it: within reach, so re-measured to the end.
    assert by["('edge')"].reason == "undecided after 7 clean round(s): re-measure (more rounds or --budget)"
    # 0.7x/1.3x: a spread of 36% between rounds; 7 rounds could decide only a change beyond x1.97 (t at
    # 6 df and alpha/2 is 5.03, checked by numeric integration of the t density) and "same" not at all,
    # so after the first look its rounds go to the cases within reach (futility stopping).
    assert by["('noisy')"].rounds == 3 and [c.key for c in report.cases if c.out_of_reach] == ["('noisy')"]
    rows = json.loads(render_gate(report, "json"))["cases"]
    assert [r["key"] for r in rows if "out_of_reach" in r] == ["('noisy')"] and next(r for r in rows if r["key"] == "('noisy')")["out_of_reach"] is True
    assert by["('noisy')"].reason == ("undecided after 3 clean round(s) and out of reach: at its spread between "
                                      "rounds (35.7%), 7 rounds could decide only a change beyond x1.973: "
                                      "re-measure on a quieter machine")
    # Only the undecided cases within reach were re-measured after the first 3 rounds; the skipped one never ran.
    calls = Counter((tmp_path / "calls.log").read_text().split("\n")[:-1])
    assert calls == {f"{s} {k}": n for s in ("before", "after")
                     for k, n in (("steady", 3), ("slow", 3), ("noisy", 3), ("edge", 7), ("busy", 7), ("broken", 1))}
    assert lines[0] == f"7 case(s); per-case alpha {per_case_alpha(7, 3):.2g} (family-wise 5% over 7 cases x 3 looks)"
    # The rounds each verdict rests on, kept in order: 'slow' is the 6th case (index 5), so after ran first
    # in round 1; the disturbed rounds of 'busy' are not among them; 'edge' was re-measured to round 7.
    assert [(p.round, p.first) for p in by["('slow')"].per_round] == [(1, 1), (2, 0), (3, 1)]
    assert [(p.before, p.after) for p in by["('slow')"].per_round] == [(1e-3, pytest.approx(1.5e-3))] * 3
    assert [p.round for p in by["('edge')"].per_round] == list(range(1, 8)) and by["('busy')"].per_round == ()
    slow_json = next(r for r in rows if r["key"] == "('slow')")["per_round"]
    assert slow_json[0] == {"round": 1, "first": "after", "before": 1e-3, "after": pytest.approx(1.5e-3)}
    assert [r["first"] for r in slow_json] == ["after", "before", "after"]
    assert lines[-1] == "round 7: re-measuring 2 undecided case(s); 1 out of reach by --max-rounds, not re-measured"


def test_both_orders_are_used_within_each_case(tmp_path, sides):
    """The log is the order the worker processes actually ran in: every case saw both sides first."""
    report = run_gate(*sides, GatePlan(factor=1.07, rounds_min=4, batch=2, max_rounds=4), base_env=_env(tmp_path))
    firsts: dict[str, Counter] = {}
    ran_first: dict[str, list[str]] = {}
    lines = (tmp_path / "calls.log").read_text().split("\n")[:-1]
    for one, two in zip(lines[::2], lines[1::2]):
        side, kind = one.split()
        assert two.split()[1] == kind and two.split()[0] != side  # the pair ran back to back
        firsts.setdefault(kind, Counter())[side] += 1
        ran_first.setdefault(kind, []).append(side)
    assert firsts["steady"] == firsts["slow"] == firsts["noisy"] == Counter({"before": 2, "after": 2})
    # what the report keeps as "first" is the side that really ran first, round by round
    for c in report.cases:
        if c.per_round:
            assert [("before", "after")[p.first] for p in c.per_round] == ran_first[c.key.strip("()'")]


def test_the_budget_stops_re_measuring_and_leaves_unknown(tmp_path, sides):
    plan = GatePlan(factor=1.07, rounds_min=3, batch=2, max_rounds=30, budget=1e-9)
    report = run_gate(*sides, plan, base_env=_env(tmp_path))
    assert report.budget_spent and report.rounds == 3
    assert {c.key: c.verdict for c in report.cases}["('noisy')"] == "unknown"
    text = render_gate(report, "text")
    assert text.splitlines()[0] == ("torchperf continuous: REGRESSION: 1 slower, 1 newly failing; 2 unknown "
                                    "(re-measure) and 1 contended (re-run on a quiet machine): not counted as unchanged")
    data = json.loads(render_gate(report, "json"))
    assert data["exit_code"] == 1 and data["budget_spent"] is True and data["format_version"] == 1
    slow = next(c for c in data["cases"] if c["key"] == "('slow')")
    assert (slow["verdict"], slow["rounds"], slow["between_round_spread"]) == ("slower", 3, 0.0)


def _calls_clock(tmp_path: Path):
    """A clock that reads one second per benchmark call in the log: the budget's arithmetic exact,
    the workers' start-up free (overhead 0)."""
    log = tmp_path / "calls.log"
    return lambda: float(len(log.read_text().splitlines())) if log.exists() else 0.0


@pytest.mark.parametrize("budget", [None, 62.0, 1e9])
def test_with_a_budget_the_rounds_go_to_the_cases_it_can_still_decide(tmp_path, sides, budget):
    """Futility within the budget (gate.budget.afford_rounds). 'noisy' (0.7x/1.3x, spread 35.7%) is within
    reach by 30 rounds after 3 (12 clean rounds could decide it), so without a budget, or with one that
    affords 30 rounds, it is re-measured until its own spread puts it out of reach (after 9). After the first 3 rounds (32 calls: s) a budget of 62 s
    leaves 30 s: rounds of noisy + edge + busy (6 s) would reach round 8, where noisy is out of reach, and
    without it rounds cost 4 s and reach round 10 (3 + 30/4 = 10.5), where it is still out of reach (it
    needs 12): noisy stops at 3 rounds with the budget's reason, and edge and busy get every round the
    budget pays for (round 11 ends at 64 s). Its message: 10 rounds could decide only a change beyond
    exp(5.3276 * 0.3574 / sqrt 10) = x1.826 (t at 9 df and alpha/2, alpha 0.05 / (7 cases x 15 looks), the
    signed-rank test with no share at 10 rounds: checked by numeric integration of the t density). Bugs caught: pricing the rounds with every live case (8
    rounds in the message), never calling it (noisy measured 11 times), dropping a case the budget can
    afford (noisy dropped without one)."""
    plan = GatePlan(factor=1.07, rounds_min=3, batch=2, max_rounds=30, budget=budget)
    report = run_gate(*sides, plan, base_env=_env(tmp_path), clock=_calls_clock(tmp_path))
    by = {c.key: c for c in report.cases}
    calls = Counter((tmp_path / "calls.log").read_text().split("\n")[:-1])
    if budget != 62.0:
        assert report.rounds == 30 and not report.budget_spent and calls["before noisy"] == calls["after noisy"] == 9
        assert by["('noisy')"].reason == ("undecided after 9 clean round(s) and out of reach: at its spread between rounds "
                                          "(32.6%), 30 rounds could decide only a change beyond x1.284: re-measure on a "
                                          "quieter machine")
        return
    assert report.rounds == 11 and report.budget_spent and report.seconds == 64.0
    assert calls == {f"{s} {k}": n for s in ("before", "after")
                     for k, n in (("steady", 3), ("slow", 3), ("noisy", 3), ("edge", 11), ("busy", 11), ("broken", 1))}
    assert by["('noisy')"].out_of_reach and by["('noisy')"].verdict == "unknown" and not by["('edge')"].out_of_reach
    assert by["('noisy')"].reason == (
        "undecided after 3 clean round(s) and out of reach within the budget: at its spread between rounds (35.7%), "
        "the 10 rounds the budget affords could decide only a change beyond x1.826: re-measure with a larger "
        "--budget or on a quieter machine")


def _priced_cases():
    """Four undecided cases after 6 gate rounds, judged as the gate judges them (factor 1.07, 3 cases x 7
    looks). The first round at which a decision is plausible (gate.budget.reach_round, every round clean),
    that round stretched by the share of clean rounds ((clean + 1) / (taken + 1)), and the price to it:
      dear    x1.068 +-2%, 6 of 6 clean, 10 s a round:   round 7,  1 round,               price 10
      far     x1.10 +-15%, 6 of 6 clean, 0.5 s:          round 14, 8 rounds,              price 4
      patchy  x1.05 +-10%, 3 of 6 clean, 0.25 s:         round 13, 7 / (4/7) -> 13 rounds: round 19, price 3.25
      lost    none of 6 clean, 1 s:  3 clean rounds before any judgement: round 9, 3 / (1/7) -> 21: round 27,
              price 21"""
    from torchperf_core.gate.rounds import RoundPair, _Case
    from torchperf_core.verdict import judge_paired

    alpha = per_case_alpha(3, 7)

    def case(index: int, name: str, ratio: float, wobble: float, clean: int, seconds: float) -> _Case:
        after = [ratio * (1 + wobble if k % 2 else 1 - wobble) for k in range(clean)]
        c = _Case("bench", f"('{name}')", index, pairs=[RoundPair(k + 1, k % 2, 1.0, a) for k, a in enumerate(after)],
                  contended=6 - clean, seconds=seconds)
        c.judgement = judge_paired([1.0] * clean, after, 1.07, alpha)
        return c

    return [case(0, "dear", 1.068, 0.02, 6, 10.0), case(1, "far", 1.10, 0.15, 6, 0.5),
            case(2, "patchy", 1.05, 0.10, 3, 0.25), case(3, "lost", 1.0, 0.0, 0, 1.0)]


@pytest.mark.parametrize("overhead,left,kept", [
    (0.0, 9.9, set()),  # not even the nearest round
    (0.0, 10.0, {"dear"}),
    (0.0, 16.0, {"dear", "far"}),  # patchy's stretched round (19) not paid; unstretched (13) it would be
    (0.0, 17.25, {"dear", "far", "patchy"}),  # each to its own round: paid to round 19 for all three, 148 s
    (0.25, 16.0, {"dear", "far"}),  # start-up 0.25 x 8 rounds + 14: once a round, not once a case (16.25)
    (0.25, 17.25, {"dear", "far"}),  # + 0.25 x 13 + 17.25 for patchy: the start-up counts
    (0.0, 38.0, {"dear", "far", "patchy"}),
    (0.0, 38.25, {"dear", "far", "patchy", "lost"}),  # none clean is dear, not written off
])  # fmt: skip
def test_nearest_prices_each_case_to_its_own_round(overhead, left, kept):
    """--budget-share nearest (gate.budget.share_nearest): the last round paid for is the largest case's round
    whose start-up and prices (each case to its own round) the budget left covers; the cases due by it are
    kept. Bugs caught, each by one of the rows: every case paid for to the last round (the even rule: 17.25
    keeps only dear), the clean share left out (16: patchy kept), the start-up left out or paid per case
    (17.25 and 16 with 0.25), a case with no clean round written off (38.25), its round not waiting for
    the MIN_ROUNDS clean rounds a judgement needs, or a first plausible round off by one (the rounds asserted,
    one against verdict.out_of_reach)."""
    from torchperf_core.gate.budget import reach_round, share_nearest
    from torchperf_core.verdict import out_of_reach

    plan = GatePlan(factor=1.07, rounds_min=6, batch=4, max_rounds=30, budget=100.0, budget_share="nearest")
    cases = _priced_cases()
    assert [reach_round(c.judgement, 1.07, 6, 30) for c in cases] == [7, 14, 13, 9]
    far = cases[1].judgement
    assert out_of_reach(far, 1.07, 13) is not None and out_of_reach(far, 1.07, 14) is None
    assert share_nearest(cases, plan, 6, left, overhead) == 4 - len(kept)  # the count run_gate ends the run on
    assert {c.key.strip("()'") for c in cases if c.out_of_reach is None} == kept


def test_the_even_rule_counts_the_cases_it_sets_aside():
    """afford_rounds returns how many cases it set aside (run_gate's budget_spent where none is left): with
    17.25 s after round 6, far and patchy (by the rounds it affords); with a budget that affords round 30,
    none. 'lost', with no clean round, has no spread to put it out of reach."""
    from torchperf_core.gate.budget import afford_rounds

    plan = GatePlan(factor=1.07, rounds_min=6, batch=4, max_rounds=30, budget=100.0)
    for left, set_aside, kept in ((17.25, 2, ["dear", "lost"]), (1e6, 0, ["dear", "far", "patchy", "lost"])):
        cases = _priced_cases()
        assert afford_rounds(cases, plan, 6, left, 0.0) == set_aside
        assert [c.key.strip("()'") for c in cases if c.out_of_reach is None] == kept
        assert afford_rounds(cases, plan, 6, left, 0.0) == 0  # a second call: those already set aside are not counted again


@pytest.mark.parametrize("contended,why", [
    (0, None),  # 60 clean rounds could decide it
    (30, None),  # 36 could
    (40, "undecided after 6 clean round(s) and out of reach: at its spread between rounds (8.8%; 11.9% in most "
         "rounds), 20 rounds (--max-rounds 60 less 40 disturbed) could decide only a change beyond x1.123: "
         "re-measure on a quieter machine"),
])  # fmt: skip
def test_a_case_whose_disturbed_rounds_leave_it_short_of_reach_is_the_max_rounds_rules(contended, why):
    """x1.02 +-8% after 6 clean rounds (factor 1.03, --max-rounds 60): within reach by 30 clean rounds, not by
    20. With 40 disturbed rounds behind it, --max-rounds leaves it 20: out of reach at its judgement, before
    either budget rule prices it, and never marked as the budget's. Bugs caught: the clean rounds left counted
    as --max-rounds whatever was disturbed (it was: the even rule then re-measured it to the end, or counted it
    as the budget's), the disturbed rounds counted twice, the clean ones not at all."""
    from torchperf_core.gate.budget import afford_rounds
    from torchperf_core.gate.rounds import RoundPair, _Case, _judge

    plan = GatePlan(factor=1.03, max_rounds=60, budget=100.0)
    after = [1.02 * (1.08 if k % 2 else 0.92) for k in range(6)]
    case = _Case("bench", "('patchy')", 0, pairs=[RoundPair(k + 1, k % 2, 1.0, a) for k, a in enumerate(after)],
                 contended=contended, seconds=1.0)
    _judge(case, plan, per_case_alpha(146, plan.looks))
    assert case.judgement.verdict == "unknown" and case.out_of_reach == why
    if why is not None:  # already out of reach: the budget's rule neither prices nor counts it
        assert afford_rounds([case], plan, 6 + contended, 5.0, 0.0) == 0 and case.budget_look is None


def test_nearest_says_which_round_a_case_needs_and_where_the_budget_went():
    from torchperf_core.gate.budget import share_nearest

    plan = GatePlan(factor=1.07, rounds_min=6, batch=4, max_rounds=30, budget=100.0, budget_share="nearest")
    cases = _priced_cases()
    share_nearest(cases, plan, 6, 16.0, 0.0)
    by = {c.key.strip("()'"): c.out_of_reach for c in cases}
    assert by["patchy"] == ("undecided after 3 clean round(s) at its spread between rounds (11.6%): a decision is plausible at round 19 at the earliest, the 16 s the budget had left "
                            "pay for rounds up to 14, for 2 case(s) whose decision is plausible by then: re-measure "
                            "with a larger --budget or on a quieter machine")
    cases = _priced_cases()
    share_nearest(cases, plan, 6, 3.0, 0.0)
    # dear's round (7) is too soon for the signed-rank test to have a share of alpha: its spread alone;
    # far's (14) is not: the spread of most rounds beside it (gate.budget passes the round, not the rounds so far)
    assert cases[0].out_of_reach == ("undecided after 6 clean round(s) at its spread between rounds (2.2%): a "
                                     "decision is plausible at round 7 at the earliest, later than the 3 s "
                                     "the budget had left reach: re-measure with a larger --budget or on a quieter "
                                     "machine")
    assert cases[1].out_of_reach.startswith("undecided after 6 clean round(s) at its spread between rounds (16.6%; "
                                            "22.4% in most rounds): a decision is plausible at round 14 at the earliest")
    cases = _priced_cases()
    share_nearest(cases, plan, 6, 0.0, 0.0)  # nothing left: the budget ends the run, no case is set aside
    assert all(c.out_of_reach is None for c in cases)
    # After round 20 of 30: dear due at 21 (10 s), far at 28 (4 s); patchy's 10 clean rounds at 4/7 (18) and
    # lost's 3 at 1/7 (21) go past round 30, where the rounds end: priced to round 30 (2.5 s and 10 s), 26.5 s
    # in all (to rounds 38 and 41, 39.5 s: lost would not be paid for)
    cases = _priced_cases()
    share_nearest(cases, plan, 20, 26.5, 0.0)
    assert [c.out_of_reach for c in cases] == [None] * 4
    # After round 29 of 30 only dear can still be decided (its 7th clean round): the others are set aside
    # by --max-rounds, whatever the budget, and are not counted as the budget's (run_gate's budget_spent)
    cases = _priced_cases()
    assert share_nearest(cases, plan, 29, 1000.0, 0.0) == 0
    assert [c.out_of_reach is None for c in cases] == [True, False, False, False]
    assert cases[3].out_of_reach == ("undecided after 0 clean round(s): the rounds left by --max-rounds 30 cannot "
                                     "decide it: re-measure on a quieter machine")
    cases = _priced_cases()
    assert share_nearest(cases, plan, 29, 0.5, 0.0) == 1
    assert cases[0].out_of_reach == ("undecided after 6 clean round(s) at its spread between rounds (2.2%): a "
                                     "decision is plausible at round 30 at the earliest, later than the "
                                     "0.5 s the budget had left reach: re-measure with a larger --budget or on a "
                                     "quieter machine")


@pytest.mark.parametrize("bench,budget,rounds,seconds,spent,why", [
    (None, 33.5, 3, 32.0, True, "a decision is plausible at round 4 at the earliest, later than the 1.5 s"),
    (None, 36.5, 5, 36.0, True, "a decision is plausible at round 6 at the earliest, later than the 0.5 s"),
    # the last case out of reach at its own spread, with the budget to spare: the budget did not end it
    ("steady|slow|noisy", 1e9, 11, 34.0, False, "and out of reach: at its spread between rounds"),
    # the even rule: after round 3 (18 s) the 7 s left afford 'noisy' 3 rounds, which cannot decide it
    ("steady|slow|noisy", 25.0, 3, 18.0, True, "out of reach within the budget"),
])  # fmt: skip
def test_a_budget_that_sets_aside_the_last_cases_ended_the_run(tmp_path, sides, bench, budget, rounds, seconds,
                                                                spent, why):
    """Seconds left, but too few for any case's next plausible decision: --budget-share nearest (and, in the
    last row, even) sets aside every case still re-measured, and the report says the budget ended the run
    (budget_spent), as when its clock runs out. After round 3 (32 s) 'edge' is due at round 4 (2 s a round); after round 5 (36 s), at
    round 6. Bugs caught: budget_spent only when the clock ran out (False in the first rows), or whenever no
    case is left (True in the last), a round run after the last case was set aside (rounds 4 or 6), the
    seconds left printed as whole seconds ("2 s", "0 s")."""
    plan = GatePlan(factor=1.07, rounds_min=3, batch=2, max_rounds=30, budget=budget,
                    budget_share="even" if budget == 25.0 else "nearest", bench=bench)
    report = run_gate(*sides, plan, base_env=_env(tmp_path), clock=_calls_clock(tmp_path))
    assert (report.rounds, report.seconds, report.budget_spent) == (rounds, seconds, spent)
    last = next(c for c in report.cases if c.key == ("('noisy')" if bench else "('edge')"))
    assert last.verdict == "unknown" and last.out_of_reach and why in last.reason
    assert json.loads(render_gate(report, "json"))["budget_spent"] is spent
    assert ("; budget spent" in render_gate(report, "text")) is spent
    given = {33.5: "33.5 s", 36.5: "36.5 s", 1e9: "1000000000 s", 25.0: "25 s"}[budget]  # never an exponent
    named = f"; --budget {given} (--budget-share {plan.budget_share})"  # the rule, in both human reports
    assert named in render_gate(report, "text").splitlines()[1] and named in render_gate(report, "markdown")


def test_a_case_failing_after_the_budget_set_another_aside_did_not_spend_the_budget(tmp_path, sides):
    """The even rule with a budget of 22 s on 'noisy' and 'edge': after round 3 (12 s) the 10 s left afford
    rounds up to 8 without noisy (2 s a round), too few for it: noisy is set aside by the budget at that look,
    edge kept. Edge then fails outright in round 4 (not a look): no case is left, but the budget's rule set
    none aside at round 4, so the budget did not end the run. Bugs caught: budget_spent read from an earlier
    look (a set-aside count not reset each round), the progress line counting noisy as out of reach by
    --max-rounds."""
    plan = GatePlan(factor=1.07, rounds_min=3, batch=2, max_rounds=30, budget=22.0, bench="noisy|edge")
    lines: list[str] = []
    report = run_gate(*sides, plan, base_env={**_env(tmp_path), "GATE_TEST_EDGE_FAILS_AT": "3"},
                      progress=lines.append, clock=_calls_clock(tmp_path))
    by = {c.key: c for c in report.cases}
    assert (report.rounds, report.seconds, report.budget_spent) == (4, 14.0, False)
    assert (by["('edge')"].verdict, by["('edge')"].reason) == ("failed", "RuntimeError: gone")
    assert by["('noisy')"].verdict == "unknown" and "out of reach within the budget" in by["('noisy')"].reason
    assert lines[-1] == "round 4: re-measuring 1 undecided case(s); 1 set aside by the budget, not re-measured"


def test_with_a_budget_shared_nearest_first_a_case_a_few_rounds_from_reach_keeps_its_rounds(tmp_path, sides):
    """The run of the even test's budget of 62 s, shared nearest first. After the first 3 rounds (32 s) the
    30 s left pay for 'edge' (due at round 4: 2 s) and 'noisy' (round 12: 9 rounds, 18 s), where the even rule
    set 'noisy' aside at once; 'busy', disturbed in all 3 rounds, is due at round 15 (3 clean rounds at a share
    of 1/4: 24 s) and is not paid for. After round 5 'noisy' is due at round 21 (32 s of the 22 left) and is set
    aside; 'edge' gets the rest: rounds 6-16, to 62 s."""
    plan = GatePlan(factor=1.07, rounds_min=3, batch=2, max_rounds=30, budget=62.0, budget_share="nearest")
    report = run_gate(*sides, plan, base_env=_env(tmp_path), clock=_calls_clock(tmp_path))
    by = {c.key: c for c in report.cases}
    calls = Counter((tmp_path / "calls.log").read_text().split("\n")[:-1])
    assert (report.rounds, report.seconds, report.budget_spent) == (16, 62.0, True)
    assert calls == {f"{s} {k}": n for s in ("before", "after")
                     for k, n in (("steady", 3), ("slow", 3), ("noisy", 5), ("edge", 16), ("busy", 3), ("broken", 1))}
    assert by["('noisy')"].reason == (
        "undecided after 5 clean round(s) at its spread between rounds (33.9%): a decision is "
        "plausible at round 21 at the earliest, the 22 s the budget had left pay for rounds up to 6, for 1 case(s) "
        "whose decision is plausible by then: re-measure with a larger --budget or on a quieter machine")
    assert (by["('busy')"].verdict, by["('busy')"].reason) == (
        "contended", "3 round(s) disturbed (run-queue wait 50%): re-run on a quiet machine")
    assert by["('edge')"].reason == "undecided after 16 clean round(s): re-measure (more rounds or --budget)"
    data = json.loads(render_gate(report, "json"))
    assert data["budget_share"] == "nearest"
    assert [c["key"] for c in data["cases"] if c.get("out_of_reach")] == ["('noisy')"]  # 'busy' is contended


def test_an_unknown_budget_share_is_one_line():
    with pytest.raises(TorchperfError, match=r"^--budget-share 'fair' is not one of even, nearest$"):
        GatePlan(factor=1.07, budget_share="fair")


def test_only_undecided_changes_exit_zero(tmp_path):
    """A comparison whose only changes are unknown/contended exits 0, and says so on its first line."""
    root = tmp_path / "t"
    before, after = _tree(root, "before"), _tree(root, "before2")
    kinds = 'params = [["steady", "slow", "noisy", "edge", "busy", "skip", "broken"]]'
    for tree, side in ((before, "before"), (after, "after")):
        (tree / "bench_fake.py").write_text(BENCH.format(side=side).replace(kinds, 'params = [["steady", "noisy", "busy"]]'))
    report = run_gate(GateSide("b", sys.executable, before), GateSide("a", sys.executable, after),
                      GatePlan(factor=1.07, rounds_min=3, batch=2, max_rounds=3), base_env=_env(tmp_path))
    assert report.exit_code == 0
    assert render_gate(report, "text").splitlines()[0] == (
        "torchperf continuous: no decided regression; 1 unknown (re-measure) and 1 contended "
        "(re-run on a quiet machine): not counted as unchanged")


def _git(cwd: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.email=gate@test.invalid", "-c", "user.name=gate", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_commit_sides_extract_each_commits_tree(tmp_path):
    repo = tmp_path / "repo"
    _tree(repo, "x")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "one")
    first = _git(repo, "rev-parse", "HEAD")
    (repo / "x" / "benchmarks" / "bench_fake.py").write_text("# changed\n")
    _git(repo, "commit", "-q", "-am", "two")
    before, after = commit_sides(repo, "HEAD~1", "HEAD", "x/benchmarks")
    assert before.commit == first and before.label == first[:8] and before.python == sys.executable
    assert before.benchmark_dir == repo / ".asv" / "gate" / first / "x" / "benchmarks"
    assert "SIDE" in (before.benchmark_dir / "bench_fake.py").read_text()
    assert (after.benchmark_dir / "bench_fake.py").read_text() == "# changed\n"
    (before.benchmark_dir / "marker").write_text("kept")
    assert extract_tree(repo, first, repo / ".asv" / "gate") == repo / ".asv" / "gate" / first  # reused
    assert (before.benchmark_dir / "marker").read_text() == "kept"


@pytest.mark.parametrize("argv,needle", [
    (["HEAD"], "give two revisions (BASE HEAD) or --torch A B; got 1 revision(s)"),
    (["HEAD", "HEAD", "--rounds-min", "2"], "--rounds-min 2 is below 3; give 3 or more"),
    (["HEAD", "HEAD", "--rounds-min", "8", "--max-rounds", "7"],
     "--max-rounds 7 is below the first rounds (--rounds-min 8); give 8 or more, e.g. 30 or 60"),
    (["HEAD", "HEAD", "--batch", "0"], "--batch '0' is not a positive integer"),
    (["HEAD", "HEAD", "--budget", "soon"], "--budget 'soon' is not a number of seconds; give e.g. 600"),
    (["HEAD", "HEAD", "--budget-share", "nearest"], "--budget-share nearest shares a --budget; give --budget SECONDS too"),
    (["HEAD", "HEAD", "--bench", "("], "--bench '(' is not a regular expression"),
    (["HEAD", "HEAD", "--family-alpha", "1%"], "--family-alpha '1%' is not a rate above 0 and below 1; give e.g. 0.05 "
                                               "(the gate's default) or 0.01"),
    (["HEAD", "HEAD", "--family-alpha", "1"], "--family-alpha '1' is not a rate above 0 and below 1"),
    (["HEAD", "HEAD", "--family-alpha", "nan"], "--family-alpha 'nan' is not a rate above 0 and below 1"),
    (["HEAD", "HEAD", "--factor", "0.9"], "malformed factor '0.9'"),
    (["--torch", "2.13.0", "2.13"], "--torch names 2.13.0 twice"),
    (["HEAD", "nosuchrev-xyz"], "unknown revision 'nosuchrev-xyz'"),
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(capsys, monkeypatch, argv, needle):
    monkeypatch.chdir(ROOT)
    code, out, err = run_cli(capsys, "continuous", *argv)
    assert code == 2 and out == "" and needle in err and "Traceback" not in err


@pytest.mark.slow
def test_real_gate_on_this_repository_head_against_head(tmp_path):
    """The real command, this repository's suite and the tool's own interpreter (torch), one tiny
    case: HEAD against HEAD cannot be a decided regression beyond a factor of 3."""
    proc = subprocess.run(
        [sys.executable, "-m", "torchperf_core", "continuous", "HEAD", "HEAD", "--bench",
         r"MM\.track_mm\(256, 'float32'", "--rounds-min", "3", "--max-rounds", "3", "--factor", "3",
         "--threads", "1", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    (case,) = data["cases"]
    assert case["benchmark"] == "bench_matmul.MM.track_mm" and case["key"].startswith("(256, 'float32'")
    assert case["verdict"] in ("same", "unknown", "contended") and data["rounds"] == 3
    assert "round 3/3: 1 case(s)" in proc.stderr


def test_the_family_rate_reaches_every_judgement_the_report_and_the_progress(tmp_path, sides):
    """--family-alpha 0.01: the per-case alpha is 1% over 2 cases x 1 look, every judged case was judged at it,
    and the progress line, the JSON and the text say 1%. Bugs caught: the default rate used where the plan's
    is given (the alpha, a judgement, the report's "family_alpha"), a rate printed as ".0%" (0.5% as 0%)."""
    plan = GatePlan(factor=1.07, rounds_min=3, batch=2, max_rounds=3, bench="steady|slow", family_alpha=0.01)
    lines: list[str] = []
    report = run_gate(*sides, plan, base_env=_env(tmp_path), progress=lines.append)
    assert report.alpha == per_case_alpha(2, 1, 0.01) == 0.005
    assert {c.key: (c.verdict, c.judgement.alpha) for c in report.cases} == {
        "('steady')": ("same", 0.005), "('slow')": ("slower", 0.005)}
    assert lines[0] == "2 case(s); per-case alpha 0.005 (family-wise 1% over 2 cases x 1 looks)"
    data = json.loads(render_gate(report, "json"))
    assert (data["family_alpha"], data["alpha_per_case"]) == (0.01, 0.005)
    assert "per-case alpha 0.005 (family-wise 1% over cases and 1 looks)" in render_gate(report, "text")
    half = GatePlan(factor=1.07, family_alpha=0.005)
    assert GatePlan(factor=1.07).family_alpha == FAMILY_ALPHA == 0.05 and half.family_alpha == 0.005
    from torchperf_core.render import format_error_rate

    assert [format_error_rate(x) for x in (0.05, 0.01, 0.005, 0.0025)] == ["5%", "1%", "0.5%", "0.25%"]


def test_the_figures_hook_scales_only_the_matching_cases_of_its_side(tmp_path, sides):
    """scripts/gate_figures.py injects its +5% this way; the other side and cases stay as measured."""
    before, after = sides
    after = GateSide(after.label, after.python, after.benchmark_dir, env={"TORCHPERF_GATE_SCALE": r"\('steady'\)=1.05"})
    report = run_gate(before, after, GatePlan(factor=1.03, rounds_min=3, batch=2, max_rounds=3, bench="steady|slow"),
                      base_env=_env(tmp_path))
    by = {c.key: c for c in report.cases}
    assert (by["('steady')"].verdict, by["('steady')"].judgement.ratio) == ("slower", pytest.approx(1.05))
    assert by["('slow')"].judgement.ratio == pytest.approx(1.5)


def _figures():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gate_figures", ROOT / "scripts" / "gate_figures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_gate_figures_help_names_every_figure():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gate_figures.py"), "--help"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0
    for word in ("separate", "gate-aa", "inject", "gate-tier", "versions", "--tier", "--trials", "--load", "--ledger"):
        assert word in proc.stdout


def test_gate_figures_bad_regex_is_one_line_naming_it():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gate_figures.py"), "--figures", "gate-tier",
                           "--inject-case", "mm("], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines()[-1].startswith("gate_figures.py: error: --inject-case 'mm(' is not a regular expression")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("kwargs,message", [
    ({"rounds_min": 2}, "--rounds-min 2 is below 3; give 3 or more"),
    ({"rounds_min": 8, "max_rounds": 7}, "--max-rounds 7 is below the first rounds (--rounds-min 8); give 8 or more, e.g. 30 or 60"),
    ({"batch": 0}, "--batch 0 must be 1 or more"),
    ({"family_alpha": 0.0}, "--family-alpha 0 is not a rate above 0 and below 1; give e.g. 0.05 (the gate's default) or 0.01"),
    ({"family_alpha": 1.0}, "--family-alpha 1 is not a rate above 0 and below 1; give e.g. 0.05 (the gate's default) or 0.01"),
])  # fmt: skip
def test_the_gate_plan_refuses_rounds_it_could_not_run(kwargs, message):
    with pytest.raises(TorchperfError) as exc:
        GatePlan(factor=1.03, **kwargs)
    assert str(exc.value) == message
    GatePlan(factor=1.03, rounds_min=3, max_rounds=3, batch=1)  # the smallest plan the rule allows


def test_gate_figures_max_rounds_below_the_first_rounds_is_one_line_naming_it():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gate_figures.py"), "--figures", "gate-tier",
                           "--max-rounds", "5"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines()[-1] == ("gate_figures.py: error: --max-rounds 5 is below the first rounds "
                                            "(--rounds-min 6); give 6 or more, e.g. 30 or 60")
    assert "Traceback" not in proc.stderr


def test_gate_figures_separate_runs_figure_on_the_fake_tree(tmp_path, monkeypatch, sides):
    """The A/A separate-runs figure's bookkeeping, on the deterministic fake cases: identical sides
    give no false regression, the always-contended case is counted as contended, not as a change."""
    import argparse

    monkeypatch.setenv("GATE_TEST_LOG", str(tmp_path / "calls.log"))
    figures = _figures()
    for order in ("blocked", "alternating"):
        args = argparse.Namespace(bench="steady|busy", runs=3, factor=1.03, separate_factor=1.07, budget=None,
                                  tier="smoke", threads=None, order=order, max_rounds=30, interleave="sample",
                                  budget_share="even", family_alpha=0.05)
        with figures._Load(False) as load:
            row = figures.figure_separate(args, sides[0], load)
        assert row["cases"] == 2 and row["false_regressions"] == 0 and row["false_improvements"] == 0
        assert row["verdicts"] == {"same": 1, "contended": 1} and row["asv_rule_one_run"] == {"same": 2}
        assert row["load"] == "quiet (no load started)" and row["order"] == order


def test_gate_figures_gate_tier_trial_judges_the_injected_case_apart_and_keeps_a_ledger(tmp_path, monkeypatch, sides):
    """'gate-tier': +5% on one case inside an A/A gate run over the others. The injected case is the
    detection, never a false alarm; the per-case alpha counts every case; each trial is appended to the
    ledger as it finishes and the totals cover only the ledger's trials of the same settings."""
    import argparse

    monkeypatch.setenv("GATE_TEST_LOG", str(tmp_path / "calls.log"))
    figures = _figures()
    ledger = tmp_path / "ledger.jsonl"
    foreign = {"figure": "gate-tier", "tier": "smoke", "factor": 1.03, "budget": 300.0, "case": r"\('steady'\)",
               "bench": "steady|slow|busy", "threads": None, "load": "quiet (no load started)", "commit": "older",
               "false_alarms": ["x"], "detected": False, "injected": {"rounds": 9}, "seconds": 5, "cases": 3}
    same_settings = {**foreign, "budget": 0.0, "seconds": 7, "injected": {"rounds": 4}, "remeasure": REMEASURE_RULES["even"],
                     "verdict": PAIRED_RULE}
    old_rule = {**same_settings, "detected": True}  # taken before the re-measure rule was recorded
    del old_rule["remeasure"]
    t_alone = {**same_settings, "detected": True}  # taken when the t-test alone decided
    del t_alone["verdict"]
    longer = {**same_settings, "max_rounds": 60, "detected": True}  # the gate allowed more rounds
    same_settings["interleave"] = "sample"
    by_case = {**same_settings, "interleave": "case", "detected": True}  # whole cases in turn
    stricter = {**same_settings, "family_alpha": 0.01, "detected": True}  # --family-alpha 0.01
    # `same_settings` has no "max_rounds" nor "family_alpha": recorded before they were, at the gate's only
    # maximum (30) and rate (5%) then
    ledger.write_text("".join(json.dumps(t) + "\n"
                              for t in (foreign, same_settings, old_rule, t_alone, longer, by_case, stricter)))
    args = argparse.Namespace(bench="steady|slow|busy", factor=1.03, budget=0.0, tier="smoke", threads=None,
                              inject_case=r"\('steady'\)", trials=2, ledger=str(ledger), max_rounds=30, reports=None,
                              interleave="sample", budget_share="even", family_alpha=0.05)
    with figures._Load(False) as load:
        row = figures.figure_gate_tier(args, sides[0], load)
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert len(lines) == 9
    for t in lines[7:]:
        assert t["false_alarms"] == [] and t["detected"] is True and t["cases"] == 3
        assert t["remeasure"] == REMEASURE_RULES["even"] and t["verdict"] == PAIRED_RULE and t["out_of_reach"] == 0
        assert t["verdicts"] == {"same": 1, "contended": 1}
        assert t["injected"]["verdict"] == "slower" and t["injected"]["ratio"] == pytest.approx(1.05)
        assert t["alpha"] == pytest.approx(per_case_alpha(3, GatePlan(factor=1.03).looks))
        assert t["rounds"] == 6 and t["budget_spent"] is True and t["max_rounds"] == 30
        assert t["interleave"] == "sample"  # the report's: these trees' engine can pace
        assert t["family_alpha"] == 0.05
        # the injected case's rounds: 'steady' is the 3rd of busy, slow, steady, so before ran first in round 1
        assert [r[:2] for r in t["injected"]["per_round"]] == [[1, 0], [2, 1], [3, 0], [4, 1], [5, 0], [6, 1]]
        assert all(r[3] == pytest.approx(1.05 * r[2]) for r in t["injected"]["per_round"])
        # the A/A cases: only 'slow' has clean rounds (busy is disturbed), identical on both sides
        assert t["anatomy"] == {"cases": 1, "spread": 0.0, "within_order": 0.0, "second_side": 1.0, "rounds": [1.0] * 6}
    assert (row["trials"], row["false_alarm_trials"], row["detected"]) == (3, 1, 2)
    assert (row["max_rounds"], row["family_alpha"]) == (30, 0.05)
    strict_row = figures.summarize_gate_tier(figures.ledger_trials(ledger, {**figures.ledger_settings(
        args, lines[-1]["load"], "sample"), "family_alpha": 0.01}))
    assert (strict_row["trials"], strict_row["detected"], strict_row["family_alpha"]) == (1, 1, 0.01)
    assert row["commits"] == sorted({"older", sides[0].label}) and row["injected_rounds"][1] == 6
    before_rule = figures.summarize_gate_tier([old_rule])  # a trial from before the rule was recorded
    assert (before_rule["remeasure"], before_rule["trials"], before_rule["detected"]) == (None, 1, 1)
    # --max-rounds reaches the gate: more looks, so a smaller per-case alpha
    # (and --reports keeps the trial's whole gate report beside the ledger: every case, with its rounds)
    reports = tmp_path / "reports"
    ten = figures.gate_tier_trial(argparse.Namespace(**{**vars(args), "max_rounds": 10, "reports": str(reports)}),
                                  sides[0], load)
    assert ten["max_rounds"] == 10 and GatePlan(factor=1.03, max_rounds=10).looks == 2
    assert ten["alpha"] == pytest.approx(per_case_alpha(3, 2))
    # --family-alpha reaches the gate: the trial's per-case alpha at 1%, and the trial says which rate it ran at
    one = figures.gate_tier_trial(argparse.Namespace(**{**vars(args), "family_alpha": 0.01}), sides[0], load)
    assert (one["family_alpha"], one["alpha"]) == (0.01, pytest.approx(per_case_alpha(3, GatePlan(factor=1.03).looks, 0.01)))
    kept = list(reports.iterdir())
    assert len(kept) == 1 and kept[0].name.startswith(f"gate-tier-{sides[0].label}-")
    whole = json.loads(kept[0].read_text())
    assert sorted((c["key"], c["verdict"]) for c in whole["cases"]) == [
        ("('busy')", "contended"), ("('slow')", "same"), ("('steady')", "slower")]
    steady = next(c for c in whole["cases"] if c["key"] == "('steady')")
    assert len(steady["per_round"]) == ten["injected"]["rounds"] == whole["rounds"]
    with pytest.raises(SystemExit, match="matches 2 cases"):
        figures.gate_tier_trial(argparse.Namespace(**{**vars(args), "inject_case": "steady|slow"}), sides[0], load)
    ledger.write_text("not json\n")
    with pytest.raises(SystemExit, match=r"ledger.jsonl:1: not a JSON object"):
        figures.read_ledger(ledger)


def _ledger_trial(**kw):
    """A by-sample gate-tier trial as the ledger keeps it (the settings of the README's by-sample row)."""
    t = {"figure": "gate-tier", "tier": "default", "factor": 1.03, "budget": 2400.0,
         "case": r"MM\.track_mm\(1024, 'float32', 'contiguous'", "bench": None, "threads": None,
         "load": "quiet (no load started)", "remeasure": REMEASURE_RULES["even"], "verdict": PAIRED_RULE, "max_rounds": 60,
         "interleave": "sample", "machine": "AMD EPYC, 2 CPUs", "torch": "2.13.0+cpu", "cases": 146,
         "false_alarms": [], "detected": True, "out_of_reach": 28, "budget_spent": False, "rounds": 60}
    t.update(kw)
    return t


LEDGER_ROW_TRIALS = [
    _ledger_trial(commit="aaaa1111", when="2026-12-04T07:33:13+0000", seconds=2163,
                  verdicts={"skipped": 28, "same": 88, "unknown": 29},
                  injected={"verdict": "slower", "ratio": 1.0500858, "rounds": 18, "seconds_a_call": 0.0127757,
                            "spread": 0.0302615, "robust_spread": 0.0103710, "decided_by": "paired t-test"},
                  anatomy={"cases": 117, "spread": 0.1035988, "within_order": 0.1, "second_side": 1.0011747,
                           "rounds": [0.9946211, 1.0037726]}),
    # ended after midnight: it started the day before (a row that dated it by its end would say 2026-12-05)
    _ledger_trial(commit="bbbb2222", when="2026-12-05T00:20:00+0000", seconds=2408, machine="Intel Xeon, 2 CPUs",
                  budget_spent=True, rounds=41, out_of_reach=34, detected=False,
                  false_alarms=["Add.track_add(64, 'float32')", "Add.track_add(256, 'float32')"],
                  verdicts={"skipped": 27, "same": 78, "unknown": 37, "contended": 1, "faster": 1, "slower": 1},
                  injected={"verdict": "unknown", "ratio": 1.0811, "rounds": 38, "seconds_a_call": 0.0201,
                            "spread": 0.208, "robust_spread": 0.136, "decided_by": None},
                  anatomy={"cases": 116, "spread": 0.1333002, "within_order": 0.13, "second_side": 0.9972711,
                           "rounds": [0.9935113, 1.0050737]}),
    # a newer trial: its false alarm kept with its figures (the older one above kept names alone)
    _ledger_trial(commit="cccc3333", when="2026-12-05T09:00:00+0000", seconds=1800,
                  false_alarms=[{"name": "MM.track_mm(64, 'float32', 'At', 'cpu')", "verdict": "faster",
                                 "ratio": 0.9512345, "rounds": 10, "seconds_a_call": 2.1e-05, "spread": 0.0412,
                                 "decided_by": "signed-rank test", "robust_spread": 0.0187, "ci": [0.93, 0.97],
                                 "per_round": []}],
                  verdicts={"skipped": 28, "same": 80, "unknown": 36, "faster": 1},
                  injected={"verdict": "slower", "ratio": 1.0426655, "rounds": 10, "seconds_a_call": 0.0132481,
                            "spread": 0.0330768, "robust_spread": None, "decided_by": "signed-rank test"},
                  anatomy=None),  # a trial from before the anatomy was kept
]


@pytest.mark.parametrize("seconds,text", [
    (2400.0, "2400 s"), (1e9, "1000000000 s"), (10.0, "10 s"), (9.96, "10 s"), (1.54, "1.5 s"), (0.05, "0.1 s"),
    (0.04, "40.0 ms"), (0.0, "0.0 ms"),
])  # fmt: skip
def test_seconds_in_a_sentence_never_read_as_none_left_or_an_exponent(seconds, text):
    """render.format_seconds, the one format of seconds in a sentence (the seconds left in a nearest note).
    Bugs caught: whole seconds below 10 s ("2 s" for 1.5), "0 s" for 40 ms left, an exponent for 1e9."""
    from torchperf_core.render import format_seconds

    assert format_seconds(seconds) == text


@pytest.mark.parametrize("ks,text", [
    ([1], "1"), ([1, 2], "1 and 2"), ([1, 2, 3], "1–3"), (list(range(1, 11)) + [12], "1–10 and 12"),
    ([1, 3, 4, 5, 7, 8], "1, 3–5, 7 and 8"),
])  # fmt: skip
def test_a_rows_trial_numbers_run_as_ranges(ks, text):
    """The trials a row names on each machine. Bugs caught: a run of two as a range, the last number of a run
    lost, the list not joined with 'and'."""
    assert _figures()._trial_numbers(ks) == text


def test_the_readme_row_is_printed_from_the_ledger_exactly():
    """`--markdown`'s row from three trials whose every field the fixture decides. Bugs caught: dating a
    trial by its end (the second started 2026-12-04 23:39, ended after midnight), counting trials with a
    false alarm by their alarms (the second has two), a trial without anatomy breaking the spreads or counted in them, skipped listed
    when they differ, contended left out, the budget-spent trial not marked, ranges in the wrong order, an
    alarm's figures dropped or given to the wrong trial, an older trial's names-only alarms breaking the row."""
    row = _figures().markdown_row(LEDGER_ROW_TRIALS)
    assert row == (
        "| commits aaaa1111, bbbb2222 and cccc3333; trials 1 and 3 on AMD EPYC, 2 CPUs, torch 2.13.0+cpu; trial 2 on "
        "Intel Xeon, 2 CPUs, torch 2.13.0+cpu; quiet (no load started); started 2026-12-04 at 06:57 and 23:39; "
        "2026-12-05 at 08:30 "
        "| **3 trials so far: 2/3** with a false alarm among the other 145 cases "
        "(same / unknown at the end: 88/29, 78/37, 80/36; contended 0, 1, 0; skipped 28, 27, 28; out of reach at "
        "the end 28, 34, 28; decided as changes: trial 2: Add.track_add(64, 'float32') and Add.track_add(256, "
        "'float32'); trial 3: MM.track_mm(64, 'float32', 'At', 'cpu') faster ×0.951 after 10 rounds (signed-rank "
        "test, spread 4.1%, 1.9% robust)); rounds and time: 60 in 2163 s, 41 in 2408 s (the budget spent), 60 in 1800 s; spread "
        "between rounds over the 116 and 117 other judged cases **10.4–13.3%** (10.4%, 13.3%; the side run second "
        "×0.997–×1.001; the first rounds' median ratios ×0.994–×1.005); the +5% **detected 2/3**: slower ×1.050 "
        "after 18 rounds (paired t-test, spread 3.0%, 1.0% robust), unknown ×1.081 after 38 rounds (spread 20.8%, "
        "13.6% robust), slower ×1.043 after 10 rounds (signed-rank test, spread 3.3%); the case at 12.8–20.1 ms a "
        "call | 0/20; ≥ 9/10 | 30–40 min a trial |")


def test_a_trials_false_alarms_keep_their_figures_in_the_ledger(monkeypatch, sides):
    """A trial's record keeps each case decided as a change (slower or faster, never the injected case) with
    the figures it was decided on, sorted by name, as it keeps the injected case's. Bugs caught: a faster
    case not counted as an alarm, an unknown or same case counted, the injected case counted, the figures
    of one case given to another, the interval or the rounds dropped."""
    import argparse

    from torchperf_core.gate import CaseOutcome, GateReport, RoundPair
    from torchperf_core.verdict import SIGNED_RANK, T_TEST, PairedJudgement

    figures = _figures()

    def case(key, verdict, ratio, ci, decided_by, rounds=2):
        j = PairedJudgement(verdict=verdict, rounds=rounds, ratio=ratio, ci=ci, p=0.001, spread=0.04, alpha=1e-5,
                            robust_spread=0.02, decided_by=decided_by)
        pairs = tuple(RoundPair(r, (r + 1) % 2, 1.0e-3, ratio * 1.0e-3) for r in range(1, rounds + 1))
        return CaseOutcome(benchmark="bench_x.X.track_x", key=key, verdict=verdict, judgement=j, before=1.0e-3,
                           after=ratio * 1.0e-3, rounds=rounds, contended_rounds=0, per_round=pairs)

    cases = (case("('steady')", "slower", 1.05, (1.03, 1.07), T_TEST),  # the injected case
             case("('b')", "slower", 1.08, (1.05, 1.11), T_TEST, rounds=3),
             case("('a')", "faster", 0.93, (0.9, 0.96), SIGNED_RANK),
             case("('c')", "unknown", 1.02, (0.98, 1.06), None), case("('d')", "same", 1.0, (0.99, 1.01), None))
    report = GateReport(before=sides[0], after=sides[0], plan=GatePlan(factor=1.03), alpha=1e-5, cases=cases, rounds=3,
                        seconds=12.4, budget_spent=False, interleave="sample")  # the gate's own report, not run
    monkeypatch.setattr(figures, "_gate", lambda *a, **k: report)
    args = argparse.Namespace(bench=None, factor=1.03, budget=60.0, tier="smoke", threads=None,
                              inject_case=r"\('steady'\)", trials=1, ledger=None, max_rounds=30, reports=None,
                              interleave="sample", budget_share="even", family_alpha=0.05)
    with figures._Load(False) as load:
        t = figures.gate_tier_trial(args, sides[0], load)
    assert [name for name, _ in figures.false_alarms(t)] == ["bench_x.X.track_x('a')", "bench_x.X.track_x('b')"]
    a, b = t["false_alarms"]
    assert {k: v for k, v in a.items() if k != "per_round"} == {
        "name": "bench_x.X.track_x('a')", "verdict": "faster", "ratio": 0.93, "rounds": 2, "seconds_a_call": 1.0e-3,
        "spread": 0.04, "decided_by": SIGNED_RANK, "robust_spread": 0.02, "ci": [0.9, 0.96]}
    assert (b["verdict"], b["ratio"], b["rounds"], b["ci"], b["decided_by"]) == ("slower", 1.08, 3, [1.05, 1.11], T_TEST)
    assert b["per_round"] == [[1, 0, 1.0e-3, pytest.approx(1.08e-3)], [2, 1, 1.0e-3, pytest.approx(1.08e-3)],
                              [3, 0, 1.0e-3, pytest.approx(1.08e-3)]]
    assert t["injected"]["ci"] == [1.03, 1.07] and t["detected"] is True
    assert t["verdicts"] == {"slower": 1, "faster": 1, "unknown": 1, "same": 1}
    json.dumps(t)  # the record is written as JSON: every figure must be plain
    # an older record kept the names alone
    assert figures.false_alarms({"false_alarms": ["x"]}) == [("x", None)]


@pytest.mark.parametrize("flags,suffix", [
    ({"avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq"}, ", AVX512"),
    ({"avx2", "fma"}, ", AVX2"),
    ({"sse4_2"}, ""),
    (None, ""),  # /proc/cpuinfo unreadable: no level named, none assumed
])  # fmt: skip
def test_the_ledgers_machine_names_the_highest_isa_level(monkeypatch, flags, suffix):
    """Two hosts sold under one CPU name, one with AVX-512, run different cases: the ledger's machine says
    which, from one reading of /proc/cpuinfo (here a fixture's text). Bugs caught: the lowest level named, a
    level claimed where the flags cannot be read (isa treats unknown flags as allowed), a level named for a CPU
    that has neither, the model and the flags read from two different texts."""
    import os
    import platform

    import torchperf_core.env.collect as collect

    reads = []
    text = None if flags is None else f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu {' '.join(sorted(flags))}\n"
    monkeypatch.setattr(collect, "_read", lambda path: reads.append(path) or text)
    model = "Some CPU" if flags is not None else (platform.processor() or platform.machine() or "unknown")
    assert _figures()._machine() == f"{model}, {os.cpu_count()} CPUs{suffix}"
    assert reads == ["/proc/cpuinfo"]


# The README's by-sample rows: the flags of `gate_figures.py --markdown` beyond --budget 2400 --max-rounds 60.
BY_SAMPLE_ROWS = {"even": ["--budget-share", "even"], "nearest": ["--budget-share", "nearest"],
                  "even at 1%": ["--family-alpha", "0.01"]}
COMMITTED_LEDGER = ROOT / "docs" / "figures" / "gate-tier-default.jsonl"


def _row_argv(group: str) -> list[str]:
    """The `gate_figures.py` command line that prints the README's by-sample row `group` from the committed ledger."""
    return ["--markdown", "--ledger", str(COMMITTED_LEDGER), "--budget", "2400", "--max-rounds", "60",
            *BY_SAMPLE_ROWS[group]]


def _prose(doc: str) -> str:
    """A doc's text with its line breaks and runs of spaces made single spaces: a phrase the tests look for may
    wrap anywhere."""
    return " ".join((ROOT / doc).read_text().split())


@pytest.fixture(scope="module")
def committed_ledger_rows() -> dict[str, str]:
    """What `gate_figures.py --markdown` prints from the committed ledger at the by-sample rows' settings, one
    row per --budget-share and one for the even share at a 1% family-wise rate (run once for the tests that hold
    the README and docs/GATE.md to them)."""
    rows = {}
    for name in BY_SAMPLE_ROWS:
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gate_figures.py"), *_row_argv(name)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        rows[name] = proc.stdout
    return rows


@pytest.fixture(scope="module")
def committed_ledger_row(committed_ledger_rows) -> str:
    """The by-sample row of the default --budget-share (even): the row the prose tallies restate."""
    return committed_ledger_rows["even"]


@pytest.mark.parametrize("group", list(BY_SAMPLE_ROWS))
def test_the_readmes_by_sample_rows_are_the_ones_the_ledger_prints(committed_ledger_rows, group):
    """The README's by-sample gate-tier rows (one per --budget-share, and the even share at 1%) end with what
    `gate_figures.py --markdown` prints from the committed ledger: a trial added to the ledger without its row,
    or a figure edited by hand, fails here."""
    row = committed_ledger_rows[group].strip()
    assert row.startswith("| commits ") and row.count("\n") == 0
    readme = (ROOT / "README.md").read_text().splitlines()
    assert [line for line in readme if line.endswith(row[2:])], f"README.md has no row ending with: {row[2:200]}..."


def test_the_prose_tallies_of_the_by_sample_trials_are_the_ledgers(committed_ledger_row):
    """The README's paragraph on the by-sample trials and docs/GATE.md state the tally in words beside the row;
    each must carry the same tally the row prints from the ledger ("by sample, A/N trials with a false alarm and
    the +5% detected D/N"), and no other, so that a trial added to the ledger without its prose fails here."""
    tally = re.search(r"\*\*(\d+) trials?(?: so far)?: (\d+)/\1\*\* with a false alarm.*\*\*detected (\d+)/\1\*\*",
                      committed_ledger_row)
    assert tally, committed_ledger_row[:300]
    n, alarms, detected = tally.groups()
    injected = f"+{_figures().INJECTED - 1:.0%}"  # as markdown_row writes it
    phrase = f"by sample, {alarms}/{n} trials with a false alarm and the {injected} detected {detected}/{n}"
    for doc in ("README.md", "docs/GATE.md"):
        text = _prose(doc)
        assert phrase in text, f"{doc} does not say: {phrase}"
        stated = set(re.findall(rf"by sample, \d+/\d+ trials with a false alarm and the {re.escape(injected)} "
                                rf"detected \d+/\d+", text))
        assert stated == {phrase}, f"{doc} also states an older tally: {sorted(stated - {phrase})}"


def test_the_prose_tally_at_one_percent_is_the_ledgers(committed_ledger_rows):
    """The 1% trials (`--family-alpha 0.01`, summed apart from the 5% ones) have their tally in words in the README
    and docs/GATE.md ("at a 1% family-wise rate, A/N trials with a false alarm and the +5% detected D/N"), read
    from the row the ledger prints for them, and no other: a 1% trial added without its prose, or a tally summed
    over both rates, fails here."""
    tally = re.search(r"\*\*(\d+) trials?(?: so far)?: (\d+)/\1\*\* with a false alarm.*\*\*detected (\d+)/\1\*\*",
                      committed_ledger_rows["even at 1%"])
    assert tally, committed_ledger_rows["even at 1%"][:300]
    n, alarms, detected = tally.groups()
    injected = f"+{_figures().INJECTED - 1:.0%}"
    phrase = f"at a 1% family-wise rate, {alarms}/{n} trials with a false alarm and the {injected} detected {detected}/{n}"
    for doc in ("README.md", "docs/GATE.md"):
        text = _prose(doc)
        stated = set(re.findall(rf"at a 1% family-wise rate, \d+/\d+ trials with a false alarm and the "
                                rf"{re.escape(injected)} detected \d+/\d+", text))
        assert stated == {phrase}, f"{doc} states {sorted(stated)}, the ledger: {phrase}"


def test_the_prose_figures_at_one_percent_are_the_ledgers(committed_ledger_rows):
    """What the README and docs/GATE.md say in words of the 1% trials beside their tally: the rounds, ratios and
    spreads the +5% was decided at, the minutes a trial, the other cases judged *same* (and in this host's 5%
    trials, for comparison), and how many trials the 0/20 still needs, each read from the ledger's trials of the
    1% row (selected by the row's own command line). Bugs caught: a 1% trial added that decides at another round
    or spread, takes longer, or runs on another host, with the prose left as it was; the 5% comparison taken from
    the other host's trials; the count of trials still needed not following the target."""
    figures = _figures()
    ledger = COMMITTED_LEDGER
    _, args = figures.parse_args(_row_argv("even at 1%"))
    trials = figures._selected_trials(args)
    n = int(re.search(r"\*\*(\d+) trials?(?: so far)?:", committed_ledger_rows["even at 1%"]).group(1))
    assert len(trials) == n  # the row's trials
    settings = {k: figures.trial_key(trials[0], k) for k in figures.LEDGER_KEYS}
    assert settings["family_alpha"] == 0.01 and settings["interleave"] == "sample"
    machines = {t["machine"] for t in trials}
    assert len(machines) == 1 and "AVX512" in trials[0]["machine"], machines  # the prose says "this AVX-512 host"
    decided = [t["injected"] for t in trials if t["detected"]]
    rounds = figures._span([i["rounds"] for i in decided], "d")
    spreads = figures._span([i["spread"] for i in decided], ".1%")
    ratios = figures._span([i["ratio"] for i in decided], ".3f", "×")
    minutes = figures._span([t["seconds"] / 60 for t in trials], ".0f")
    same = figures._span([t["verdicts"]["same"] for t in trials], "d")
    at_five = [t for t in figures.ledger_trials(ledger, {**settings, "family_alpha": 0.05}) if t["machine"] in machines]
    assert len(at_five) >= 10  # this host's by-sample trials at the gate's 5%, the even share
    same_at_five = figures._span([t["verdicts"]["same"] for t in at_five], "d")
    readme = _prose("README.md")
    gate = _prose("docs/GATE.md")
    for doc, text, phrase in (
            ("README.md", readme, f"after {rounds} rounds (spreads {spreads}), in {minutes} minutes a trial, with "
                                  f"{same} other cases *same* ({same_at_five} in this host's 5% trials"),
            ("README.md", readme, f"the 0/{figures.AA_TRIALS} needs {figures.AA_TRIALS - n} more."),
            ("docs/GATE.md", gate, f"{minutes} minutes each: at a 1% family-wise rate,"),
            ("docs/GATE.md", gate, f"slower {ratios} after {rounds} rounds at spreads {spreads}; the "
                                   f"0/{figures.AA_TRIALS} needs {figures.AA_TRIALS - n} more.")):
        assert phrase in text, f"{doc} does not say: {phrase}"


def test_the_per_case_alphas_the_docs_state_are_the_rules():
    """The per-case alphas the README and docs/GATE.md work out in words (the family rate over the tier's cases
    and the looks a --max-rounds allows) are per_case_alpha's of the looks GatePlan takes, and the 1% trials'
    ledger records that same alpha. Bugs caught: the looks schedule or the Bonferroni split changed and the
    docs' arithmetic left as it was; a 1% trial run with another split than the one the README states."""
    figures = _figures()
    ledger = [t for t in figures.read_ledger(COMMITTED_LEDGER)
              if t.get("figure") == "gate-tier" and figures.trial_key(t, "max_rounds") == 60]
    cases = ledger[-1]["cases"]  # the default tier's, as the phrases below count it
    looks = {m: GatePlan(factor=1.03, max_rounds=m).looks for m in (30, 60, 100)}

    def alpha(k: int, family: float = figures.LEDGER_DEFAULTS["family_alpha"]) -> str:  # the 5% trials' rate
        return f"{per_case_alpha(cases, looks[k], family):.1e}".replace("e-0", "e-")  # the docs' 2.3e-5

    readme = _prose("README.md")
    gate = _prose("docs/GATE.md")
    for doc, text, phrase in (
            ("README.md", readme, f"{looks[60]} looks, so a per-case alpha of {alpha(60)} instead of {alpha(30)}"),
            ("README.md", readme, f"{looks[100]} looks, a per-case alpha of {alpha(100)}"),
            ("README.md", readme, f"0.01 / ({cases} × {looks[60]}) = {alpha(60, 0.01)} instead of {alpha(60)}"),
            ("docs/GATE.md", gate, f"about {alpha(30, 0.01)} for {cases} cases and {looks[30]} looks")):
        assert phrase in text, f"{doc} does not say: {phrase}"
    at_one = [t for t in ledger if figures.trial_key(t, "family_alpha") == 0.01]
    assert at_one and {t["alpha"] for t in at_one} == {per_case_alpha(cases, looks[60], 0.01)}


def test_the_prose_figures_beside_the_tally_are_the_rows(committed_ledger_row):
    """The figures the README and docs/GATE.md state in words beside the tally: the rounds the injected case
    took over every trial ("after 6–22 rounds"), the spreads of the trials that decided it at the first look
    ("at spreads of 0.5% and 0.3%") and the minutes a trial ("in 30–40 minutes"), each read from the row the
    ledger prints. Bugs caught: a trial added that decides at another round or spread, or takes longer, and
    the prose left as it was (it was typed from the ledger, not tested against it)."""
    row = committed_ledger_row
    detected = row[row.index("**detected "):]
    each = re.findall(r"(?:slower|faster|same|unknown) ×[\d.]+ after (\d+) rounds \((?:[^,)]*, )?spread ([\d.]+%)",
                      detected)
    n = int(re.search(r"\*\*detected \d+/(\d+)\*\*", detected).group(1))
    assert len(each) == n, detected[:300]  # one entry a trial
    rounds = [int(r) for r, _ in each]
    first = [spread for r, spread in each if int(r) == min(rounds)]
    readme = _prose("README.md")
    gate = _prose("docs/GATE.md")
    assert f"after {min(rounds)}–{max(rounds)} rounds" in readme
    minutes = re.search(r"\| (\d+(?:–\d+)?) min a trial \|$", row.strip()).group(1)
    assert f"after {min(rounds)}–{max(rounds)} rounds, in {minutes} minutes" in readme
    spreads = f"at spreads of {_figures()._each(first)}" if len(first) > 1 else f"at a spread of {first[0]}"
    assert f"(round {min(rounds)}, {spreads})" in readme
    assert re.search(re.escape(f"after {min(rounds)}, {spreads}") + r"[);]", gate)  # the list of spreads ends there


def test_replaying_the_ledger_at_another_family_rate_rejudges_the_kept_rounds():
    """Trials built from the committed ledger's rounds: d7e00b58 (+5% at p 1.8e-7 after 6 rounds), 56838b22 (p 2e-5
    after 18: decided at the gate's 5%, not at 1%), cd8f6907 (a miss), and to it two false alarms: 46896ea6's
    injected rounds as one (p 6.7e-6: decided at 5%, not at 1%) and one kept by name alone. Bugs caught: the
    trial's own alpha used for the replay, a miss counted as decided, an alarm's kept/gone swapped, a name-only
    alarm replayed or dropped, the looks taken from the default --max-rounds (30) instead of the trial's (60)."""
    import copy

    figures = _figures()
    by_commit = {t["commit"]: t for t in figures.read_ledger(COMMITTED_LEDGER)}
    trials = [copy.deepcopy(by_commit[c]) for c in ("d7e00b58", "56838b22", "cd8f6907")]
    alarm = {"name": "b.M.track_x(1)", **copy.deepcopy(by_commit["46896ea6"]["injected"])}
    trials[2]["false_alarms"] = [alarm, "b.M.track_y(2)"]
    strict = figures.replay_family_alpha(trials, 0.01)
    assert (strict["decided"], strict["kept"], strict["later"], strict["not_reproduced"]) == (2, 1, ["56838b22 (round 18)"], [])
    assert (strict["alarms"], strict["alarms_kept"]) == (2, 0)
    assert strict["alarms_gone"] == ["cd8f6907: b.M.track_x(1)"]
    assert strict["alarms_by_name"] == ["cd8f6907: b.M.track_y(2)"]
    same = figures.replay_family_alpha(trials, 0.05)  # the gate's own rate reproduces what the trials decided
    assert (same["kept"], same["later"], same["alarms_kept"], same["alarms_gone"]) == (2, [], 1, [])
    # the looks are the trial's: at --max-rounds 60, 15 (per-case 4.6e-6 at 1%); read as 30's 7 looks (9.8e-6), the
    # alarm at p 6.7e-6 would stay decided
    assert trials[2]["max_rounds"] == 60 and GatePlan(factor=1.03, max_rounds=60).looks == 15


def test_the_prose_replay_at_one_percent_is_the_scripts():
    """The README and docs/GATE.md state what `--replay-family-alpha 0.01` prints for the by-sample trials: a
    trial added to the ledger, or a verdict rule that reads the kept rounds otherwise, and the prose left as it
    was fails here."""
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gate_figures.py"), "--replay-family-alpha", "0.01",
                           "--ledger", str(COMMITTED_LEDGER), "--budget", "2400",
                           "--max-rounds", "60"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = re.search(r"decided in (\d+) trial\(s\) with its rounds kept: still decided at the same round in (\d+), "
                    r"undecided there in (\d+)", proc.stdout)
    assert got and "not replayed" not in proc.stdout, proc.stdout
    decided, kept, later = got.groups()
    phrase = f"still decided at the same round in {kept} of the {decided} trials that decided it, undecided there in {later}"
    for doc in ("README.md", "docs/GATE.md"):
        assert phrase in _prose(doc), f"{doc} does not say: {phrase}"


def test_gate_figures_replay_refuses_a_rate_outside_0_1():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gate_figures.py"), "--replay-family-alpha", "5",
                           "--ledger", str(COMMITTED_LEDGER)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == ("gate_figures.py: error: --replay-family-alpha 5 is not a rate above 0 and "
                                            "below 1; give e.g. 0.05 (the gate's default) or 0.01")


def test_gate_figures_markdown_needs_a_ledger_with_matching_trials(tmp_path):
    script = [sys.executable, str(ROOT / "scripts" / "gate_figures.py"), "--markdown"]
    proc = subprocess.run(script, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == ("gate_figures.py: error: --markdown prints the row of a ledger's trials; "
                                            "give --ledger FILE")
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("".join(json.dumps(t) + "\n" for t in LEDGER_ROW_TRIALS))
    proc = subprocess.run(script + ["--ledger", str(ledger), "--budget", "2400"], capture_output=True, text=True,
                          timeout=120)  # the trials ran at --max-rounds 60, this asks for the default 30
    assert proc.returncode == 1 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"gate_figures.py: no trial in {ledger} was taken with these settings (tier default, ")
    assert "max_rounds 30, interleave sample, family_alpha 0.05)" in proc.stderr and len(proc.stderr.splitlines()) == 1
    proc = subprocess.run(script + ["--ledger", str(ledger), "--budget", "2400", "--max-rounds", "60"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout == _figures().markdown_row(LEDGER_ROW_TRIALS) + "\n"
    proc = subprocess.run(script + ["--ledger", str(tmp_path / "none.jsonl")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.splitlines()[-1].endswith("none.jsonl: no such file; --markdown reads a "
                                                                           "ledger that 'gate-tier' trials wrote")


def test_gate_figures_write_rewrites_the_ledgers_row_in_place_and_nothing_else(tmp_path):
    """`--markdown --write README` puts the row the ledger prints where the README had an older one for the same
    trials (the line naming the first trial's commit after 'commits '), keeping the line's own label and every
    other byte. Bugs caught: the label cut off, another row (one whose list merely contains the commit, or a
    prose line) rewritten, the trailing newline lost, a README without the row or with two of them changed at all,
    --write taken without --markdown."""
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("".join(json.dumps(t) + "\n" for t in LEDGER_ROW_TRIALS[:2]))
    label = "| by sample, even share: "
    before = ["# Figures", "", "Prose naming commits aaaa1111, bbbb2222 stays.", "", "| who | found | target | time |",
              "|---|---|---|---|", "| another group: commits zzzz9999, aaaa1111; quiet | old | 0/20 | 1 min |",
              label + "commits aaaa1111; AMD EPYC; an older row | **1 trial so far: 0/1** | 0/20; ≥ 9/10 | 36 min a trial |",
              "", "after the table", ""]
    readme = tmp_path / "README.md"
    readme.write_text("\n".join(before))
    script = [sys.executable, str(ROOT / "scripts" / "gate_figures.py"), "--markdown", "--ledger", str(ledger),
              "--budget", "2400", "--max-rounds", "60", "--write", str(readme)]
    proc = subprocess.run(script, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout == f"{readme}: the row of 2 trial(s) rewritten from {ledger}\n"
    row = _figures().markdown_row(LEDGER_ROW_TRIALS[:2])
    assert readme.read_text() == "\n".join(before[:7] + [label + row.removeprefix("| ")] + before[8:])

    for lines, found in ((before[:7] + before[8:], "no"), (before + before[7:8], "2")):
        readme.write_text("\n".join(lines))
        proc = subprocess.run(script, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1 and proc.stdout == "" and "Traceback" not in proc.stderr
        assert proc.stderr == (f"gate_figures.py: --write {readme}: {found} table row(s) start with the trials of commit "
                               f"aaaa1111 (a row names its trials after 'commits '); add the row once by hand from "
                               f"--markdown, then --write keeps it\n")
        assert readme.read_text() == "\n".join(lines)  # untouched
    proc = subprocess.run(script[:-2] + ["--write", str(tmp_path / "none.md")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.endswith("none.md: no such file; give the README that holds the row\n")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gate_figures.py"), "--write", str(readme)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == f"gate_figures.py: error: --write {readme} rewrites a README row; it goes with --markdown"


def test_gate_figures_write_keeps_a_two_trial_row_and_crlf_and_says_unchanged(tmp_path):
    """A row of two trials names them "commits A and B" (`_each`), which --write must find again on the next
    trial; a README with CRLF line endings keeps them; a second --write finds the row already the ledger's and
    writes nothing; a file that is not UTF-8 is named and left alone. Bugs caught: the row matched only by "A," or
    "A;" (a two-trial row lost after one --write), CRLF turned into LF through the whole file, "rewritten" said of
    a file left as it was, a decoding traceback."""
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("".join(json.dumps(t) + "\n" for t in LEDGER_ROW_TRIALS[:2]))
    row = _figures().markdown_row(LEDGER_ROW_TRIALS[:2])
    assert row.startswith("| commits aaaa1111 and bbbb2222; ")
    readme = tmp_path / "README.md"
    readme.write_bytes(b"# Figures\r\n| label: commits aaaa1111; one trial | old |\r\nend\r\n")
    script = [sys.executable, str(ROOT / "scripts" / "gate_figures.py"), "--markdown", "--ledger", str(ledger),
              "--budget", "2400", "--max-rounds", "60", "--write", str(readme)]
    want = ("# Figures\r\n| label: " + row.removeprefix("| ") + "\r\nend\r\n").encode()
    for said in ("rewritten", "unchanged"):
        proc = subprocess.run(script, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and proc.stdout == f"{readme}: the row of 2 trial(s) {said} from {ledger}\n"
        assert readme.read_bytes() == want
    readme.write_bytes(b"| label: commits aaaa1111; \xff |\n")  # not UTF-8: named, left as it was
    proc = subprocess.run(script, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr == (f"gate_figures.py: --write {readme}: not UTF-8 text (invalid start byte at byte 27); give "
                           "the README that holds the row\n")
    assert readme.read_bytes() == b"| label: commits aaaa1111; \xff |\n"


def test_the_scripts_help_states_the_targets_it_prints():
    """gate_figures.py's help (its module docstring) states the targets and default trial counts in words; they
    must be the constants `markdown_row` prints and the figures default to. Bug caught: AA_TRIALS or the
    detection target changed and the help left saying 0/20, >= 9/10."""
    figures = _figures()
    doc = " ".join(figures.__doc__.split())
    for phrase in (f"`--trials` gate runs (default {figures.AA_TRIALS}); a trial with any decided slower/faster case "
                   f"is a false alarm. Target: 0/{figures.AA_TRIALS}.",
                   f"detected k/`--trials` (default {figures.INJECT_TRIALS}) and the time each gate run took. "
                   f"Target: >= {figures.INJECT_DETECTED}/{figures.INJECT_TRIALS}."):
        assert phrase in doc, phrase


def test_spread_anatomy_takes_each_cases_order_effect_out_exactly():
    """Case A swings +-0.1 with the side that runs first (a pure order effect), case B +-0.1 whichever
    ran first, case C has one round after-first only (not counted). Bugs caught: the order effect's
    sign (the side run second reads slower: x1.05, not x0.95), n - 1 for the within-order df, counting
    case C, rounds beyond the first ones."""
    from torchperf_core.gate import RoundPair

    figures = _figures()
    e = math.exp

    def case(*rounds):
        return SimpleNamespace(per_round=tuple(RoundPair(*r) for r in rounds))

    a = case((1, 0, 1.0, e(0.1)), (2, 1, 1.0, e(-0.1)), (3, 0, 1.0, e(0.1)), (4, 1, 1.0, e(-0.1)), (5, 0, 1.0, e(0.1)),
             (6, 1, 1.0, e(-0.1)))
    b = case((1, 0, 2.0, 2 * e(0.2)), (2, 1, 2.0, 2.0), (3, 1, 2.0, 2 * e(0.2)), (4, 0, 2.0, 2.0))
    c = case((1, 1, 1.0, 3.0), (2, 0, 1.0, 1.0), (3, 0, 1.0, 1.0))
    got = figures.spread_anatomy([a, b, c], first_rounds=4)
    # A: six rounds, +-0.1 about 0, ss 0.06 over 5 df; B: ss 0.04 over 3 df; within: A 0, B 0.04 over 4 + 2 df
    assert got["cases"] == 2
    assert got["spread"] == pytest.approx(math.sqrt(0.10 / 8))
    assert got["within_order"] == pytest.approx(math.sqrt(0.04 / 6))
    assert got["second_side"] == pytest.approx(e(0.05))  # median of A's 0.1 and B's 0
    assert got["rounds"] == pytest.approx([e(0.15), e(-0.05), e(0.15), e(-0.05)])  # rounds 5-6 left out
    assert figures.spread_anatomy([c], first_rounds=4) is None


def test_a_change_the_signed_rank_test_decided_says_so_in_its_note():
    """17 rounds at +5% and 3 with the after side slowed 50-70% more: the t-test's spread follows the
    three, the signed-rank test decides (the verdict rule: tests/test_verdict_replicates.py). Bugs
    caught: the note dropped for a decided case, a t-test decision given the signed-rank note."""
    from torchperf_core.gate import RoundPair
    from torchperf_core.gate.rounds import _Case, _judge, _outcome
    from torchperf_core.verdict import SIGNED_RANK, T_TEST, signed_rank_note

    plan, alpha = GatePlan(factor=1.03), per_case_alpha(146, 7)
    steady = [RoundPair(i + 1, i % 2, 1.0, 1.05 * (1 + 0.01 * ((i % 3) - 1))) for i in range(17)]
    case = _Case("b.T.time_mm", "(1024,)", 0, pairs=steady + [RoundPair(18 + i, i % 2, 1.0, a) for i, a in enumerate((1.5, 1.6, 1.7))])
    _judge(case, plan, alpha)
    out = _outcome(case)
    assert (out.verdict, out.judgement.decided_by) == ("slower", SIGNED_RANK)
    assert out.reason == signed_rank_note(out.judgement) and out.reason.startswith("decided by the signed-rank test (p 1.9e-06 over 20 rounds")
    clean = _Case("b.T.time_mm", "(1024,)", 0, pairs=steady)
    _judge(clean, plan, alpha)
    out = _outcome(clean)
    assert (out.verdict, out.judgement.decided_by, out.reason) == ("slower", T_TEST, None)

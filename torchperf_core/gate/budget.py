"""How the gate shares a --budget among the undecided cases it re-measures (docs/GATE.md, "Out of reach
within the budget" and "Nearest first"): which cases the rounds the budget cannot pay for all go to, and
the note beside a case set aside. `gate.rounds.run_gate` calls one of these rules after each look."""

from __future__ import annotations

import math
from typing import Any, Callable, Protocol, Sequence

from torchperf_core.render import format_seconds
from torchperf_core.verdict import MIN_ROUNDS, UNKNOWN, PairedJudgement, out_of_reach, reach, spread_text


class _Plan(Protocol):
    """What a rule reads of the gate's plan (gate.rounds.GatePlan)."""

    factor: float
    max_rounds: int


class _Case(Protocol):
    """What a rule reads and sets of a case in the rounds (gate.rounds._Case)."""

    index: int
    pairs: list[Any]
    contended: int
    final: str | None
    judgement: PairedJudgement | None
    out_of_reach: str | None
    budget_look: int | None
    seconds: float


# What a case set aside for the budget should do next (both rules' notes end with it)
BUDGET_REMEDY = "re-measure with a larger --budget or on a quieter machine"

# Which cases the added rounds re-measure, by how the budget is shared (--budget-share; figures'
# ledgers are summed only within one rule): every undecided case within reach (verdict.reach)
# by max_rounds; none that is out of reach; where --budget cannot pay for that,
#   even     the cases within reach by the last round the budget affords them all (`afford_rounds`)
#   nearest  the cases whose decision is nearest: each priced only up to the first round at which its
#            decision is plausible, the cases kept up to the last such round the budget pays for
#            (`share_nearest`), so that a cheap case a few rounds short of its verdict is not set aside
#            because every other case would be paid for to the same round
# (One trial in docs/figures/gate-tier-default.jsonl, at fa50f6c3, ran under a first draft of "nearest",
# "undecided within reach, the budget's rounds to the cases nearest a decision first": cases kept
# cheapest first by price; it is summed apart.)
REMEASURE_RULES = {"even": "undecided within reach of the rounds the budget affords",
                   "nearest": "undecided within reach, each priced to its own first plausible round, up to the "
                              "last such round the budget pays for"}


def afford_rounds(cases: Sequence[_Case], plan: _Plan, rounds: int, left: float, overhead: float) -> int:
    """Futility within the budget: where `left` seconds cannot pay for rounds up to max_rounds, the
    last round is the one the budget affords, and the undecided cases out of reach by it stop being
    re-measured (their reason says so), so that the rounds left go to the cases they can decide.

    The cases kept decide the price of a round, and the rounds decide which cases are kept: h, the
    last round, is the largest with  rounds + left / (overhead + sum of the kept cases' seconds) >= h,
    where a case is kept when it is within reach (verdict.reach) at its clean rounds plus
    h - rounds; nothing changes when the budget affords max_rounds or a round's price is unknown.
    Marks each case it sets aside with this look (`budget_look`) and returns how many (all for the
    budget: a case that its disturbed rounds leave short of reach by max_rounds is among them, which
    share_nearest attributes to --max-rounds and does not mark). A case once out of reach stays so: as
    with the max_rounds rule, stopping only removes chances to reject, so the false-alarm bound is
    unchanged."""
    live = _priced_by_budget(cases)

    def kept(h: int) -> list[_Case]:
        return [c for c in live if reach(c.judgement, plan.factor, c.judgement.rounds + h - rounds) is None]

    def affords(h: int) -> bool:
        price = overhead + sum(c.seconds for c in kept(h))
        return price <= 0.0 or rounds + left / price >= h

    if not live or affords(plan.max_rounds):
        return 0
    h = next((h for h in range(plan.max_rounds - 1, rounds, -1) if affords(h)), rounds)
    for c in live:
        assert c.judgement is not None
        j, m = c.judgement, c.judgement.rounds + h - rounds
        beyond = reach(j, plan.factor, m)
        if beyond is not None:
            c.out_of_reach = (f"undecided after {j.rounds} clean round(s) and out of reach within the budget: at its "
                              f"spread between rounds ({spread_text(j, m)}), the {m} rounds the budget affords could "
                              f"decide only a change beyond x{beyond:.3f}: {BUDGET_REMEDY}")
            c.budget_look = rounds
    return sum(c.budget_look == rounds for c in live)


def reach_round(j: PairedJudgement, factor: float, rounds: int, max_rounds: int) -> int | None:
    """The first round after `rounds` (the gate's count) by whose end a case judged `j` would be within
    reach (verdict.reach at its clean rounds plus the rounds added, every one of them clean), and
    not before it has the MIN_ROUNDS clean rounds a judgement needs; None when no round by max_rounds is."""
    first = rounds + max(1, MIN_ROUNDS - j.rounds)
    return next((h for h in range(first, max_rounds + 1)
                 if reach(j, factor, j.rounds + h - rounds) is None), None)


def share_nearest(cases: Sequence[_Case], plan: _Plan, rounds: int, left: float, overhead: float) -> int:
    """--budget-share nearest: where `left` seconds cannot pay for every undecided case within reach, the
    rounds go to the cases whose decision is nearest, and the others stop being re-measured (their
    reason says why).

    A case's round is the first at which its decision is plausible (`reach_round`, every round clean),
    stretched by its share of clean rounds so far ((clean + 1) / (rounds taken + 1): one disturbed round
    in ten adds a tenth; a case none of whose rounds came back clean is not written off, only dear); not
    past max_rounds. Its price is its seconds in the last round times the rounds to its round: each case
    is priced to its own round, not to the last. The last round paid for, H, is the largest of those
    rounds with
        start-up x (H - rounds) + the prices of the cases whose round is H or sooner  <=  left
    and those cases are kept. Prices are set again at every look. As with the max_rounds rule, stopping
    a case only removes chances to reject, so the false-alarm bound is unchanged. With nothing left,
    nothing changes: the budget ends the run. Marks each case it sets aside for the budget with this look
    (`budget_look`) and returns how many (not those no round by max_rounds can decide: a case whose
    disturbed rounds leave it short of reach)."""
    if left <= 0.0:
        return 0
    live = _priced_by_budget(cases)
    due: dict[int, tuple[int, float]] = {}  # index -> (its round, its price)
    for c in live:
        assert c.judgement is not None
        h = reach_round(c.judgement, plan.factor, rounds, plan.max_rounds)
        if h is not None:
            share = (len(c.pairs) + 1) / (len(c.pairs) + c.contended + 1)
            end = min(plan.max_rounds, rounds + math.ceil((h - rounds) / share))
            due[c.index] = (end, c.seconds * (end - rounds))

    def cost(last: int) -> float:
        return overhead * (last - rounds) + sum(price for end, price in due.values() if end <= last)

    paid = max((end for end, _ in due.values() if cost(end) <= left), default=None)
    kept = sum(end <= paid for end, _ in due.values()) if paid is not None else 0
    for c in live:
        j = c.judgement
        assert j is not None
        if c.index not in due:  # within reach by max_rounds clean rounds, not by the rounds left to take them
            c.out_of_reach = out_of_reach(j, plan.factor, j.rounds + plan.max_rounds - rounds) or (
                f"undecided after {j.rounds} clean round(s): the rounds left by --max-rounds {plan.max_rounds} "
                f"cannot decide it: re-measure on a quieter machine")
            continue
        end = due[c.index][0]
        if paid is not None and end <= paid:
            continue
        spread = f" at its spread between rounds ({spread_text(j, j.rounds + end - rounds)})" if j.spread else ""
        secs = format_seconds(left)  # 0.5 s left is not "0 s"
        went = (f"the {secs} the budget had left pay for rounds up to {paid}, for {kept} case(s) whose decision "
                f"is plausible by then" if paid is not None else f"later than the {secs} the budget had left reach")
        c.out_of_reach = (f"undecided after {j.rounds} clean round(s){spread}: a decision is plausible at round {end} "
                          f"at the earliest, {went}: {BUDGET_REMEDY}")
        c.budget_look = rounds
    return sum(c.budget_look == rounds for c in live)


def _priced_by_budget(cases: Sequence[_Case]) -> list[_Case]:
    """The cases a budget rule prices: undecided (judged unknown), still re-measured."""
    return [c for c in cases if c.final is None and c.out_of_reach is None
            and c.judgement is not None and c.judgement.verdict == UNKNOWN]


# --budget-share -> its rule, called after each look with the seconds left and the workers' start-up; it
# marks each case it sets aside for the budget with the look (`budget_look`: where that look leaves no case
# re-measured, the budget ended the run) and returns how many it marked
BUDGET_RULES: dict[str, Callable[[Sequence[_Case], _Plan, int, float, float], int]] = {
    "even": afford_rounds, "nearest": share_nearest}
BUDGET_SHARES = tuple(BUDGET_RULES)
assert set(BUDGET_SHARES) == set(REMEASURE_RULES)  # a rule without its ledger name would sum unlike trials

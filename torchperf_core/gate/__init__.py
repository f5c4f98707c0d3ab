"""The PR gate (`torchperf continuous`): base and head interleaved in rounds of fresh processes,
judged with the one significance module at a stated family-wise false-alarm rate, re-measuring the
undecided cases until decided or the budget is spent (issue 11, part 4; docs/GATE.md)."""

from torchperf_core.gate.pairs import INTERLEAVES
from torchperf_core.gate.report import GATE_FORMAT_VERSION, report_output, report_to_json
from torchperf_core.gate.report import report_output as render_gate  # the name callers know
from torchperf_core.gate.budget import BUDGET_SHARES
from torchperf_core.gate.rounds import (CaseOutcome, GatePlan, GateReport, RoundPair, first_side, run_gate,
                                        run_once)
from torchperf_core.gate.sides import GATE_DIR, GateSide, commit_sides, extract_tree, torch_pythons, version_sides
from torchperf_core.gate.counts import COUNT_BENCHMARK, SideCounts, add_counts, collect_side, judge_sides

__all__ = [
    "BUDGET_SHARES", "GATE_DIR", "GATE_FORMAT_VERSION", "INTERLEAVES", "CaseOutcome", "GatePlan", "GateReport", "GateSide", "RoundPair", "commit_sides",
    "extract_tree", "first_side", "render_gate", "report_output", "report_to_json", "run_gate", "run_once", "torch_pythons",
    "version_sides",
    "COUNT_BENCHMARK", "SideCounts", "add_counts", "collect_side", "judge_sides",
]  # fmt: skip

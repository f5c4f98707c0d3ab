"""The ISA-axis lines under a comparison: one line per changed case that was also run at forced
ISA levels (`torchperf run --isa avx2`), its ratio at each level and what that says (docs/ISA.md).

Text only: the levels, verdicts and conclusions are `compare.isa_findings`'.
"""

from __future__ import annotations

from torchperf_core.compare import ISA_DISPATCH, ISA_KERNEL, ISA_OP, SLOWER, Comparison, IsaFinding

TITLE = "ISA levels (the same wheel at forced ATen/oneDNN levels)"


def _level_text(finding: IsaFinding) -> str:
    return ", ".join(f"{lv.level} {'n/a' if lv.ratio is None else f'{lv.ratio:.2f}'} ({lv.verdict})"
                     for lv in finding.levels)


def conclusion_text(finding: IsaFinding) -> str:
    """The conclusion in words: "kernel regression at avx2 only", "dispatch: the default level now
    runs the avx2 kernel (was avx512)", "all levels: the op itself", or "no conclusion: <why>"."""
    if finding.conclusion == ISA_KERNEL:
        what = "regression" if finding.direction == SLOWER else "improvement"
        return f"kernel {what} at {finding.levels_changed[0]} only"
    if finding.conclusion == ISA_DISPATCH:
        now, was = (finding.now_runs or "?").lower(), (finding.ran or "?").lower()
        return f"dispatch: the default level now runs the {now} kernel (was {was})"
    if finding.conclusion == ISA_OP:
        return "all levels: the op itself"
    return f"no conclusion: {finding.undecided}"


def isa_lines(c: Comparison) -> list[str]:
    """One plain line per finding (no markup; text and markdown both use them)."""
    return [f"{f.name} [{f.env}]: {_level_text(f)} → {conclusion_text(f)}" for f in c.isa_findings]

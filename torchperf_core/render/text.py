"""Text rendering: tables and numbers. Formatters return strings; they never compute statistics."""

from __future__ import annotations

import math
from typing import Iterable, Sequence


def format_time(seconds: float | None, missing: str = "—") -> str:
    """Seconds in the most readable unit, 3 significant digits: 12.3 µs, 4.56 ms, 1.20 s."""
    if seconds is None or not math.isfinite(seconds):
        return missing
    magnitude = abs(seconds)
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if magnitude >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_seconds(seconds: float) -> str:
    """A span of seconds as a sentence gives it: whole seconds from 10 s ("2400 s"), tenths below ("1.5 s",
    not "2 s"), milliseconds under 0.05 s ("40.0 ms", not "0 s"); never an exponent."""
    if seconds >= 10.0:
        return f"{seconds:.0f} s"
    if seconds >= 0.05:
        return f"{round(seconds, 1):g} s"
    return f"{seconds * 1e3:.1f} ms"


def format_interval(ci: Sequence[float] | None, missing: str = "—") -> str:
    """A ratio's confidence interval as every surface writes it: "0.994–1.002"."""
    return missing if ci is None else f"{ci[0]:.3f}–{ci[1]:.3f}"


def format_rate(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f} {unit}" if value < 1e5 else f"{value:,.0f} {unit}"


def format_percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction:.0%}"


def format_error_rate(rate: float) -> str:
    """A stated error rate as a percent with the digits it was given: 5%, 1%, 0.5% (where ".0%" would print 0%)."""
    return f"{rate * 100:.3g}%"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str | None = None) -> str:
    """A plain aligned text table. `align` is one char per column: 'l' or 'r' (default: l then r)."""
    cols = len(headers)
    align = align or ("l" + "r" * (cols - 1))
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            out.append(cell.ljust(widths[i]) if align[i] == "l" else cell.rjust(widths[i]))
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def undecided_headline(unknown: int, contended: int, exit_code: int, noun: str, not_counted_as: str) -> str | None:
    """The line said on top when cases (or steps) are undecided: they are neither regressions nor
    unchanged, and the exit status does not count them (issue 11: said at the top, not only at the
    bottom). One wording for `compare` and `regressions`."""
    if not unknown and not contended:
        return None
    parts = []
    if contended:
        parts.append(f"{plural(contended, noun)} contended: re-run on a quiet machine")
    if unknown:
        parts.append(f"{plural(unknown, noun)} unknown: re-measure")
    status = "exit status 1 for the decided regressions only" if exit_code else "exit status 0: no decided regression"
    return "UNDECIDED: " + "; ".join(parts) + f" ({status}; these are not counted as {not_counted_as})"



def md_escape(text: str) -> str:
    """A markdown table cell: a pipe would end the cell, and < > would open HTML."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str | None = None) -> str:
    """A markdown table, every cell escaped (a blank cell stays blank). `align`: one letter per column,
    l/r/c (default: the comparison table's c r r r r l l l)."""
    align = align or "crrrr" + "l" * max(0, len(headers) - 5)
    head = "| " + " | ".join(md_escape(h) or " " for h in headers) + " |"
    rule = {"l": "---", "r": "---:", "c": ":-:"}
    sep = "|" + "|".join(rule[a] for a in align) + "|"
    body = ["| " + " | ".join(md_escape(str(x)) if str(x).strip() else " " for x in r) + " |" for r in rows]
    return "\n".join([head, sep] + body)

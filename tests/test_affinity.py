"""CPU pinning: list parsing, errors, and the mask really inherited by a child process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from torchperf_core.engine import affinity
from torchperf_core.engine.affinity import (apply_affinity, current_affinity, format_cpu_list, parse_cpu_list,
                                     parse_cpu_ranges)
from torchperf_core.errors import TorchperfError


@pytest.mark.parametrize("text,cpus", [
    ("0", (0,)), ("0-3,6", (0, 1, 2, 3, 6)), (" 3,1 , 2 ", (1, 2, 3)), ("1-1", (1,)), ("0,0-1", (0, 1)),
    ("", ()), ("\n", ()),
])
def test_parse_cpu_ranges(text, cpus):
    assert parse_cpu_ranges(text) == cpus


@pytest.mark.parametrize("text", ["a", "1-", "-1", "3-1", "1,,2", "1.5", "0-x", ","])
def test_parse_cpu_ranges_rejects(text):
    with pytest.raises(ValueError):
        parse_cpu_ranges(text)


def test_format_cpu_list_inverts_parse():
    assert format_cpu_list((0, 1, 2, 3, 6, 8, 9)) == "0-3,6,8-9"
    assert parse_cpu_ranges(format_cpu_list((5, 0, 2, 1))) == (0, 1, 2, 5)


def test_parse_cpu_list_malformed_names_value_and_allowed():
    allowed = format_cpu_list(current_affinity())
    with pytest.raises(TorchperfError, match=rf"bad item 'x' in CPU list '0,x'.*from {allowed}"):
        parse_cpu_list("0,x")
    with pytest.raises(TorchperfError, match="empty CPU list"):
        parse_cpu_list(" ")


def test_parse_cpu_list_rejects_cpus_outside_affinity():
    allowed = current_affinity()
    missing = max(allowed) + 1000
    with pytest.raises(TorchperfError) as info:
        parse_cpu_list(f"{allowed[0]},{missing}")
    message = str(info.value)
    assert f"CPU {missing} not available" in message
    assert f"allowed CPUs: {format_cpu_list(allowed)}" in message


def test_parse_cpu_list_accepts_allowed():
    allowed = current_affinity()
    assert parse_cpu_list(format_cpu_list(allowed)) == allowed


def _child_affinity() -> tuple[int, ...]:
    out = subprocess.run([sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
                         capture_output=True, text=True, check=True).stdout
    return tuple(int(x) for x in out.strip().strip("[]").split(","))


def test_apply_affinity_is_inherited_by_children():
    original = current_affinity()
    target = (original[-1],)
    try:
        assert apply_affinity(target) == target
        assert current_affinity() == target
        assert _child_affinity() == target
    finally:
        os.sched_setaffinity(0, set(original))
    assert current_affinity() == original


def test_apply_affinity_failure_is_user_error(monkeypatch):
    def refuse(pid, cpus):
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(affinity.os, "sched_setaffinity", refuse)
    with pytest.raises(TorchperfError, match="cannot pin to CPUs 0-1"):
        apply_affinity((0, 1))

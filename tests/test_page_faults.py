"""scripts/page_faults.py: the page faults of a call's output, as is and with freed memory kept (real processes,
real torch, real glibc; the script's times are printed, never asserted here)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = [sys.executable, str(ROOT / "scripts" / "page_faults.py")]


@pytest.mark.parametrize("case, message", [
    (["addd", "4096", "float32"], "--case addd 4096 float32: unknown op 'addd'; accepted: mm, "),
    (["add", "4096", "float31"], "--case add 4096 float31: unknown dtype 'float31'; accepted: float32, "),
    (["add", "big", "float32"], "--case add big float32: malformed size 'big' for add; accepted: an integer"),
])
def test_a_bad_case_is_refused_in_one_line_before_anything_runs(case, message, tmp_path):
    out = tmp_path / "figures.json"
    proc = subprocess.run(SCRIPT + ["--case", *case, "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(f"page_faults.py: error: {message}")
    assert not out.exists()


def test_processes_must_be_at_least_one():
    proc = subprocess.run(SCRIPT + ["--processes", "0"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.splitlines()[-1] == "page_faults.py: error: --processes 0 must be >= 1"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the thresholds are glibc's environment variables")
def test_a_64_mib_output_faults_in_every_page_as_is_and_none_with_freed_memory_kept(tmp_path):
    """fp32 add 4096²: a 64 MiB output, above glibc's largest dynamic mmap threshold (32 MiB), so as is each call
    mmaps it afresh and faults in each of its pages (plus at most a few for malloc's header and alignment);
    with the thresholds raised the freed output is reused and no page faults. Catches: the settings not
    reaching the child, faults not divided by the calls counted, the rows' settings swapped."""
    out = tmp_path / "figures.json"
    proc = subprocess.run(SCRIPT + ["--case", "add", "4096", "float32", "--processes", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [(r["case"], r["setting"], len(r["faults"]), len(r["seconds"])) for r in rows] == [
        ("add 4096 float32", "as is", 1, 1), ("add 4096 float32", "freed memory kept", 1, 1)]
    pages = 4096 * 4096 * 4 // os.sysconf("SC_PAGE_SIZE")
    assert pages <= rows[0]["faults"][0] <= pages + 4
    assert rows[1]["faults"][0] == 0
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("page faults of a call's output: ") and "1 process(es) per row" in lines[0]
    assert f"page faults a call: {rows[0]['faults'][0]:.0f}" in lines[1] and lines[1].split()[3:5] == ["as", "is"]
    assert lines[2].rstrip().endswith("page faults a call: 0") and "freed memory kept" in lines[2]
    assert "the faults' share of the median call as is: " in lines[3]

"""Hostile benchmark parameters, machine and environment names in compare's text, markdown and
JSON output: markup is escaped, table rows stay rows, terminal control characters never reach
the screen raw, and nothing is used as a path.

(The published pages are covered by tests/test_site.py::test_hostile_names_are_escaped_everywhere_and_never_paths
and, template by template, by tests/test_site_pages.py.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.compare_helpers import BASE, HEAD, MACHINE, copy_fixture, run_cli

HOSTILE = "<script>alert(1)</script>|\"quo'te\"|../../etc/passwd|\x1b[31mred\x1b[0m|\r\nnew"
OLD_VALUE = "'bfloat16'"


def _hostile_run(tmp_path: Path) -> Path:
    run = copy_fixture(tmp_path)
    new_value = repr(HOSTILE)
    bench_path = run / "results" / "benchmarks.json"
    benchmarks = json.loads(bench_path.read_text())
    info = benchmarks["bench_toy.MatMul.time_mm"]
    info["params"][0] = [new_value if v == OLD_VALUE else v for v in info["params"][0]]
    bench_path.write_text(json.dumps(benchmarks))
    for path in (run / "results" / MACHINE).glob("*-*.json"):
        data = json.loads(path.read_text())
        col = data["result_columns"].index("params")
        row = data["results"].get("bench_toy.MatMul.time_mm")
        if row and len(row) > col:
            row[col][0] = [new_value if v == OLD_VALUE else v for v in row[col][0]]
        path.write_text(json.dumps(data))
    return run


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_hostile_parameter_values_are_inert_in_compare_output(tmp_path, capsys, monkeypatch, fmt) -> None:
    run = _hostile_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "compare", BASE, HEAD, "--results-dir", str(run / "results"), "--format", fmt)
    assert code == 1, err  # the fixture holds a significant slowdown (as in the commits golden)
    assert "alert(1)" in out  # the case is shown, not dropped
    assert "\x1b" not in out and "\r" not in out  # no terminal control sequence reaches the screen
    assert not (tmp_path / "etc").exists() and not list(tmp_path.rglob("passwd"))
    if fmt == "markdown":
        assert "<script" not in out
        table = [line for line in out.splitlines() if line.startswith("|")]
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in table}
        assert len(widths) <= 2, widths  # each table keeps its columns (the hostile '|' is escaped)
        assert all("alert" not in line or line.startswith("|") for line in out.splitlines() if "alert" in line)
    if fmt == "json":
        assert "alert(1)" in json.dumps(json.loads(out))  # valid JSON, value kept as data


def test_a_machine_name_inside_machine_json_is_never_a_path(tmp_path: Path) -> None:
    """machine.json says "../outside": the store keeps the folder's own name and reads nothing else."""
    from torchperf_core.store import ResultsStore

    run = copy_fixture(tmp_path)
    machine_json = run / "results" / MACHINE / "machine.json"
    data = json.loads(machine_json.read_text())
    data["machine"] = "../outside"
    machine_json.write_text(json.dumps(data))
    outside = run / "outside"
    outside.mkdir()
    (outside / "machine.json").write_text(json.dumps(data))
    store = ResultsStore(run / "results")
    assert store.machines() == [MACHINE]
    assert all(f.path.parent == run / "results" / MACHINE for f in store.files(MACHINE))

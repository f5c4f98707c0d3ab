"""Shared helpers for the compare/regressions tests: run the CLI, check golden files, edit copies of
the real asv fixture results with asv's own column layout."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from torchperf_core.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path("tests/fixtures/compare_run_v1")  # relative: outputs name files as the user gave them
GOLDEN = ROOT / "tests" / "golden"
BASE, HEAD = "b8a3a8cb", "b151c94f"
MACHINE = "cmpbox"
UPDATE = os.environ.get("TORCHPERF_UPDATE_GOLDEN") == "1"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def check_golden(name: str, text: str) -> None:
    """Compare with tests/golden/<name>; TORCHPERF_UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path} (TORCHPERF_UPDATE_GOLDEN=1 writes it)"
    assert text == path.read_text(encoding="utf-8"), f"output differs from {path} (TORCHPERF_UPDATE_GOLDEN=1 to accept)"


def copy_fixture(tmp_path: Path) -> Path:
    dest = tmp_path / "run"
    shutil.copytree(ROOT / FIXTURE / "results", dest / "results")
    shutil.copytree(ROOT / FIXTURE / "meta", dest / "meta")
    return dest


def results_file(run: Path, commit: str, torch: str) -> Path:
    return run / "results" / MACHINE / f"{commit}-virtualenv-py3.11-torch{torch}.json"


def scale_result(path: Path, benchmark: str, index: int, factor: float) -> None:
    """Multiply one parameter set's stored timing (value, CI, quartiles, samples) by `factor`."""
    data = json.loads(path.read_text())
    columns = data["result_columns"]
    row = data["results"][benchmark]
    for name in ("result", "stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75"):
        col = columns.index(name)
        if col < len(row) and row[col] is not None and row[col][index] is not None:
            row[col][index] *= factor
    col = columns.index("samples")
    if col < len(row) and row[col] is not None and row[col][index] is not None:
        row[col][index] = [x * factor for x in row[col][index]]
    path.write_text(json.dumps(data))


def set_column(path: Path, benchmark: str, column: str, value: object) -> None:
    data = json.loads(path.read_text())
    columns = data["result_columns"]
    row = data["results"][benchmark]
    col = columns.index(column)
    while len(row) <= col:
        row.append(None)
    row[col] = value
    path.write_text(json.dumps(data))


def drop_benchmark(path: Path, benchmark: str) -> None:
    data = json.loads(path.read_text())
    del data["results"][benchmark]
    path.write_text(json.dumps(data))


def edit_sidecar(run: Path, results: Path, fn) -> None:
    path = run / "meta" / MACHINE / results.name
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))

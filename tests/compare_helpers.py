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


def copy_fixture(tmp_path: Path, *, replicated: bool = True) -> Path:
    """A copy of the fixture; `replicated`: its sidecars also carry three run medians per case
    (`replicate`), so asv's decided verdicts stay decided under the between-run rule (issue 11)."""
    dest = tmp_path / "run"
    shutil.copytree(ROOT / FIXTURE / "results", dest / "results")
    shutil.copytree(ROOT / FIXTURE / "meta", dest / "meta")
    if replicated:
        replicate(dest)
    return dest


RUN_JITTER = (0.99, 1.01, 1.0)  # three runs per side; the last is asv's result (its value)


def _case_values(results: Path) -> dict[str, dict[str, float]]:
    """{benchmark: {asv param key: value}} for every finite result in one asv results file."""
    import itertools
    import math

    data = json.loads(results.read_text())
    columns = data["result_columns"]
    out: dict[str, dict[str, float]] = {}
    for name, row in data["results"].items():
        params = row[columns.index("params")] if len(row) > columns.index("params") else []
        values = row[columns.index("result")] or []
        for combo, value in zip(itertools.product(*params) if params else [()], values):
            if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
                out.setdefault(name, {})["(" + ", ".join(combo) + ")"] = float(value)
    return out


def replicate(run: Path, jitter: tuple[float, ...] = RUN_JITTER, machine: str = MACHINE) -> None:
    """Write each results file's current values into its sidecar as `run_medians` (format 2): one
    median per run, value × jitter. Call again after editing results so the runs agree with them."""
    for results in sorted((run / "results" / machine).glob("*-*.json")):
        sidecar = run / "meta" / machine / results.name
        if not sidecar.is_file():
            continue
        data = json.loads(sidecar.read_text())
        data["format_version"] = 2
        data["cases"] = {
            name: {key: {"threads": 2, "contention": None, "run_medians": [value * j for j in jitter]}
                   for key, value in by_key.items()}
            for name, by_key in _case_values(results).items()
        }
        sidecar.write_text(json.dumps(data))


CONTENTION = {"attempts": 40, "disturbed": 31, "contended": True, "cause": "run-queue wait 41% of wall: another process ran",
              "wait_fraction": 0.41, "steal_fraction": 0.0, "others_fraction": 0.48}


def set_case(run: Path, results: Path, benchmark: str, key: str, *, run_medians: list[float] | None = None,
             contended: bool = False, drop: bool = False) -> None:
    """Edit one case's record in a results file's sidecar: its run medians, contended, or no record
    (the sidecar is `run/meta/<machine>/<results file name>`, the machine being the results' folder)."""
    def edit(data: dict) -> None:
        cases = data.setdefault("cases", {}).setdefault(benchmark, {})
        if drop:
            cases.pop(key, None)
            return
        record = cases.setdefault(key, {"threads": 2, "contention": None, "run_medians": []})
        if run_medians is not None:
            record["run_medians"] = run_medians
        if contended:
            record["contention"] = dict(CONTENTION)
    edit_sidecar(run, results, edit)


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
    path = run / "meta" / results.parent.name / results.name
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))

"""The factor and the verdicts it decides, pinned through every door: `verdict.judge`, `torchperf
compare` (commits, a torch pair, a torch matrix) and the site's `version_rows`.

The fixtures are copies of the real asv results of tests/fixtures/compare_run_v1 in which every side
is a byte copy of one results file except the changes made here, so each verdict is decided by the
fixture: one slowdown of 8.5% (between torchperf's default factor 1.07 and asv's 1.1), one 50%
slowdown, one 2x speed-up, and one noisy 20% "change" whose samples overlap (beyond the factor, not
significant: "unknown", re-measure, since issue 11 — never "unchanged"). Every side's sidecar carries
three run medians agreeing with its values (`replicate`), so the between-run rule lets asv's decided
verdicts stand. A factor that is ignored, hard-coded or replaced by asv's default flips an exit code
here; a site that calls every change significant turns the noisy row into "slower".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pytest
from asv_runner.statistics import compute_stats

from tests.compare_helpers import BASE, HEAD, MACHINE, ROOT, copy_fixture, replicate, results_file, run_cli, scale_result
from torchperf_core import compare as cmp
from torchperf_core import verdict
from torchperf_core.compare import Source
from torchperf_core.site import load_site, version_rows

WORK = "bench_toy.Work.time_work"
# time_work's parameter sets in asv's flat order (the last parameter varies fastest).
STEADY_1, STEADY_2, SLOWER_1, SLOWER_2, FASTER_1, FASTER_2 = range(6)
BETWEEN = 1.085  # above the default factor 1.07, below asv's 1.1
NOISY_BASE = [i * 1e-3 for i in range(1, 11)]  # 1..10 ms: wide, so a 20% shift is not significant


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


# ------------------------------------------------------------------------------------- fixtures


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _clone(data: dict[str, Any], dest: Path, *, torch: str | None = None, commit: str | None = None) -> None:
    """Write `data` as another side: another torch version of the environment, or another commit."""
    out = json.loads(json.dumps(data))
    if torch is not None:
        out["env_name"] = f"virtualenv-py3.11-torch{torch}"
        out["params"]["torch"] = torch
        out["requirements"] = {"torch": torch}
    if commit is not None:
        out["commit_hash"] = commit
    dest.write_text(json.dumps(out))


def _set_samples(path: Path, benchmark: str, index: int, samples: Sequence[float]) -> None:
    """Replace one parameter set's raw samples and the statistics asv would store for them."""
    data = _load(path)
    columns = data["result_columns"]
    row = data["results"][benchmark]
    value, st = compute_stats(list(samples), 1)
    for column, new in (
        ("result", value), ("stats_ci_99_a", st["ci_99_a"]), ("stats_ci_99_b", st["ci_99_b"]),
        ("stats_q_25", st["q_25"]), ("stats_q_75", st["q_75"]), ("stats_number", 1),
        ("stats_repeat", len(samples)), ("samples", list(samples)),
    ):  # fmt: skip
        row[columns.index(column)][index] = new
    path.write_text(json.dumps(data))


def torch_run(tmp_path: Path, *, mix: bool) -> tuple[Path, str]:
    """Torch 2.12.0, 2.13.0 and 2.14.1 at HEAD, all copies of HEAD's 2.13.0 results; then 2.14.1
    gets the 8.5% slowdown of ('steady', 1) and, with `mix`, a 50% slowdown, a 2x speed-up and a
    noisy 20% shift. Returns the results directory and HEAD's full hash."""
    run = copy_fixture(tmp_path)
    middle = results_file(run, HEAD, "2.13.0")
    if mix:
        _set_samples(middle, "bench_toy.time_plain", 0, NOISY_BASE)
    data = _load(middle)
    for version in ("2.12.0", "2.14.1"):
        _clone(data, results_file(run, HEAD, version), torch=version)
    last = results_file(run, HEAD, "2.14.1")
    scale_result(last, WORK, STEADY_1, BETWEEN)
    if mix:
        scale_result(last, WORK, SLOWER_2, 1.5)
        scale_result(last, WORK, FASTER_1, 0.5)
        _set_samples(last, "bench_toy.time_plain", 0, [1.2 * x for x in NOISY_BASE])
    replicate(run)  # three runs a side, agreeing with the edited values: asv's verdicts stay decided
    return run / "results", data["commit_hash"]


def commit_run(tmp_path: Path) -> Path:
    """BASE and HEAD in the torch 2.13.0 environment with identical results except ('steady', 1),
    8.5% slower at HEAD."""
    run = copy_fixture(tmp_path)
    head = results_file(run, HEAD, "2.13.0")
    data = _load(head)
    _clone(data, results_file(run, BASE, "2.13.0"), commit=_load(results_file(run, BASE, "2.13.0"))["commit_hash"])
    scale_result(head, WORK, STEADY_1, BETWEEN)
    replicate(run)
    return run / "results"


# ------------------------------------------------------------------------------------- judge


@dataclass(frozen=True)
class _Side:
    value: float | None
    stats: dict[str, Any] | None
    samples: tuple[float, ...] | None
    version: str | None = "1"
    is_missing: bool = False


def _side(samples: Sequence[float]) -> _Side:
    value, st = compute_stats(list(samples), 1)
    return _Side(value, st, tuple(samples))


TIGHT = [2e-3 * (1 + 1e-4 * i) for i in range(10)]  # 0.1% spread: any shift above it is significant


def test_default_factor_is_the_measured_one():
    assert verdict.DEFAULT_FACTOR == 1.07
    assert verdict.parse_factor("1.085") == 1.085


@pytest.mark.parametrize(
    "factor,slower,faster",
    [(1.07, verdict.SLOWER, verdict.FASTER), (1.08, verdict.SLOWER, verdict.FASTER),
     (1.09, verdict.SAME, verdict.SAME), (1.1, verdict.SAME, verdict.SAME)],
)  # fmt: skip
def test_judge_applies_the_factor_it_is_given(factor, slower, faster):
    before = _side(TIGHT)
    assert verdict.judge(before, _side([BETWEEN * x for x in TIGHT]), factor) == (slower, False)
    assert verdict.judge(before, _side([x / BETWEEN for x in TIGHT]), factor) == (faster, False)


def test_judge_noisy_shift_beyond_the_factor_is_same():
    before, after = _side(NOISY_BASE), _side([1.2 * x for x in NOISY_BASE])
    assert verdict.judge(before, after, 1.07) == (verdict.SAME, True)
    assert verdict.judge(before, after, 1.25) == (verdict.SAME, False)
    assert verdict.judge(before, _side(list(NOISY_BASE)), 1.07) == (verdict.SAME, False)


# ------------------------------------------------------------------------------------- CLI


def _compare(capsys, results: Path, *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run_cli(capsys, "compare", *argv, "--results-dir", str(results), "--format", "json")
    assert err == ""
    data = json.loads(out)
    assert data["exit_code"] == code
    return code, data


def _verdicts(data: dict[str, Any]) -> dict[str, str]:
    return {r["name"]: r["verdict"] for r in data["rows"] if r["verdict"] != "same"}


@pytest.mark.parametrize("factor,code", [(None, 1), ("1.08", 1), ("1.09", 0), ("1.1", 0)])
def test_cli_factor_decides_the_commit_gate(tmp_path, capsys, factor, code):
    results = commit_run(tmp_path)
    args = [BASE, HEAD, "--env", "virtualenv-py3.11-torch2.13.0"] + (["--factor", factor] if factor else [])
    got, data = _compare(capsys, results, *args)
    assert (got, data["factor"]) == (code, float(factor or verdict.DEFAULT_FACTOR))
    expected = {f"{WORK}('steady', 1)": "slower"} if code else {}
    assert _verdicts(data) == expected


@pytest.mark.parametrize("factor,code", [(None, 1), ("1.08", 1), ("1.09", 0), ("1.1", 0)])
def test_cli_factor_decides_the_torch_pair_gate(tmp_path, capsys, factor, code):
    results, _head = torch_run(tmp_path, mix=False)
    args = ["--torch", "2.13.0", "2.14.1", "--commit", HEAD] + (["--factor", factor] if factor else [])
    got, data = _compare(capsys, results, *args)
    assert (got, data["factor"]) == (code, float(factor or verdict.DEFAULT_FACTOR))
    assert _verdicts(data) == ({f"{WORK}('steady', 1)": "slower"} if code else {})


@pytest.mark.parametrize("factor,code", [(None, 1), ("1.08", 1), ("1.09", 0), ("1.1", 0)])
def test_cli_factor_decides_the_version_matrix_gate(tmp_path, capsys, factor, code):
    results, _head = torch_run(tmp_path, mix=False)
    args = ["--torch", "2.12.0", "2.13.0", "2.14.1"] + (["--factor", factor] if factor else [])
    got, out, err = run_cli(capsys, "compare", *args, "--results-dir", str(results))
    assert (got, err) == (code, "")
    assert f"{code} significant slowdown(s) against torch 2.12.0" in out
    assert _compare(capsys, results, *args)[0] == code


def test_version_matrix_exit_code_follows_its_pairs(tmp_path):
    results, head = torch_run(tmp_path, mix=False)
    m = cmp.compare_version_matrix(Source(results), ["2.12.0", "2.13.0", "2.14.1"])
    assert m.commit == head
    assert [c.exit_code for c in m.pairwise] == [0, 1]  # 2.12.0 == 2.13.0; 2.14.1 has the slowdown
    assert m.exit_code == 1
    m = cmp.compare_version_matrix(Source(results), ["2.12.0", "2.13.0", "2.14.1"], factor=1.1)
    assert [c.exit_code for c in m.pairwise] == [0, 0] and m.exit_code == 0


def test_cli_mixed_verdicts_are_exact(tmp_path, capsys):
    results, _head = torch_run(tmp_path, mix=True)
    code, data = _compare(capsys, results, "--torch", "2.13.0", "2.14.1", "--commit", HEAD)
    assert code == 1
    assert _verdicts(data) == {
        f"{WORK}('steady', 1)": "slower", f"{WORK}('slower', 2)": "slower", f"{WORK}('faster', 1)": "faster",
        "bench_toy.time_plain": "unknown",
    }
    noisy = next(r for r in data["rows"] if r["name"] == "bench_toy.time_plain")
    assert noisy["verdict"] == "unknown" and noisy["ratio"] == pytest.approx(1.2, rel=1e-12)
    assert noisy["runs_before"] == noisy["runs_after"] == 3 and noisy["reason"] == (
        "×1.200 between runs (p=2.4e-05) but not significant within the last run: re-measure")


# ------------------------------------------------------------------------------------- site


def _site_changes(results: Path, head: str, factor: float | None) -> dict[tuple[str, int], tuple[Any, ...]]:
    data = load_site(results, results.parent / "meta")
    rows = version_rows(data, MACHINE, head) if factor is None else version_rows(data, MACHINE, head, factor)
    assert {r.versions for r in rows} == {("2.12.0", "2.13.0", "2.14.1")}
    return {(r.benchmark, r.param_index): r.changes for r in rows}


def _expected_site(factor: float) -> dict[tuple[str, int], tuple[str, ...]]:
    same = ("same", "same")
    return {
        ("bench_toy.MatMul.time_mm", 0): same, ("bench_toy.MatMul.time_mm", 1): same,
        ("bench_toy.time_only_head", 0): same,
        ("bench_toy.time_plain", 0): ("same", "unknown"),  # 20% beyond the factor, the samples overlap
        (WORK, STEADY_1): ("same", "slower" if factor < BETWEEN else "same"),
        (WORK, STEADY_2): same, (WORK, SLOWER_1): same, (WORK, SLOWER_2): ("same", "slower"),
        (WORK, FASTER_1): ("same", "faster"), (WORK, FASTER_2): same,
    }  # fmt: skip


@pytest.mark.parametrize("factor", [None, 1.07, 1.08, 1.09, 1.1])
def test_site_version_verdicts_are_exact_and_follow_the_factor(tmp_path, factor):
    """None: the site's default factor, which must be compare's."""
    results, head = torch_run(tmp_path, mix=True)
    changes = _site_changes(results, head, factor)
    expected = _expected_site(verdict.DEFAULT_FACTOR if factor is None else factor)
    assert {k: tuple(c.verdict for c in cs) for k, cs in changes.items()} == expected
    assert {k: tuple(c.mark for c in cs) for k, cs in changes.items()} == expected  # all drawn verdicts
    assert {k: tuple(c.significant for c in cs) for k, cs in changes.items()} == {
        k: tuple(v in ("slower", "faster") for v in vs) for k, vs in expected.items()
    }
    noisy = changes[("bench_toy.time_plain", 0)][1]
    assert noisy.ratio == pytest.approx(1.2, rel=1e-12) and noisy.beyond_factor_only is True


def test_site_and_compare_give_every_row_the_same_verdict(tmp_path):
    results, head = torch_run(tmp_path, mix=True)
    site = {k: cs[1].verdict for k, cs in _site_changes(results, head, 1.07).items()}
    c = cmp.compare_versions(Source(results), ["2.13.0", "2.14.1"], commit=HEAD, factor=1.07)
    names = {(r.benchmark, i): r for r in c.rows for i in [_param_index(r)]}
    assert {k: r.verdict for k, r in names.items()} == site


def _param_index(row: Any) -> int:
    """asv's flat parameter index of a compare row, from the fixture's benchmarks.json."""
    import itertools

    bench = json.loads((ROOT / "tests/fixtures/compare_run_v1/results/benchmarks.json").read_text())[row.benchmark]
    combos = list(itertools.product(*bench["params"])) if bench["params"] else [()]
    return combos.index(tuple(v for _, v in row.params))

"""One verdict: the versions page and `torchperf compare --torch A B` judge every benchmark alike.

Both read the same real asv results (tests/fixtures/compare_run_v1 and asv_run_v1, plus edited
copies) and must give every (benchmark, parameters) pair the same word, so the site cannot re-derive
significance on its own (asv's rule is `verdict.judge`, asked by both).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.compare_helpers import run_cli, set_column
from torchperf_core.site.data import load_site
from torchperf_core.site.versions import version_rows
from torchperf_core.verdict import FASTER, SAME, SKIPPED, SLOWER

FIXTURES = Path(__file__).parent / "fixtures"


def _copy(tmp_path: Path, fixture: str) -> Path:
    dest = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture / "results", dest / "results")
    shutil.copytree(FIXTURES / fixture / "meta", dest / "meta")
    return dest


def _compare_verdicts(capsys, run: Path, old: str, new: str, commit: str) -> dict:
    code, out, err = run_cli(capsys, "compare", "--torch", old, new, "--commit", commit, "--results-dir",
                             str(run / "results"), "--meta-dir", str(run / "meta"), "--format", "json")
    assert code in (0, 1), err
    return {(r["benchmark"], tuple(sorted(r["params"].items()))): r["verdict"] for r in json.loads(out)["rows"]}


def _site_verdicts(run: Path, machine: str, commit: str) -> dict[tuple[str, str, str], dict]:
    """(old release, new release, commit) -> {(benchmark, params): verdict} from the versions page's rows."""
    data = load_site(run / "results", run / "meta")
    out: dict[tuple[str, str, str], dict] = {}
    for row in version_rows(data, machine, commit):
        for i, change in enumerate(row.changes):
            if change is not None:
                key = (row.versions[i], row.versions[i + 1], commit)
                out.setdefault(key, {})[(row.benchmark, tuple(sorted(row.params)))] = change.verdict
    return out


def _all_pairs_agree(capsys, run: Path, machine: str) -> list[str]:
    """Assert agreement at every commit and consecutive pair of releases; return every verdict seen."""
    data = load_site(run / "results", run / "meta")
    seen = []
    for commit in data.commits(machine):
        site = _site_verdicts(run, machine, commit)
        assert site, f"no version pairs at {commit[:8]}"
        for (old, new, at), verdicts in site.items():
            cli = _compare_verdicts(capsys, run, old, new, at)
            assert verdicts == cli, f"torch {old} -> {new} at {at[:8]}"
            seen.extend(verdicts.values())
    return seen


def test_site_and_compare_agree_on_every_pair_of_the_compare_fixture(tmp_path, capsys) -> None:
    seen = _all_pairs_agree(capsys, _copy(tmp_path, "compare_run_v1"), "cmpbox")
    assert seen.count(SLOWER) == 8 and seen.count(FASTER) == 6 and seen.count(SKIPPED) == 1  # not vacuous


def test_site_and_compare_agree_on_every_pair_of_the_suite_fixture(tmp_path, capsys) -> None:
    seen = _all_pairs_agree(capsys, _copy(tmp_path, "asv_run_v1"), "fixture-box")
    assert seen.count(SLOWER) == 2 and seen.count(FASTER) == 5 and seen.count(SAME) == 7


def test_without_ci_the_site_falls_back_to_the_factor_as_compare_does(tmp_path, capsys) -> None:
    """asv judges by the ratio alone when there are no statistics (e.g. `asv run --quick`); the site
    used to print "unknown" there while `torchperf compare` said "slower"."""
    run = _copy(tmp_path, "compare_run_v1")
    path = run / "results" / "cmpbox" / "b8a3a8cb-virtualenv-py3.11-torch2.14.1.json"
    for column in ("stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat",
                   "samples"):
        set_column(path, "bench_toy.MatMul.time_mm", column, None)
    commit = "b8a3a8cb7f27231293108c717592f7210bd4131c"
    site = _site_verdicts(run, "cmpbox", commit)[("2.13.0", "2.14.1", commit)]
    assert site == _compare_verdicts(capsys, run, "2.13.0", "2.14.1", commit)
    # With their CIs these two overlap (same); by the ratio alone (x0.014, x0.876) both are faster.
    assert site[("bench_toy.MatMul.time_mm", (("dtype", "'bfloat16'"), ("size", "256")))] == FASTER
    assert site[("bench_toy.MatMul.time_mm", (("dtype", "'float32'"), ("size", "256")))] == FASTER
    assert site[("bench_toy.time_plain", ())] == SLOWER  # kept its statistics: x1.104, significant


def test_a_slowdown_built_by_scaling_samples_is_slower_on_both(tmp_path, capsys) -> None:
    from tests.compare_helpers import scale_result

    run = _copy(tmp_path, "compare_run_v1")
    path = run / "results" / "cmpbox" / "b8a3a8cb-virtualenv-py3.11-torch2.14.1.json"
    scale_result(path, "bench_toy.Work.time_work", 0, 1.5)  # kind=steady, scale=1
    commit = "b8a3a8cb7f27231293108c717592f7210bd4131c"
    site = _site_verdicts(run, "cmpbox", commit)[("2.13.0", "2.14.1", commit)]
    assert site == _compare_verdicts(capsys, run, "2.13.0", "2.14.1", commit)
    assert site[("bench_toy.Work.time_work", (("kind", "'steady'"), ("scale", "1")))] == SLOWER


@pytest.mark.parametrize("verdict,mark", [(SLOWER, "slower"), (FASTER, "faster"), (SAME, "same"), (SKIPPED, "unknown")])
def test_change_mark_for_pages_and_plots(verdict: str, mark: str) -> None:
    from torchperf_core.site.versions import Change

    assert Change(verdict, 1.5, 1.07).mark == mark

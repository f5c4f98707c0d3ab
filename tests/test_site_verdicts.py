"""One verdict: the versions page and `torchperf compare --torch A B` judge every benchmark alike.

Both read the same real asv results (tests/fixtures/compare_run_v1 and asv_run_v1, plus edited
copies) and must give every (benchmark, parameters) pair the same word, so the site cannot re-derive
significance on its own (the rule is `verdict.judge_separate`, asked by both).

The fixtures hold one run per side (format 1 sidecars: no run medians, not known to be contended),
so since issue 11 every change asv would call slower or faster is "unknown" (re-measure) on both
surfaces. Copies whose sidecars carry three run medians per case (`replicate`), one case contended
and one without its record, exercise the decided verdicts and "contended" too, with exact counts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.compare_helpers import replicate, run_cli, set_case, set_column
from torchperf_core.site.data import load_site
from torchperf_core.site.versions import version_rows
from torchperf_core.verdict import CONTENDED, FASTER, SAME, SKIPPED, SLOWER, UNKNOWN

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


HEAD = "b151c94ffcd331b45d7e2efcf39f293ba370ca0c"


def _counts(seen: list[str]) -> dict[str, int]:
    return {v: seen.count(v) for v in sorted(set(seen))}


def test_one_run_per_side_decides_nothing_but_same_on_the_compare_fixture(tmp_path, capsys) -> None:
    """20 pairs asv would call slower/faster or "~" are unknown; within the factor stays same."""
    seen = _all_pairs_agree(capsys, _copy(tmp_path, "compare_run_v1"), "cmpbox")
    assert _counts(seen) == {UNKNOWN: 20, SAME: 8, SKIPPED: 1}


def test_one_run_per_side_decides_nothing_but_same_on_the_suite_fixture(tmp_path, capsys) -> None:
    seen = _all_pairs_agree(capsys, _copy(tmp_path, "asv_run_v1"), "fixture-box")
    assert _counts(seen) == {UNKNOWN: 10, SAME: 4}


def test_replicated_runs_decide_and_contention_is_never_a_change_on_the_compare_fixture(tmp_path, capsys) -> None:
    """Three agreeing runs a side let asv's 8 slower / 6 faster stand (its "~" ones stay unknown);
    then one case contended at head and one without run medians leave the counts exact."""
    run = _copy(tmp_path, "compare_run_v1")
    replicate(run, machine="cmpbox")
    head_2141 = run / "results" / "cmpbox" / "b151c94f-virtualenv-py3.11-torch2.14.1.json"
    seen = _all_pairs_agree(capsys, run, "cmpbox")
    assert _counts(seen) == {SLOWER: 8, FASTER: 6, UNKNOWN: 6, SAME: 8, SKIPPED: 1}
    set_case(run, head_2141, "bench_toy.time_plain", "()", contended=True)  # after side of 2.13 -> 2.14.1
    set_case(run, head_2141, "bench_toy.Work.time_work", "('steady', 2)", drop=True)  # one run: re-measure
    seen = _all_pairs_agree(capsys, run, "cmpbox")
    assert _counts(seen) == {SLOWER: 6, FASTER: 6, UNKNOWN: 7, CONTENDED: 1, SAME: 8, SKIPPED: 1}
    site = _site_verdicts(run, "cmpbox", HEAD)[("2.13.0", "2.14.1", HEAD)]
    assert site[("bench_toy.time_plain", ())] == CONTENDED  # x1.80 and significant: still not a change
    assert site[("bench_toy.Work.time_work", (("kind", "'steady'"), ("scale", "2")))] == UNKNOWN
    assert site[("bench_toy.Work.time_work", (("kind", "'slower'"), ("scale", "2")))] == SLOWER


def test_a_contended_before_side_is_contended_too(tmp_path, capsys) -> None:
    """Contention on the *before* side alone must also stop a verdict (not only the after side)."""
    run = _copy(tmp_path, "compare_run_v1")
    replicate(run, machine="cmpbox")
    head_2130 = run / "results" / "cmpbox" / "b151c94f-virtualenv-py3.11-torch2.13.0.json"
    set_case(run, head_2130, "bench_toy.Work.time_work", "('slower', 2)", contended=True)
    site = _site_verdicts(run, "cmpbox", HEAD)
    key = ("bench_toy.Work.time_work", (("kind", "'slower'"), ("scale", "2")))
    assert site[("2.13.0", "2.14.1", HEAD)][key] == CONTENDED  # 2.13.0 is the before side here
    assert site[("2.12.0", "2.13.0", HEAD)][key] == CONTENDED  # and the after side here
    assert site == {k: _compare_verdicts(capsys, run, k[0], k[1], HEAD) for k in site}


def test_replicated_runs_on_the_suite_fixture(tmp_path, capsys) -> None:
    run = _copy(tmp_path, "asv_run_v1")
    replicate(run, machine="fixture-box")
    seen = _all_pairs_agree(capsys, run, "fixture-box")
    assert _counts(seen) == {SLOWER: 2, FASTER: 5, UNKNOWN: 3, SAME: 4}


def test_without_ci_the_site_falls_back_to_the_factor_as_compare_does(tmp_path, capsys) -> None:
    """asv judges by the ratio alone when there are no statistics (e.g. `asv run --quick`); the site
    used to print "unknown" there while `torchperf compare` said "slower"."""
    run = _copy(tmp_path, "compare_run_v1")
    path = run / "results" / "cmpbox" / "b8a3a8cb-virtualenv-py3.11-torch2.14.1.json"
    for column in ("stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat",
                   "samples"):
        set_column(path, "bench_toy.MatMul.time_mm", column, None)
    replicate(run, machine="cmpbox")
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
    replicate(run, machine="cmpbox")
    commit = "b8a3a8cb7f27231293108c717592f7210bd4131c"
    site = _site_verdicts(run, "cmpbox", commit)[("2.13.0", "2.14.1", commit)]
    assert site == _compare_verdicts(capsys, run, "2.13.0", "2.14.1", commit)
    assert site[("bench_toy.Work.time_work", (("kind", "'steady'"), ("scale", "1")))] == SLOWER


@pytest.mark.parametrize("verdict,mark", [(SLOWER, "slower"), (FASTER, "faster"), (SAME, "same"), (SKIPPED, "unknown"),
                                          (UNKNOWN, "unknown"), (CONTENDED, "contended")])
def test_change_mark_for_pages_and_plots(verdict: str, mark: str) -> None:
    from torchperf_core.site.versions import Change

    assert Change(verdict, 1.5, 1.07).mark == mark


BASE = "b8a3a8cb7f27231293108c717592f7210bd4131c"


def _step(params: tuple, commit_before: str | None = BASE):
    from torchperf_core.site.regressions import Regression

    return Regression("bench_toy.Work.time_work", params, {}, (("machine", "cmpbox"), ("torch", "2.13.0")),
                      commit_before, HEAD, 4e-3, 6e-3, "seconds", "")


def _published_steps(html: Path, steps: list[tuple[str, int | None, int | None]]) -> Path:
    """A published site (regressions_v1's index: revision 0 = BASE, 1 = HEAD) listing these steps
    of bench_toy.Work.time_work on torch 2.13.0: (parameter text, asv's flat index, start revision)."""
    shutil.copytree(FIXTURES / "regressions_v1" / "html", html)
    graph = "graphs/branch-main/machine-cmpbox/python-3.11/torch-2.13.0/bench_toy.Work.time_work.json"
    entries = [[f"bench_toy.Work.time_work{text}", graph, {"torch": "2.13.0"}, idx, 6e-3, 4e-3, [[rev, 1, 4e-3, 6e-3]]]
               for text, idx, rev in steps]
    (html / "regressions.json").write_text(json.dumps({"regressions": entries}))
    return html


def test_regressions_page_steps_carry_compares_commit_verdict(tmp_path, capsys) -> None:
    """asv's step detection sees one value per commit; the page shows compare's verdict for the step
    (`compare.judge_regressions`, the one `torchperf regressions` prints): unknown with one run a
    side, slower once the runs agree, contended when a side was busy."""
    from torchperf_core.compare import Source
    from torchperf_core.site.regressions import judged_rows

    run = _copy(tmp_path, "compare_run_v1")
    html = _published_steps(tmp_path / "html", [("('slower', 2)", 3, 0), ("('steady', 1)", 0, 0),
                                                 ("('slower', 2)", 3, None), ("('nosuch', 1)", None, 0)])
    source = Source(run / "results", meta_dir=run / "meta")
    one_run, _ = judged_rows(html, source, 1.07)
    slower2 = next(r for r in one_run if r.params == (("kind", "'slower'"), ("scale", "2")) and r.commit_before)
    assert (slower2.verdict, slower2.reason) == (UNKNOWN, "one run per side (need 3): re-measure")
    replicate(run, machine="cmpbox")
    judged, problems = judged_rows(html, source, 1.07)
    assert problems == ()
    got = {(r.params, r.commit_before): (r.verdict, r.reason) for r in judged}
    assert got == {
        ((("kind", "'slower'"), ("scale", "2")), BASE): (SLOWER, None),
        ((("kind", "'steady'"), ("scale", "1")), BASE): (SAME, None),
        ((("kind", "'slower'"), ("scale", "2")), None): (SLOWER, None),
        # before compare judged the page's steps, a step without such results stayed unjudged (None)
        ((), BASE): (UNKNOWN, "bench_toy.Work.time_work('nosuch', 1) not in the results of b8a3a8cb..b151c94f: re-measure"),
    }
    code, out, _ = run_cli(capsys, "compare", BASE[:8], HEAD[:8], "--results-dir", str(run / "results"),
                           "--env", "virtualenv-py3.11-torch2.13.0", "--format", "json")
    rows = {r["name"]: r["verdict"] for r in json.loads(out)["rows"]}
    assert rows["bench_toy.Work.time_work('slower', 2)"] == SLOWER  # compare says the same
    head_2130 = run / "results" / "cmpbox" / "b151c94f-virtualenv-py3.11-torch2.13.0.json"
    set_case(run, head_2130, "bench_toy.Work.time_work", "('slower', 2)", contended=True)
    busy, _ = judged_rows(html, source, 1.07)
    assert {r.verdict for r in busy if r.params == (("kind", "'slower'"), ("scale", "2"))} == {CONTENDED}


def test_regressions_page_ranks_decided_slowdowns_first() -> None:
    from dataclasses import replace

    from torchperf_core.site.pages import PageContext, render_regressions

    big_unknown = replace(_step((("kind", "'a'"),)), after=4e-2, verdict=UNKNOWN, reason="one run per side")
    small_slower = replace(_step((("kind", "'b'"),)), verdict=SLOWER)
    page = render_regressions(PageContext("p"), [big_unknown, small_slower])
    assert page.index("kind=b") < page.index("kind=a")  # x1.5 decided before x10 undecided
    assert 'data-verdict="slower">slower<' in page and 'data-verdict="unknown" title="one run per side">unknown: re-measure<' in page

"""`torchperf regressions` on a real published site (tests/fixtures/regressions_v1: `asv publish` of
the compare_run_v1 project), each step judged from compare_run_v1's results as `compare` judges it:
golden output, the three lists (decided, unknown, contended), exit codes, bad input."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.compare_helpers import BASE, HEAD, ROOT, check_golden, copy_fixture, results_file, run_cli, set_case
from torchperf_core.compare.regressions import REGRESSIONS_FORMAT_VERSION, load_regressions

HTML = "tests/fixtures/regressions_v1/html"
RESULTS = "tests/fixtures/compare_run_v1/results"


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("markdown", "md"), ("json", "json")])
def test_golden(capsys, fmt, ext):
    code, out, err = run_cli(capsys, "regressions", "--html-dir", HTML, "--results-dir", RESULTS, "--format", fmt)
    # One run per side in the fixture: every step the site lists is unknown, none a decided regression.
    assert code == 0 and err == ""
    check_golden(f"regressions.{ext}", out)


def test_structure_matches_asv_publish():
    report = load_regressions(ROOT / HTML)
    assert report.project == "toy"
    by_name = {(r.name, r.env_text): r for r in report.regressions}
    r = by_name[("bench_toy.Work.time_work('slower', 1)", "branch=main, machine=cmpbox, python=3.11, torch=2.13.0")]
    assert r.unit == "seconds"
    (jump,) = r.jumps
    assert jump.commit_before is None  # one-commit step: asv writes null for the start
    assert jump.commit_after.startswith("b151c94f") and jump.commit_range == "b151c94f"
    # asv's regressions.json row: last 3.000313 ms, best 2.000332 ms, one jump best -> last.
    assert (jump.before, jump.after) == (0.0020003319999659652, 0.003000313000029564)
    assert (r.best, r.last) == (jump.before, jump.after)
    assert jump.ratio == r.ratio == 0.003000313000029564 / 0.0020003319999659652


def test_json_versioned(capsys):
    _, out, _ = run_cli(capsys, "regressions", "--html-dir", HTML, "--results-dir", RESULTS, "--format", "json")
    data = json.loads(out)
    assert data["format_version"] == REGRESSIONS_FORMAT_VERSION == 3 and data["exit_code"] == 0
    assert data["summary"] == {"unknown": 8}


def test_none_exits_zero(tmp_path, capsys):
    html = tmp_path / "html"
    shutil.copytree(ROOT / HTML, html)
    (html / "regressions.json").write_text(json.dumps({"regressions": []}))
    code, out, _ = run_cli(capsys, "regressions", "--html-dir", str(html))
    assert code == 0 and "no regressions" in out


def test_no_published_data(tmp_path, capsys):
    code, out, err = run_cli(capsys, "regressions", "--html-dir", str(tmp_path / "html"))
    assert code == 2 and out == ""
    assert "no published data" in err and "torchperf publish" in err and "\n" == err[-1] and err.count("\n") == 1


def test_corrupt_published_data(tmp_path, capsys):
    html = tmp_path / "html"
    shutil.copytree(ROOT / HTML, html)
    (html / "regressions.json").write_text('{"regressions": [[')
    code, _, err = run_cli(capsys, "regressions", "--html-dir", str(html))
    assert code == 2 and "regressions.json" in err and "corrupt" in err
    (html / "regressions.json").write_text(json.dumps({"regressions": [["b", "graphs/x.json", {}, None, 1, 1, [[None, 99, 1, 2]]]]}))
    code, _, err = run_cli(capsys, "regressions", "--html-dir", str(html))
    assert code == 2 and "revision 99" in err


def test_html_dir_from_config(tmp_path, capsys, monkeypatch):
    shutil.copytree(ROOT / HTML, tmp_path / "site")
    shutil.copytree(ROOT / RESULTS, tmp_path / "res")
    (tmp_path / "asv.conf.json").write_text('// comment\n{"version": 1, "html_dir": "site", "results_dir": "res"}\n')
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "regressions")
    assert code == 0 and "(8 steps listed by the site" in out and "8 steps unknown" in out


def _judged(tmp_path, *argv: str):
    """The fixture's results with three runs a side (decided where asv and the runs agree), one step
    made contended (its sidecar says so at HEAD) and one left with a single run at HEAD (unknown)."""
    run = copy_fixture(tmp_path)
    set_case(run, results_file(run, HEAD, "2.13.0"), "bench_toy.Work.time_work", "('slower', 2)", contended=True)
    set_case(run, results_file(run, HEAD, "2.14.1"), "bench_toy.time_plain", "()", drop=True)
    return run, ["regressions", "--html-dir", str(ROOT / HTML), "--results-dir", str(run / "results"), *argv]


def _section(text: str, title: str) -> list[str]:
    """The table lines under `title:` (up to the next blank line after the table)."""
    lines = text.splitlines()
    start = lines.index(title + ":") + 2
    end = lines.index("", start)
    return lines[start:end]


ENV = "branch=main, machine=cmpbox, python=3.11, torch="


def test_decided_unknown_and_contended_steps_are_listed_apart(tmp_path, capsys):
    _, argv = _judged(tmp_path)
    code, out, err = run_cli(capsys, *argv)
    assert code == 1 and err == ""  # a decided slowdown: exit 1, as compare
    lines = out.splitlines()
    assert lines[0] == ("torchperf regressions: 2 regressions in the published history of toy "
                        "(8 steps listed by the site, judged as compare does, factor 1.07)")
    assert lines[1] == ("UNDECIDED: 1 step contended: re-run on a quiet machine; 5 steps unknown: re-measure "
                        "(exit status 1 for the decided regressions only; these are not counted as regressions)")
    decided = _section(out, "Regressions (decided slower)")
    assert decided[2:] == [
        f"slower   bench_toy.MatMul.time_mm  ('bfloat16', 256)  {ENV}2.14.1  b151c94f  59.6μs  8.57ms  143.78  3/3 ±1.0%",
        f"slower   bench_toy.Work.time_work  ('slower', 1)      {ENV}2.13.0  b151c94f  2.00ms  3.00ms    1.50  3/3 ±1.0%",
    ]
    unknown = _section(out, "Unknown — re-measure")
    assert len(unknown) == 2 + 5
    assert unknown[-1] == (f"unknown  bench_toy.time_plain                         {ENV}2.14.1  b151c94f  2.21ms  3.60ms"
                           "  ~1.63  3/1 ±1.0%  one run per side (need 3): re-measure")
    assert all(line.startswith("unknown ") for line in unknown[2:])
    assert _section(out, "Contended — re-run on a quiet machine")[2:] == [
        f"contended  bench_toy.Work.time_work  ('slower', 2)  {ENV}2.13.0  b151c94f  4.00ms  6.00ms   1.50  3/3 ±1.0%"
        "  contended after: re-run on a quiet machine (run-queue wait 41% of wall: another process ran)"
    ]
    assert "Listed by the site, not slower by compare's rule:" not in lines


def test_each_step_gets_compare_s_verdict(tmp_path, capsys):
    """The one rule: every step's verdict is the one `torchperf compare BASE HEAD` gives that case."""
    run, argv = _judged(tmp_path)
    _, out, _ = run_cli(capsys, *argv, "--format", "json")
    steps = {(r["benchmark"] + r["params"], r["env"]["torch"]): j["verdict"]
             for r in json.loads(out)["regressions"] for j in r["jumps"]}
    _, out, _ = run_cli(capsys, "compare", BASE, HEAD, "--results-dir", str(run / "results"), "--format", "json")
    rows = {(r["name"], r["env"].rsplit("torch", 1)[1]): r["verdict"] for r in json.loads(out)["rows"]}
    assert len(steps) == 8 and steps == {k: rows[k] for k in steps}
    assert sorted(steps.values()) == ["contended"] + ["slower"] * 2 + ["unknown"] * 5


def test_only_undecided_steps_exit_zero(tmp_path, capsys):
    run, argv = _judged(tmp_path)
    for torch, case in (("2.14.1", "('bfloat16', 256)"), ("2.13.0", "('slower', 1)")):  # the two decided
        set_case(run, results_file(run, HEAD, torch), "bench_toy.MatMul.time_mm" if "bfloat16" in case
                 else "bench_toy.Work.time_work", case, contended=True)
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0
    assert out.splitlines()[0].startswith("torchperf regressions: 0 regressions in the published history of toy")
    assert "Regressions (decided slower):" not in out and len(_section(out, "Contended — re-run on a quiet machine")) == 5


def test_a_step_without_results_is_unknown(tmp_path, capsys):
    run, argv = _judged(tmp_path)
    results_file(run, HEAD, "2.13.0").unlink()
    _, out, _ = run_cli(capsys, *argv, "--format", "json")
    reasons = {j["reason"] for r in json.loads(out)["regressions"] if r["env"]["torch"] == "2.13.0" for j in r["jumps"]}
    assert reasons == {f"no results for b151c94f in {ENV}2.13.0: re-measure"}


def test_no_results_to_judge_with(tmp_path, capsys):
    code, out, err = run_cli(capsys, "regressions", "--html-dir", HTML, "--results-dir", str(tmp_path / "none"))
    assert code == 2 and out == "" and "no results directory" in err and err.count("\n") == 1


def test_json_keeps_every_v1_field(capsys):
    """Version 2 adds the verdicts; a reader of version 1 still finds every key it knew."""
    def keys(x, path=""):
        if isinstance(x, dict):
            return {path + "." + k for k in x} | {p for k, v in x.items() for p in keys(v, path + "." + k)}
        if isinstance(x, list):
            return {p for v in x for p in keys(v, path + "[]")}
        return set()

    old = json.loads((ROOT / "tests/fixtures/formats_v1/regressions.json").read_text())
    _, out, _ = run_cli(capsys, "regressions", "--html-dir", HTML, "--results-dir", RESULTS, "--format", "json")
    assert old["format_version"] == 1 and keys(old) - keys(json.loads(out)) == set()


@pytest.mark.parametrize("key", ["torch", "pip+torch"])
def test_step_results_are_the_graph_s_torch_whatever_key_asv_filed_it_under(key):
    """asv names the graph part after the matrix key: this project's asv.conf.json says "pip+torch",
    so the step's results must be picked by that pin too, not the first file of the commit."""
    from torchperf_core.compare.regressions import _files_for
    from torchperf_core.store import ResultsStore

    store = ResultsStore(ROOT / RESULTS)
    head = next(f.commit for f in store.files("cmpbox") if f.commit.startswith(HEAD))
    for torch in ("2.12.0", "2.13.0", "2.14.1"):  # all three at HEAD
        found = _files_for(store, {"branch": "main", "machine": "cmpbox", "python": "3.11", key: torch}, head)
        assert [(f.commit, f.torch_version) for f in found] == [(head, torch)]


def test_a_step_whose_commit_has_several_matching_environments_is_not_guessed(tmp_path, capsys):
    """A run of the same commit and torch with an environment variable torchperf does not export and
    the published graph path does not name: nothing tells which file the site plotted, so the step
    is unknown with the reason, not judged from whichever sorts first."""
    run, argv = _judged(tmp_path)
    src = results_file(run, HEAD, "2.13.0")
    data = json.loads(src.read_text())
    data["env_name"] += "-OMP_SCHEDULEstatic"
    (src.parent / src.name.replace(".json", "-OMP_SCHEDULEstatic.json")).write_text(json.dumps(data))
    _, out, _ = run_cli(capsys, *argv, "--format", "json")
    reasons = {j["reason"] for r in json.loads(out)["regressions"] if r["env"]["torch"] == "2.13.0" for j in r["jumps"]}
    assert reasons == {f"several results environments of b151c94f match {ENV}2.13.0 (environments its graph path "
                       "does not tell apart): judge them with `torchperf compare`"}


def test_a_threads_run_of_the_same_commit_is_not_the_default_graph_s(tmp_path, capsys):
    """A `run --threads 1` file (TORCHPERF_THREADS in its environment name) of the same commit and
    torch: the site's graph path does not name the variable, so the step is judged from the default
    run alone, with the verdicts `test_each_step_gets_compare_s_verdict` expects."""
    run, argv = _judged(tmp_path)
    _, before, _ = run_cli(capsys, *argv, "--format", "json")
    src = results_file(run, HEAD, "2.13.0")
    data = json.loads(src.read_text())
    data["env_name"] += "-TORCHPERF_THREADS1"
    (src.parent / src.name.replace(".json", "-TORCHPERF_THREADS1.json")).write_text(json.dumps(data))
    _, after, _ = run_cli(capsys, *argv, "--format", "json")
    verdicts = [(r["benchmark"] + r["params"], r["env"]["torch"], j["verdict"], j["reason"])
                for r in json.loads(after)["regressions"] for j in r["jumps"]]
    assert verdicts == [(r["benchmark"] + r["params"], r["env"]["torch"], j["verdict"], j["reason"])
                        for r in json.loads(before)["regressions"] for j in r["jumps"]]
    assert sorted(v for _, _, v, _ in verdicts) == ["contended"] + ["slower"] * 2 + ["unknown"] * 5

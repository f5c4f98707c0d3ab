"""`torchperf regressions` on a real published site (tests/fixtures/regressions_v1: `asv publish` of
the compare_run_v1 project): golden output, exit codes, bad input."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.compare_helpers import ROOT, check_golden, run_cli
from torchperf_core.compare.regressions import REGRESSIONS_FORMAT_VERSION, load_regressions

HTML = "tests/fixtures/regressions_v1/html"


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("markdown", "md"), ("json", "json")])
def test_golden(capsys, fmt, ext):
    code, out, err = run_cli(capsys, "regressions", "--html-dir", HTML, "--format", fmt)
    assert code == 1 and err == ""
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
    _, out, _ = run_cli(capsys, "regressions", "--html-dir", HTML, "--format", "json")
    data = json.loads(out)
    assert data["format_version"] == REGRESSIONS_FORMAT_VERSION and data["exit_code"] == 1


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
    (tmp_path / "asv.conf.json").write_text('// comment\n{"version": 1, "html_dir": "site"}\n')
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "regressions")
    assert code == 1 and "8 regressions" in out

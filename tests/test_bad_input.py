"""Every command option is checked at the edge: a bad value gives one line naming it and what is
accepted, exit 2, no traceback, and nothing runs (no pip, no asv, no measurement).

The `run` cases run in an empty folder (no git repository): a value that slipped through would
fail later with another message, never start a build.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.site_build import make_project, site_fixture
from torchperf_core.cli import main

ROOT = Path(__file__).resolve().parents[1]
RESULTS = str(ROOT / "tests" / "fixtures" / "compare_run_v1" / "results")
CMP = ["--results-dir", RESULTS, "--torch", "2.13.0", "2.14.1"]

# (argv, text the one-line error must contain). "{project}" is the published fixture project.
CASES = [
    # torch versions: PEP 440 plain releases only, before anything reaches pip
    (["run", "--torch", "2.13.0; rm -rf /"], "'2.13.0; rm -rf /'"),
    (["run", "--torch=--index-url=http://x"], "'--index-url=http://x'"),
    (["run", "--torch", "2"], "'2'"),
    (["run", "--torch", "2.13.0.1"], "'2.13.0.1'"),
    (["run", "--torch", "2.13.0rc1"], "'2.13.0rc1'"),
    (["run", "--torch", "2.13.0+cu121"], "'2.13.0+cu121'"),
    (["run", "--torch", "$(id)"], "'$(id)'"),
    (["compare", "--results-dir", RESULTS, "--torch", "2.13.0; rm", "2.14.1"], "'2.13.0; rm'"),
    # revisions and ranges
    (["run", "--torch", "2.13.0", "--commits", "$(id)"], "'$(id)'"),
    (["run", "--torch", "2.13.0", "--commits", "a;b"], "'a;b'"),
    (["run", "--torch", "2.13.0", "--commits=-x"], "'-x'"),
    (["compare", "--results-dir", RESULTS, "$(id)", "HEAD"], "'$(id)'"),
    (["compare", "--results-dir", RESULTS, "HEAD~99999", "HEAD"], "'HEAD~99999'"),
    (["compare", "--results-dir", RESULTS, "--", "-x", "HEAD"], "'-x'"),
    (["publish", "--config", "{project}/asv.conf.json", "--no-asv", "--commit", "$(id)"], "'$(id)'"),
    (["publish", "--config", "{project}/asv.conf.json", "--no-asv", "--commit", "HEAD~99999"], "'HEAD~99999'"),
    (["plot", "--results", "{project}/results", "--commit", "$(id)"], "'$(id)'"),
    # regexes, tiers, devices, machine names, counts
    (["run", "--torch", "2.13.0", "--bench", "("], "'('"),
    (["run", "--torch", "2.13.0", "--bench=-x"], "'-x'"),
    (["run", "--torch", "2.13.0", "--tier", "huge"], "'huge'"),
    (["run", "--torch", "2.13.0", "--device", "tpu"], "'tpu'"),
    (["run", "--torch", "2.13.0", "--machine", "../x"], "'../x'"),
    (["run", "--torch", "2.13.0", "--limit", "-1"], "'-1'"),
    (["run", "--torch", "2.13.0", "--limit", "x"], "'x'"),
    (["run", "--torch", "2.13.0", "--cpus", "x"], "'x'"),
    (["bench", "mm", "--device", "tpu"], "'tpu'"),
    (["bench", "mm", "--device", "cuda:x"], "'cuda:x'"),
    (["bench", "mm", "--dtype", "int9"], "'int9'"),
    (["bench", "nosuchop"], "'nosuchop'"),
    (["bench", "mm", "--layout", "weird"], "'weird'"),
    (["bench", "mm", "--mode", "x"], "'x'"),
    (["bench", "mm", "--threads", "0"], "'0'"),
    (["bench", "mm", "--samples", "x"], "'x'"),
    (["env", "--device", "tpu"], "'tpu'"),
    (["calibrate", "--device", "tpu"], "'tpu'"),
    (["calibrate", "--machine", "../x"], "'../x'"),
    (["calibrate", "--dtypes", "int9"], "'int9'"),
    (["doctor", "--save", "--machine", "../x"], "'../x'"),
    (["noise", "--save", "--machine", "../x"], "'../x'"),
    (["noise", "--cpus", "999"], "'999'"),
    (["noise", "--runs", "1"], "1"),
    (["validate", "--rounds", "0"], "'0'"),
    # sizes
    (["bench", "mm", "--size", "0"], "'0'"),
    (["bench", "mm", "--size", "-5"], "'-5'"),
    (["bench", "mm", "--size", "x"], "'x'"),
    (["bench", "mm", "--size", "99999999999"], "size too large"),
    (["sweep", "mm", "--sizes", "1,,2"], "'1,,2'"),
    (["calibrate", "--sizes", "x"], "'x'"),
    (["validate", "--sizes", "0"], "'0'"),
    # factors
    *[(["compare", *CMP, "--factor", f], f"'{f}'") for f in ("0.9", "1", "nan", "inf", "x", "-2")],
    *[(["publish", "--config", "{project}/asv.conf.json", "--no-asv", "--factor", f], f) for f in ("0.9", "nan", "inf", "x")],
    *[(["noise", "--factor", f], f) for f in ("0.9", "nan", "x")],
    # paths: missing, or a file where a folder is expected (and the reverse)
    (["compare", *CMP[2:], "--results-dir", "{project}/nothing"], "nothing"),
    (["compare", *CMP[2:], "--results-dir", "{project}/asv.conf.json"], "asv.conf.json"),
    (["compare", *CMP, "--meta-dir", "{project}/asv.conf.json"], "asv.conf.json"),
    (["compare", *CMP, "--meta-dir", "{project}/nothing"], "nothing"),
    (["compare", *CMP[2:], "--config", "{project}/nothing.json"], "nothing.json"),
    (["publish", "--config", "{project}/nothing.json"], "nothing.json"),
    (["publish", "--config", "{project}/results"], "results"),
    (["publish", "--config", "{project}/asv.conf.json", "--no-asv", "--meta", "{project}/asv.conf.json"], "asv.conf.json"),
    (["publish", "--config", "{project}/asv.conf.json", "--no-asv", "--meta", "{project}/nothing"], "nothing"),
    (["plot", "--results", "{project}/nothing"], "nothing"),
    (["plot", "--results", "{project}/asv.conf.json"], "asv.conf.json"),
    (["plot", "--results", "{project}/results", "--out", "{project}/asv.conf.json"], "asv.conf.json"),
    (["plot", "--results", "{project}/results", "--meta", "{project}/asv.conf.json"], "asv.conf.json"),
    (["plot", "--results", "{project}/results", "--machine", "../x"], "'../x'"),
    (["regressions", "--html-dir", "{project}/nothing"], "nothing"),
    (["regressions", "--config", "{project}/nothing.json"], "nothing.json"),
    (["regressions", "--html-dir", "{project}/html", "--output", "{project}/nodir/x.txt"], "nodir/x.txt"),
    (["sweep", "mm", "--plot", "x.txt"], "'x.txt'"),
    (["sweep", "mm", "--plot", "{project}/nodir/x.png"], "nodir"),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-input") / "project"
    make_project(root, site_fixture())
    shutil.copytree(ROOT / "tests" / "fixtures" / "regressions_v1" / "html", root / "html", dirs_exist_ok=True)
    return root


@pytest.mark.parametrize("argv,needle", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_value_is_refused_in_one_line(project, tmp_path, monkeypatch, capsys, argv, needle) -> None:
    monkeypatch.chdir(tmp_path)  # an empty folder: nothing to run against
    argv = [a.replace("{project}", str(project)) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own refusals (a float option given "x")
        code = exc.code
    out = capsys.readouterr()
    assert code == 2, (code, out.out[-500:], out.err)
    assert out.err.startswith("torchperf: error: ") and out.err.count("\n") == 1, out.err
    assert needle in out.err, out.err
    assert "Traceback" not in out.err
    assert list(tmp_path.iterdir()) == [], "a refused command left files behind"


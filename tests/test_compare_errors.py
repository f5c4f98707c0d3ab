"""Every bad input to `torchperf compare` gives one line naming the bad value, exit 2."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.compare_helpers import BASE, FIXTURE, HEAD, ROOT, copy_fixture, results_file, run_cli

RESULTS = str(FIXTURE / "results")


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def _error(capsys, *argv: str) -> str:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert out == ""
    assert err.startswith("torchperf: error: ") and err.count("\n") == 1, err  # one line, no traceback
    return err


def test_unknown_revision(capsys):
    err = _error(capsys, "compare", "nosuchrev", HEAD, "--results-dir", RESULTS)
    assert "unknown revision 'nosuchrev'" in err


def test_revision_without_results(capsys):
    # A real commit of this repository (its first) that has no results in the fixture.
    import subprocess

    first = subprocess.run(["git", "rev-list", "--max-parents=0", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.split()[0]
    err = _error(capsys, "compare", first, HEAD, "--results-dir", RESULTS, "--config", "asv.conf.json")
    assert "no results for revision" in err and first[:8] in err and "b8a3a8cb" in err


def test_ambiguous_prefix(tmp_path, capsys):
    run = copy_fixture(tmp_path)
    src = results_file(run, HEAD, "2.13.0")
    data = json.loads(src.read_text())
    data["commit_hash"] = "b151" + "0" * 36
    (src.parent / ("b1510000-" + src.name.split("-", 1)[1])).write_text(json.dumps(data))
    err = _error(capsys, "compare", BASE, "b151", "--results-dir", str(run / "results"))
    assert "ambiguous" in err


@pytest.mark.parametrize("versions", [["2.13.0", "9.9.9"], ["9.9.9", "2.13.0", "2.14.1"]])
def test_unknown_torch_version(capsys, versions):
    err = _error(capsys, "compare", "--torch", *versions, "--results-dir", RESULTS)
    assert "unknown torch version '9.9.9'" in err and "2.12.0, 2.13.0, 2.14.1" in err


def test_malformed_torch_version(capsys):
    err = _error(capsys, "compare", "--torch", "2.13.0", "latest", "--results-dir", RESULTS)
    assert "torch version 'latest' is not a PEP 440 version; expected a release like 2.13.0" in err  # run's parser


def test_version_missing_at_commit(capsys):
    err = _error(capsys, "compare", "--torch", "2.12.0", "2.13.0", "--commit", BASE, "--results-dir", RESULTS)
    assert "no results for torch 2.12.0 at commit b8a3a8cb" in err


def test_one_torch_version(capsys):
    err = _error(capsys, "compare", "--torch", "2.13.0", "--results-dir", RESULTS)
    assert "at least two versions" in err


@pytest.mark.parametrize("factor", ["abc", "1.0", "0.5", "nan", "inf", "-2"])
def test_malformed_factor(capsys, factor):
    err = _error(capsys, "compare", BASE, HEAD, "--results-dir", RESULTS, "--factor", factor)
    assert f"malformed factor '{factor}'" in err


def test_no_results_yet(tmp_path, capsys):
    (tmp_path / "results").mkdir()
    err = _error(capsys, "compare", BASE, HEAD, "--results-dir", str(tmp_path / "results"))
    assert "no results yet" in err and "torchperf run" in err
    err = _error(capsys, "compare", BASE, HEAD, "--results-dir", str(tmp_path / "nothing"))
    assert "no results directory" in err


def test_no_config_and_no_results_dir(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = _error(capsys, "compare", BASE, HEAD)
    assert "no asv config 'asv.conf.json'" in err


def test_unknown_machine_and_several_machines(tmp_path, capsys):
    err = _error(capsys, "compare", BASE, HEAD, "--results-dir", RESULTS, "--machine", "nope")
    assert "no results for machine 'nope'" in err and "cmpbox" in err
    run = copy_fixture(tmp_path)
    other = run / "results" / "second"
    other.mkdir()
    (other / "machine.json").write_text(json.dumps({"machine": "second", "version": 1}))
    err = _error(capsys, "compare", BASE, HEAD, "--results-dir", str(run / "results"))
    assert "several machines (cmpbox, second)" in err and "--machine" in err


def test_results_file_from_another_machine(tmp_path, capsys):
    run = copy_fixture(tmp_path)
    src = results_file(run, HEAD, "2.13.0")
    data = json.loads(src.read_text())
    data["params"]["machine"] = "intruder"
    src.write_text(json.dumps(data))
    err = _error(capsys, "compare", BASE, HEAD, "--results-dir", str(run / "results"))
    assert src.name in err and "'intruder'" in err and "'cmpbox'" in err


@pytest.mark.parametrize("content", ['{"commit_hash": "b151c94f', '{"version": 2, "params": {"machine": "cmpbox"}}', "[]"])
def test_corrupt_results_file(tmp_path, capsys, content):
    run = copy_fixture(tmp_path)
    src = results_file(run, HEAD, "2.13.0")
    src.write_text(content)
    err = _error(capsys, "compare", BASE, HEAD, "--results-dir", str(run / "results"))
    assert "corrupt results file" in err and src.name in err


def test_corrupt_sidecar(tmp_path, capsys):
    run = copy_fixture(tmp_path)
    sidecar = run / "meta" / "cmpbox" / results_file(run, HEAD, "2.13.0").name
    sidecar.write_text("{not json")
    err = _error(capsys, "compare", BASE, HEAD, "--results-dir", str(run / "results"))
    assert sidecar.name in err


def test_missing_sidecars_are_reported_not_fatal(tmp_path, capsys):
    run = copy_fixture(tmp_path)
    shutil.rmtree(run / "meta")
    code, out, _ = run_cli(capsys, "compare", BASE, HEAD, "--results-dir", str(run / "results"))
    assert "fingerprint unavailable" in out and "(no sidecar)" in out
    # No sidecar, no run medians: one run per side decides no change (issue 11), so no exit 1.
    assert code == 0 and out.splitlines()[1].startswith("UNDECIDED: ") and "one run per side" in out


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["compare", BASE], "give two revisions"),
        (["compare", BASE, HEAD, "--torch", "2.13.0", "2.14.1"], "not both"),
        (["compare", BASE, HEAD, "--commit", BASE], "--commit goes with --torch"),
        (["compare", "--torch", "2.13.0", "2.13.0"], "lists a version twice"),
    ],
)
def test_argument_combinations(capsys, argv, needle):
    err = _error(capsys, *argv, "--results-dir", RESULTS)
    assert needle in err

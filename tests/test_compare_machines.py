"""`torchperf compare --machines A B`: two machines at one commit and torch version.

Two machines made from the real results fixture (tests/test_merge.make_machine): B's timings are
exactly half of A's, its CPU differs, its fingerprint says another CPU model, and A has a
calibration, so every figure below is decided by the fixture.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_merge import FIXTURE, make_machine
from torchperf_core.compare import REGRESSION_VERDICTS, SLOWER, Source, compare_machines
from torchperf_core.verdict import DEFAULT_FACTOR
from torchperf_core.errors import TorchperfError
from torchperf_core.fleet import merge_results
from torchperf_core.render import render_machines

HEAD = "48669f7bf1cbd94c28f435cc3628e8cf570f41ea"


@pytest.fixture()
def two_machines(tmp_path: Path) -> Path:
    make_machine(tmp_path / "a", "box-a")
    make_machine(tmp_path / "b", "box-b", hardware={"cpu": "Intel Xeon", "num_cpu": "8"}, scale=0.5)
    for side in (tmp_path / "b" / "meta" / "box-b").glob("*.json"):
        data = json.loads(side.read_text())
        data["fingerprint"]["cpu"]["model"] = "Intel Xeon"
        side.write_text(json.dumps(data))
    project = tmp_path / "project"
    merge_results([tmp_path / "a", tmp_path / "b"], project / "results", project / "meta")
    (project / "meta" / "box-a" / "calibration.json").write_text(json.dumps({
        "format_version": 2, "machine": "box-a", "device": "cpu", "threads": 2, "torch_version": "2.13.0+cpu",
        "measured_at": "2026-11-30T10:00:00Z", "peak_gflops": {"float32": 100.0}, "bandwidth_gbps": 40.0}))
    return project


def test_ratios_peaks_and_differences(two_machines: Path) -> None:
    source = Source(results_dir=two_machines / "results", meta_dir=two_machines / "meta")
    c = compare_machines(source, "box-a", "box-b", torch="2.13.0")
    assert c.commit == HEAD and c.torch_version == "2.13.0" and c.exit_code == 0
    assert c.rows and all(m.row.ratio == pytest.approx(0.5) for m in c.rows if m.row.before)
    # B is twice as fast everywhere: whatever the rule can decide, it never says slower.
    assert not {m.row.verdict for m in c.rows} & ({SLOWER} | set(REGRESSION_VERDICTS))
    mm = [m for m in c.rows if m.row.gflops_before]
    assert mm, "the fixture has FLOP counts for the matmul cases"
    for m in mm:
        assert m.row.gflops_after == pytest.approx(2 * m.row.gflops_before)
        if dict(m.row.params).get("dtype") == "'float32'":
            assert m.peak_a is not None and m.peak_a.value == pytest.approx(m.row.gflops_before / 100.0)
        else:  # calibrated for float32 only
            assert m.peak_a is None
        assert m.peak_b is None  # box-b was never calibrated: no fraction invented
    assert any(m.peak_a for m in mm), "float32 cases get a fraction of box-a's peak"
    assert c.b.calibration_note == "not calibrated (`torchperf calibrate` on it)"
    assert ("cpu", "AMD EPYC", "Intel Xeon") in c.hardware_differences
    assert ("num_cpu", "2", "8") in c.hardware_differences
    assert any(f[0] == "cpu.model" and f[1:3] == ("AMD EPYC", "Intel Xeon") for d in c.env_diffs for f in d.fields), \
        c.env_diffs


def test_default_torch_is_the_newest_on_both(two_machines: Path) -> None:
    source = Source(results_dir=two_machines / "results", meta_dir=two_machines / "meta")
    assert compare_machines(source, "box-a", "box-b").torch_version == "2.14.1"
    older = compare_machines(source, "box-a", "box-b", commit="df00b9c6")
    assert older.commit.startswith("df00b9c6")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"machine_a": "box-a", "machine_b": "box-a"}, "--machines needs two different machines; got 'box-a' twice"),
    ({"machine_a": "box-a", "machine_b": "nope"}, "no results for machine 'nope'"),
    ({"machine_a": "box-a", "machine_b": "box-b", "torch": "2.12.0"},
     "torch 2.12.0 has no results on both 'box-a' and 'box-b' at 48669f7b; on both: 2.13.0, 2.14.1"),
])
def test_bad_choices_are_one_line(two_machines: Path, kwargs: dict, message: str) -> None:
    source = Source(results_dir=two_machines / "results", meta_dir=two_machines / "meta")
    with pytest.raises(TorchperfError) as info:
        compare_machines(source, **kwargs)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_cli_renders_text_markdown_json(two_machines: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "torchperf_core", "compare", "--results-dir", "results",
                               "--machines", "box-a", "box-b", "--torch", "2.13.0", *args], cwd=two_machines,
                              capture_output=True, text=True)

    text = cli()
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == f"machines box-a vs box-b at 48669f7b, torch 2.13.0 (ratio box-b/box-a; factor {DEFAULT_FACTOR:g})"
    assert lines[1] == "  box-a: calibrated 2026-11-30T10:00:00Z"
    assert "  cpu: AMD EPYC | Intel Xeon" in lines and "  num_cpu: 2 | 8" in lines
    assert "  cpu.model: AMD EPYC | Intel Xeon" in lines  # the fingerprint difference that explains it
    header = next(line for line in lines if "benchmark" in line)
    assert header.split() == ["benchmark", "box-a", "box-b", "ratio", "box-b/box-a", "GFLOP/s", "box-a", "GFLOP/s",
                              "box-b", "of", "box-a's", "peak", "of", "box-b's", "peak"]
    assert any("0.50" in line and "% of peak" in line for line in lines)
    md = cli("--format", "markdown")
    assert md.returncode == 0 and md.stdout.startswith("### box-a vs box-b at `48669f7b`, torch 2.13.0\n")
    data = json.loads(cli("--format", "json").stdout)
    assert data["format_version"] == 1 and data["a"]["machine"] == "box-a" and data["b"]["peak_gflops"] is None
    assert all(r["ratio"] == pytest.approx(0.5) for r in data["rows"] if r["a"])
    both = cli("HEAD")
    assert both.returncode == 2 and "--machines A B compares one commit" in both.stderr


def test_json_fixture_is_the_real_run(two_machines: Path) -> None:
    """The rows are the fixture's cases, not an invented table."""
    store_cases = {k[0] for p in (FIXTURE / "results" / "fixture-box").glob("48669f7b-*torch2.13.0*.json")
                   for k in [(n,) for n in json.loads(p.read_text())["results"]]}
    source = Source(results_dir=two_machines / "results", meta_dir=two_machines / "meta")
    c = compare_machines(source, "box-a", "box-b", torch="2.13.0")
    assert {m.row.benchmark for m in c.rows} == store_cases
    assert render_machines(c, "text").count("\n") > len(c.rows)


def test_machines_page_lists_every_machine_and_the_ratio_table(two_machines: Path) -> None:
    from torchperf_core.site.machines import render_machines_page
    from torchperf_core.site.pages import PageContext

    page = render_machines_page(PageContext("p"), two_machines / "results", two_machines / "meta",
                                ["box-b", "box-a"], {}, {})
    assert '<a href="machines.html" class="current">Machines</a>' in page
    assert '<td class="mono">box-a (reference)</td>' in page and '<tr data-machine="box-b">' in page
    assert "<h2>box-b against box-a at 48669f7b, torch 2.14.1</h2>" in page
    assert "<li class=\"mono\">cpu: AMD EPYC | Intel Xeon</li>" in page
    rows = page.split('<table class="ratios">')[1].split("</table>")[0].count("<tr>") - 1
    assert rows == len(compare_machines(Source(results_dir=two_machines / "results", meta_dir=two_machines / "meta"),
                                        "box-a", "box-b").rows)
    # The machine selector chooses the reference: one section.machine per reference, the chosen one first.
    chosen = render_machines_page(PageContext("p"), two_machines / "results", two_machines / "meta",
                                  ["box-a", "box-b"], {}, {}, reference="box-b")
    assert '<select id="machine-select"><option value="box-b">box-b</option><option value="box-a">box-a</option>' \
        in chosen
    by_ref = {part.split('"', 1)[0]: part for part in chosen.split('<section class="machine" data-machine="')[1:]}
    assert list(by_ref) == ["box-b", "box-a"]
    assert by_ref["box-b"].count("<h2>") == 1 and "<h2>box-a against box-b at 48669f7b, torch 2.14.1</h2>" in by_ref["box-b"]
    assert by_ref["box-a"].count("<h2>") == 1 and "<h2>box-b against box-a at 48669f7b, torch 2.14.1</h2>" in by_ref["box-a"]
    assert '<td class="mono">box-b (reference)</td>' in chosen
    # A reference with nothing in common with another machine: a note, not a crash.
    only = render_machines_page(PageContext("p"), two_machines / "results", two_machines / "meta", ["box-a"], {}, {},
                                reference="box-a")
    assert "<h2>" not in only and "box-a (reference)" in only


def test_machines_page_reads_each_machines_results_once(two_machines: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Three machines are six tables (each one the reference in turn); every machine's results files
    are read once for the page, not once per table it appears in (12 reads before)."""
    from torchperf_core.site.machines import render_machines_page
    from torchperf_core.site.pages import PageContext
    from torchperf_core.store import ResultsStore

    make_machine(tmp_path / "c", "box-c", scale=2.0)
    merge_results([tmp_path / "c"], two_machines / "results", two_machines / "meta")
    reads: list[str] = []
    load = ResultsStore._load_machine

    def counted(self: ResultsStore, machine: str):  # type: ignore[no-untyped-def]
        reads.append(machine)
        return load(self, machine)

    monkeypatch.setattr(ResultsStore, "_load_machine", counted)
    page = render_machines_page(PageContext("p"), two_machines / "results", two_machines / "meta",
                                ["box-a", "box-b", "box-c"], {}, {})
    assert page.count("<h2>") == 6 and "<h2>box-c against box-b at 48669f7b, torch 2.14.1</h2>" in page
    assert sorted(reads) == ["box-a", "box-b", "box-c"]

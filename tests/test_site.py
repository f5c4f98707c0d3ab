"""The published site, the figures and the report notebook, built from real asv results fixtures.

Every site here is built with the real `asv publish` from committed real asv results (see
`site_build`); the browser checks live in `test_site_browser.py`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from pathlib import Path

import pytest

from tests.site_build import FIXTURES, make_project, results_medians, site_fixture
from torchperf_core.site import data as site_data
from torchperf_core.site import regressions as site_regressions
from torchperf_core.site import versions as site_versions
from torchperf_core.cli import main
from torchperf_core.errors import TorchperfError
from torchperf_core.site.publish import bundle_asv_assets, publish_site

REPO = Path(__file__).resolve().parents[1]
PLANTED = "tp_PLANTED_SECRET_7f3a9c"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with the site fixture plus the two-commit compare fixture, published once."""
    root = tmp_path_factory.mktemp("site") / "project"
    config = make_project(root, site_fixture(), FIXTURES / "compare_run_v1")
    # A sidecar carrying what must never reach the site: a secret env var and this machine's paths.
    sidecars = sorted((root / "meta").glob("*/*-*.json"))
    side = json.loads(sidecars[0].read_text())
    if not isinstance(side.get("fingerprint"), dict):
        side["fingerprint"] = {}
    side["fingerprint"].setdefault("env", {})["GITHUB_TOKEN"] = PLANTED
    side["fingerprint"]["env"]["AWS_SECRET_ACCESS_KEY"] = PLANTED
    side["fingerprint"]["python_executable"] = str(root / ".asv" / "env" / "abc" / "bin" / "python")
    side["fingerprint"]["home_file"] = str(Path.home() / "x.cfg")
    sidecars[0].write_text(json.dumps(side))
    publish_site(config)
    return root


def _text_files(html: Path):
    for path in html.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".xml", ".svg"):
            yield path, path.read_text(encoding="utf-8")


def test_publish_writes_our_pages_next_to_asv(site: Path) -> None:
    html = site / "html"
    for page in ("versions", "efficiency", "environment", "regressions"):
        text = (html / "torchperf" / f"{page}.html").read_text()
        assert 'href="../index.html"' in text  # our pages link to asv's
    index = (html / "index.html").read_text()
    assert index.count('id="nav-li-torchperf"') == 1  # asv links to ours
    assert "torchperf/versions.html" in index
    assert not re.search(r'<(script|link|img)\b[^>]*(src|href)="https?://', index), "asv's index loads from the network"
    for local in re.findall(r'(?:src|href)="(vendor/[^"]+)"', index):
        assert (html / local).is_file(), local
    assert (html / "graphs").is_dir() and (html / "index.json").is_file()  # asv publish ran


def test_asv_index_edits_are_idempotent(site: Path, tmp_path: Path) -> None:
    copy = tmp_path / "html"
    shutil.copytree(site / "html", copy)
    before = (copy / "index.html").read_text()
    assert bundle_asv_assets(copy) == ()
    assert (copy / "index.html").read_text() == before


def test_republishing_gives_identical_pages(site: Path, tmp_path: Path) -> None:
    out = site / "html" / "torchperf"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    publish_site(site / "asv.conf.json", run_asv=False)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert before.keys() == after.keys()
    assert [k for k in before if before[k] != after[k]] == []


def test_versions_page_holds_every_result_and_the_versions_in_pep440_order(site: Path) -> None:
    page = (site / "html" / "torchperf" / "versions.html").read_text()
    cells = re.findall(
        r'data-machine="([^"]*)" data-benchmark="([^"]*)" data-param-index="(\d+)" data-torch="([^"]*)" data-median="([^"]*)"',
        page,
    )
    shown = {(m, b, int(i), t): float(v) for m, b, i, t, v in cells}
    expected = results_medians(site / "results")
    from torchperf_core.store import ResultsStore

    store = ResultsStore(site / "results")  # "latest" as compare says it: commit date, then run time
    latest = {machine: store.commits(machine)[-1] for machine in store.machines()}
    checked = 0
    for (machine, commit, bench, index, version), value in expected.items():
        if commit == latest[machine]:
            assert shown[(machine, bench, index, version)] == value
            checked += 1
    assert checked == len(shown) == 44  # every cell shown is a latest result, and every one is shown
    for block in re.findall(r"<thead><tr>(.*?)</tr></thead>", page):
        versions = re.findall(r"<th>torch ([^<]+)</th>", block)
        assert versions == sorted(versions, key=site_data.version_key)


def test_publish_chosen_commit_adds_a_section(site: Path, tmp_path: Path) -> None:
    root = tmp_path / "p"
    config = make_project(root, FIXTURES / "compare_run_v1")
    data = site_data.load_site(root / "results")
    oldest = data.commits("cmpbox")[0]
    assert main(["publish", "--config", str(config), "--commit", oldest[:7]]) == 0
    page = (root / "html" / "torchperf" / "versions.html").read_text()
    assert "chosen commit" in page and oldest[:8] in page
    with pytest.raises(TorchperfError, match="unknown revision 'nosuchrev': not a git revision"):
        publish_site(config, commit="nosuchrev", run_asv=False)
    with pytest.raises(TorchperfError, match="unknown revision 'nosuchrev': not a git revision in"):
        data.resolve_commit("nosuchrev", root)  # one resolver: the site's own answers alike
    assert data.resolve_commit(oldest[:7]) == oldest


def test_changes_on_the_versions_page_are_compare_verdicts(site: Path) -> None:
    """The compare fixture's latest commit (the store's order: both commits share a date, HEAD ran
    last), verdict by verdict: the words `torchperf compare --torch` prints for each pair. Its
    results hold one run per side (issue 11): every change asv would mark is "unknown" (re-measure);
    tests/test_site_verdicts.py covers the decided verdicts with replicated runs."""
    data = site_data.load_site(site / "results", site / "meta")
    at = data.latest_commit("cmpbox")
    got = {(r.benchmark, r.param_index): [c.verdict if c else None for c in r.changes]
           for r in site_versions.version_rows(data, "cmpbox", at)}
    assert data.versions("cmpbox", at) == ["2.12.0", "2.13.0", "2.14.1"]
    work = "bench_toy.Work.time_work"
    assert got == {
        ("bench_toy.MatMul.time_mm", 0): ["unknown", "unknown"],
        ("bench_toy.MatMul.time_mm", 1): ["unknown", "unknown"],
        (work, 0): ["same", "unknown"], (work, 1): ["unknown", "unknown"], (work, 2): ["same", "unknown"],
        (work, 3): ["unknown", "unknown"], (work, 4): ["same", "unknown"], (work, 5): ["unknown", "unknown"],
        ("bench_toy.time_only_head", 0): ["unknown", "unknown"],
        ("bench_toy.time_plain", 0): ["unknown", "unknown"],
    }
    page = (site / "html" / "torchperf" / "versions.html").read_text()
    for mark in ("unknown", "same"):
        assert f'data-change="{mark}"' in page
    assert "unknown: re-measure" in page and 'data-change="slower"' not in page


def test_environment_page_shows_fingerprints_kernels_and_differences(site: Path) -> None:
    page = (site / "html" / "torchperf" / "environment.html").read_text()
    assert "torch.mkl_version" in page and "mm/bfloat16" in page
    assert "2.13.0 → 2.14.1" in page
    assert "torch 2.13.0 (cpu build)" in page and "torch 2.14.1 (cu130 build)" in page  # a build, not a version


def test_no_paths_host_user_or_secrets_in_the_site(site: Path) -> None:
    machines = set(site_data.load_site(site / "results").machines)
    forbidden = [PLANTED, str(site), str(Path.home()) + "/", str(REPO)]
    host = socket.gethostname()
    for path, text in _text_files(site / "html"):
        for word in forbidden:
            assert word not in text, f"{word!r} in {path.relative_to(site)}"
        if host not in machines and len(host) > 2:
            assert not re.search(rf"(?<![\w.-]){re.escape(host)}(?![\w-])", text), f"hostname in {path.name}"


def test_regressions_page_links_each_regression_to_asv(tmp_path: Path) -> None:
    html = tmp_path / "html"
    shutil.copytree(FIXTURES / "regressions_v1" / "html", html)
    from torchperf_core.compare import Source
    from torchperf_core.compare import regressions as cli_regressions  # what `torchperf regressions` lists

    regs, problems = site_regressions.judged_rows(html, Source(FIXTURES / "compare_run_v1" / "results"), 1.07)
    assert regs and problems == ()
    listed = cli_regressions.load_regressions(html).regressions
    assert len(regs) == sum(len(r.jumps) for r in listed)
    bf16 = [r.asv_hash for r in regs if r.benchmark == "bench_toy.MatMul.time_mm" and ("dtype", "'bfloat16'") in r.params]
    assert sorted(bf16) == ["bench_toy.MatMul.time_mm?torch=2.13.0&p-dtype=%27bfloat16%27&p-size=256&commits=b151c94f",
                            "bench_toy.MatMul.time_mm?torch=2.14.1&p-dtype=%27bfloat16%27&p-size=256&commits=b151c94f"]
    from torchperf_core.site import pages as site_pages

    page = site_pages.render_regressions(site_pages.PageContext("p"), regs)
    for reg in regs:
        assert f'href="../index.html#{reg.asv_hash.replace("&", "&amp;")}"' in page
        assert reg.asv_hash.startswith(reg.benchmark.replace("(", "%28"))
        assert "commits=" in reg.asv_hash


# ---------------------------------------------------------------------------------------------
# Escaping: names from results are data, never markup and never paths

EVIL = "<script>alert(1)</script>\"'../../evil"


def test_hostile_names_are_escaped_everywhere_and_never_paths(tmp_path: Path) -> None:
    root = tmp_path / "p"
    config = make_project(root, site_fixture())
    results = root / "results"
    bench_file = results / "benchmarks.json"
    benchmarks = json.loads(bench_file.read_text())
    old = next(k for k in benchmarks if k != "version" and benchmarks[k].get("params"))
    new = f"bench_x.Evil{EVIL}.track_x"
    info = benchmarks.pop(old)
    info["name"] = new
    info["param_names"][0] = f"size{EVIL}"
    info["params"][-1] = [repr(f"v{EVIL}") if i == 0 else v for i, v in enumerate(info["params"][-1])]
    info["flops"] = 2e6  # so that the efficiency page lists it too
    benchmarks[new] = info
    bench_file.write_text(json.dumps(benchmarks))
    # A machine name is a folder name under results/ and meta/ (asv's layout): anything but "/".
    machine = "m<img src=x onerror=alert(2)>\"'&..evil"
    for top in (results, root / "meta"):
        (top / "fixture-box").rename(top / machine)
    machine_json = results / machine / "machine.json"
    machine_json.write_text(json.dumps({**json.loads(machine_json.read_text()), "machine": machine}))
    for path in results.glob("*/*-*.json"):
        data = json.loads(path.read_text())
        if old in data["results"]:
            row = data["results"].pop(old)
            row[data["result_columns"].index("params")] = info["params"]
            data["results"][new] = row
        data["params"]["machine"] = machine
        data["env_name"] = f"{data['env_name']}{EVIL}"
        path.write_text(json.dumps(data))
    before = {p for p in tmp_path.rglob("*")}
    publish_site(config, run_asv=False)
    created = {p for p in tmp_path.rglob("*")} - before
    out = root / "html" / "torchperf"
    for path in created:
        assert out in path.parents or path == out or path == root / "html", f"wrote outside the site: {path}"
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", path.name), path.name
    for page in out.glob("*.html"):
        text = page.read_text()
        assert "<script>alert" not in text and "<img src=x" not in text, page.name
        # machines.html: one machine here, so no ratio table (and no benchmark name) on it
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text or page.name in ("regressions.html", "machines.html")
        assert "m&lt;img src=x onerror=alert(2)&gt;" in text or page.name == "regressions.html"


# ---------------------------------------------------------------------------------------------
# Pure parts


def test_version_order_is_pep440() -> None:
    got = sorted(["2.14.1", "2.9.0", "2.13.0", "2.13.0rc1", "nightly"], key=site_data.version_key)
    assert got == ["2.9.0", "2.13.0rc1", "2.13.0", "2.14.1", "nightly"]


def test_site_reads_calibration_with_the_one_reader_and_names_a_bad_file(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_project(root, site_fixture())
    path = root / "meta" / "fixture-box" / "calibration.json"
    data = site_data.load_site(root / "results")
    assert data.calibrations["fixture-box"].peak_gflops == {"float32": 173.0, "bfloat16": 395.0}
    assert data.problems == ()
    # a shape `torchperf calibrate` never writes is refused by the one reader, not guessed at
    path.write_text(json.dumps({"format_version": 1, "machine": "m", "device": "cpu", "threads": 2,
                                "torch_version": "2.13.0", "measured_at": "t",
                                "peak_gflops": {"float32": 173.0, "bfloat16": {"gflops": 395.0}}}))
    before = path.read_bytes()
    data = site_data.load_site(root / "results")
    assert data.calibrations == {}
    assert data.problems == (
        f"{path}: malformed calibration (peak_gflops['bfloat16'] is {{'gflops': 395.0}}, not a positive number); "
        "re-run `torchperf calibrate` (efficiency not shown for fixture-box)",
    )
    assert path.read_bytes() == before
    path.unlink()
    assert site_data.load_site(root / "results").calibrations == {} and site_data.load_site(root / "results").problems == ()


def test_one_torch_release_is_one_column_and_the_build_is_the_flavour(tmp_path: Path) -> None:
    """An `existing` interpreter (2.13.0+cpu in its sidecar, no asv pin) and an asv environment
    pinned to 2.13.0, at one commit: one release, one column."""
    root = tmp_path / "p"
    make_project(root, site_fixture())
    machine_dir = root / "results" / "fixture-box"
    commit = json.loads(next(machine_dir.glob("*-*.json")).read_text())["commit_hash"]
    pinned = next(machine_dir.glob(f"{commit[:8]}-*torch2.13.0*.json"))
    for other in machine_dir.glob(f"{commit[:8]}-*torch2.14.1*.json"):
        other.unlink()
    doc = json.loads(pinned.read_text())
    doc["env_name"] = "existing-py_usr_bin_python3"
    doc["params"] = {k: v for k, v in doc["params"].items() if k.rsplit("+", 1)[-1] != "torch"}
    doc["requirements"] = {}
    col = doc["result_columns"].index("started_at")
    for row in doc["results"].values():  # run after the asv environment: the one the column shows
        row[col] = row[col] + 60_000
    existing = machine_dir / f"{commit[:8]}-existing-py_usr_bin_python3.json"
    existing.write_text(json.dumps(doc))
    sidecar = json.loads((root / "meta" / "fixture-box" / pinned.name).read_text())
    sidecar.update(results_file=existing.name, env_name=doc["env_name"], torch_version="2.13.0+cpu")
    (root / "meta" / "fixture-box" / existing.name).write_text(json.dumps(sidecar))
    (root / "meta" / "fixture-box" / pinned.name).unlink()  # the asv environment: its pin alone

    data = site_data.load_site(root / "results")
    assert data.versions("fixture-box", commit) == ["2.13.0"]
    envs = sorted((e.env_name, e.torch_version, e.flavour) for e in data.environments if e.commit == commit)
    assert envs == [("existing-py_usr_bin_python3", "2.13.0", "cpu"),
                    ("virtualenv-py3.11-numpy-packaging-pip+torch2.13.0-setuptools-threadpoolctl", "2.13.0", None)]
    rows = site_versions.version_rows(data, "fixture-box", commit)
    assert rows and all(r.versions == ("2.13.0",) and r.changes == () for r in rows)
    assert {p.env_name for r in rows for p in r.points} == {"existing-py_usr_bin_python3"}  # the latest run


@pytest.mark.parametrize(
    "raw,at_32",
    [(2e6, 2e6), ([1.0, 2e6, 3.0], 1.0), ({"(64, 'float32')": 2e6}, None), ({"64, 'float32'": 2e6}, None)],
)
def test_flop_attribute_shapes(raw: object, at_32: float | None) -> None:
    """The site reads FLOP and byte models with the store's one reader (compare's too)."""
    from torchperf_core.store import attribute_for

    info = {"params": [["32", "64"], ["'float32'"]], "bytes": raw}
    assert attribute_for(info, (("size", "64"), ("dtype", "'float32'")), ("bytes_moved", "bytes")) == 2e6
    assert attribute_for(info, (("size", "32"), ("dtype", "'float32'")), ("bytes_moved", "bytes")) == at_32


def _point(value: float | None, samples: list[float] | None, stats: dict | None = None) -> site_data.ResultPoint:
    from torchperf_core.store import Sample

    if stats is None and samples:
        stats = {"ci_99_a": min(samples), "ci_99_b": max(samples), "q_25": min(samples), "q_75": max(samples),
                 "number": 1, "repeat": len(samples)}
    return site_data.ResultPoint("m", "c", 0, "e", "s", "2", "b", (), 0, "seconds",
                                 Sample(value, stats, tuple(samples) if samples else None, "1"), 2e9, 1e6)


def _runs(*medians: float, contended: bool = False) -> "CaseCondition":
    from torchperf_core.store import CaseCondition

    return CaseCondition(20, 20, 0.0, contended, "busy" if contended else None, 2, tuple(medians))


def test_change_between_is_the_compare_verdict() -> None:
    base = _point(1.0, [0.99, 1.0, 1.01, 1.0, 0.995, 1.005, 1.0, 1.0])
    slow = _point(1.5, [1.49, 1.5, 1.51, 1.5, 1.495, 1.505, 1.5, 1.5])
    tiny = _point(1.02, [1.01, 1.02, 1.03, 1.02, 1.015, 1.025, 1.02, 1.02])
    runs = (_runs(0.99, 1.01, 1.0), _runs(1.49, 1.51, 1.5))  # three runs a side (issue 11)
    assert site_versions.change_between(base, slow, conditions=runs).verdict == "slower"
    assert site_versions.change_between(slow, base, conditions=runs[::-1]).verdict == "faster"
    assert site_versions.change_between(base, tiny) == site_versions.Change("same", 1.02, 1.07, False)
    one_run = site_versions.change_between(base, slow)  # no run medians: one run per side
    assert (one_run.verdict, one_run.reason) == ("unknown", "one run per side (need 3): re-measure")
    busy = site_versions.change_between(base, slow, conditions=(runs[0], _runs(1.49, 1.51, 1.5, contended=True)))
    assert (busy.verdict, busy.mark) == ("contended", "contended")
    # no statistics: asv (and compare) judge by the ratio alone
    bare = _point(1.5, None, {})
    assert site_versions.change_between(base, bare, conditions=runs).verdict == "slower"
    assert site_versions.change_between(base, _point(None, None)).verdict == "failed"
    assert site_versions.change_between(base, None).verdict == "only before"
    assert site_versions.change_between(None, None) is None
    assert base.gflops == pytest.approx(2.0) and base.gbps == pytest.approx(1e-3)
    assert base.ci_99 == (0.99, 1.01) and bare.ci_99 is None


# ---------------------------------------------------------------------------------------------
# Commands


def test_plot_command_writes_png_and_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = site_fixture()
    out = tmp_path / "plots"
    args = ["plot", "--results", str(fixture / "results"), "--meta", str(fixture / "meta"), "--out", str(out)]
    assert main(args) == 0
    pngs, svgs = sorted(out.glob("*.png")), sorted(out.glob("*.svg"))
    assert pngs and len(pngs) == len(svgs)
    kinds = {p.name.split("-")[0] for p in pngs}
    assert {"versions", "roofline"} <= kinds
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert main([*args, "--machine", "nosuchbox"]) == 2
    assert "unknown machine 'nosuchbox'" in capsys.readouterr().err


def test_publish_command_reports_a_missing_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["publish", "--config", str(tmp_path / "nope.json")]) == 2
    assert "asv config" in capsys.readouterr().err


def test_report_notebook_runs_top_to_bottom(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    fixture = site_fixture()
    nb = nbformat.read(REPO / "examples" / "report.ipynb", as_version=4)
    env_backup = dict(os.environ)
    os.environ["TORCHPERF_RESULTS"] = str(fixture / "results")
    os.environ["TORCHPERF_META"] = str(fixture / "meta")
    try:
        client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                         resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    outputs = "".join(
        str(o.get("text", "")) + json.dumps(o.get("data", {})) for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "image/png" in outputs
    assert not any(o.get("output_type") == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_environment_page_shows_the_machine_condition(tmp_path: Path) -> None:
    """The doctor verdict and the noise figures saved with the results reach the site."""
    from torchperf_core.machine.doctor import Check, DoctorReport
    from torchperf_core.machine.noise import NoiseReport, ProbeNoise

    root = tmp_path / "project"
    config = make_project(root, site_fixture())
    machine = next(p.name for p in (root / "results").iterdir() if p.is_dir())
    base = root / "meta" / machine
    doctor = DoctorReport((Check("load average", "WARN", "load 3.2 on 2 CPUs", "close other programs"),),
                          taken_at="2026-11-24T20:00:00Z")
    (base / "doctor.json").write_text(json.dumps(doctor.to_json()))
    runs = tuple(tuple(1e-3 * (1 + 0.01 * ((i * 7 + r) % 5)) for i in range(15)) for r in range(4))
    noise = NoiseReport((ProbeNoise("mm 256", runs),), taken_at="2026-11-24T20:01:00Z")
    (base / "noise.json").write_text(json.dumps(noise.to_json()))
    publish_site(config, run_asv=False)
    page = (root / "html" / "torchperf" / "environment.html").read_text()
    assert "Machine condition: <span class=\"verdict-noisy\">noisy</span>" in page
    assert "load 3.2 on 2 CPUs" in page
    mds = noise.probes[0].mds
    assert ("&gt;100%" if mds is None else f"{mds:.0%}") in page


def test_a_figure_whose_margins_cannot_fit_is_drawn_without_matplotlibs_layout_warning() -> None:
    """The main job's output once carried "UserWarning: Tight layout not applied" from a scaling
    figure with many lines; the figure keeps its default margins, and nothing is printed."""
    import warnings

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from torchperf_core.site.plots import _tight

    def crowded() -> Figure:
        fig = Figure(figsize=(1, 1))
        FigureCanvasAgg(fig)
        fig.add_subplot().set_xlabel("x\n" * 30)
        return fig

    with warnings.catch_warnings(record=True) as raw:
        warnings.simplefilter("always")
        crowded().tight_layout()
    assert any("Tight layout not applied" in str(w.message) for w in raw)  # the fixture does trigger it
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        _tight(crowded())
    assert [str(w.message) for w in ours] == []

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
    latest = {}
    for (machine, commit, *_), _value in expected.items():
        date = json.loads(next((site / "results" / machine).glob(f"{commit[:8]}-*.json")).read_text())["date"]
        latest[machine] = max(latest.get(machine, (0, "")), (date, commit))
    for (machine, commit, bench, index, version), value in expected.items():
        if commit == latest[machine][1]:
            assert shown[(machine, bench, index, version)] == value
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
    with pytest.raises(TorchperfError, match="no results for commit 'nosuchrev'"):
        publish_site(config, commit="nosuchrev", run_asv=False)


def test_significant_changes_are_marked_with_asv_rule(site: Path) -> None:
    data = site_data.load_site(site / "results", site / "meta")
    marks = set()
    for machine in data.machines:
        for row in site_data.version_rows(data, machine, data.latest_commit(machine)):
            for change in row.changes:
                if change is not None:
                    marks.add(change.mark)
                    if change.mark == "slower":
                        assert change.significant and change.ratio > change.factor
    page = (site / "html" / "torchperf" / "versions.html").read_text()
    for mark in marks:
        assert f'data-change="{mark}"' in page


def test_environment_page_shows_fingerprints_kernels_and_differences(site: Path) -> None:
    page = (site / "html" / "torchperf" / "environment.html").read_text()
    assert "torch.mkl_version" in page and "mm/bfloat16" in page
    assert "2.13.0 → 2.14.1" in page


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
    regs = site_regressions.load_regressions(html)
    assert regs
    from torchperf_core.compare import regressions as cli_regressions  # what `torchperf regressions` lists

    listed = cli_regressions.load_regressions(html).regressions
    assert len(regs) == sum(len(r.jumps) for r in listed)
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
    benchmarks[new] = info
    bench_file.write_text(json.dumps(benchmarks))
    for path in results.glob("*/*-*.json"):
        data = json.loads(path.read_text())
        if old in data["results"]:
            row = data["results"].pop(old)
            row[data["result_columns"].index("params")] = info["params"]
            data["results"][new] = row
        data["params"]["machine"] = f"m{EVIL}"
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
        assert "<script>alert" not in text, page.name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text or page.name == "regressions.html"


# ---------------------------------------------------------------------------------------------
# Pure parts


def test_version_order_is_pep440() -> None:
    got = sorted(["2.14.1", "2.9.0", "2.13.0", "2.13.0rc1", "nightly"], key=site_data.version_key)
    assert got == ["2.9.0", "2.13.0rc1", "2.13.0", "2.14.1", "nightly"]


def test_calibration_is_read_tolerantly(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    assert site_data.load_calibration(path, "m") is None
    path.write_text("{not json")
    assert site_data.load_calibration(path, "m") is None
    path.write_text(json.dumps({"format_version": 1, "machine": "m", "device": "cpu",
                                "peak_gflops": {"float32": 173.0, "bfloat16": {"gflops": 395.0}, "float16": None}}))
    cal = site_data.load_calibration(path, "m")
    assert cal.peak_gflops == {"float32": 173.0, "bfloat16": 395.0} and cal.bandwidth_gbps is None
    assert cal.peak_for("tf32") == 173.0 and cal.peak_for(None) is None


@pytest.mark.parametrize(
    "raw",
    [2e6, [1.0, 2e6, 3.0], {"(64, 'float32')": 2e6}, {"64, 'float32'": 2e6}],
)
def test_flop_attribute_shapes(raw: object) -> None:
    info = site_data.BenchmarkInfo("b", "seconds", ("size", "dtype"), (("32", "64"), ("'float32'",)), {"flops": raw})
    assert site_data._attribute_for(info, ("flops",), ("64", "'float32'"), 1) == 2e6


def _point(value: float, samples: list[float]) -> site_data.ResultPoint:
    lo, hi = min(samples), max(samples)
    return site_data.ResultPoint("m", "c", 0, "e", "s", "2", "b", (), 0, "seconds", value, (lo, hi), None, None,
                                 tuple(samples), 2e9, 1e6)


def test_change_between_uses_asv_significance_and_the_factor() -> None:
    base = _point(1.0, [0.99, 1.0, 1.01, 1.0, 0.995, 1.005, 1.0, 1.0])
    slow = _point(1.5, [1.49, 1.5, 1.51, 1.5, 1.495, 1.505, 1.5, 1.5])
    tiny = _point(1.02, [1.01, 1.02, 1.03, 1.02, 1.015, 1.025, 1.02, 1.02])
    assert site_data.change_between(base, slow).mark == "slower"
    assert site_data.change_between(slow, base).mark == "faster"
    assert site_data.change_between(base, tiny).mark == "same"  # significant, but under the factor
    no_ci = site_data.ResultPoint(*[*base.__dict__.values()][:11], None, None, None, None, None, None)
    assert site_data.change_between(base, no_ci).mark == "unknown"
    assert base.gflops == pytest.approx(2.0) and base.gbps == pytest.approx(1e-3)


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

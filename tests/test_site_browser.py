"""The published site in a real headless Chromium (Debian's `chromium` + `chromium-driver`).

The site is built with the real `asv publish` from committed real asv results, served on 127.0.0.1
by a `http.server` thread, and driven with selenium. A screenshot of each page is left in the test's
temporary folder for a person to look at (`pytest --basetemp=DIR` keeps them somewhere known).
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.site_build import FIXTURES, make_project, results_medians, site_fixture
from torchperf_core.site.publish import publish_site

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "browser tests need Debian's chromium and chromium-driver (`make browser`, or "
        "`apt-get install chromium chromium-driver`)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="browser tests need selenium (pip install -e '.[test]')")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser") / "project"
    publish_site(make_project(root, site_fixture(), FIXTURES / "compare_run_v1"))
    return root


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site / "html"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1600"):
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    drv.set_page_load_timeout(60)
    try:
        yield drv
    finally:
        drv.quit()


def _load(driver, url: str, shot: Path, ready_js: str, timeout: float = 20.0) -> list[dict]:
    """Open `url`, wait until `ready_js` is truthy, save a screenshot, return the SEVERE console entries."""
    driver.get(url)
    deadline = time.monotonic() + timeout
    while not driver.execute_script(ready_js):
        if time.monotonic() > deadline:
            driver.save_screenshot(str(shot))
            raise AssertionError(f"page not ready after {timeout}s ({ready_js}); screenshot: {shot}")
        time.sleep(0.2)
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 1000
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def _matmul_benchmark(site: Path) -> tuple[str, str]:
    """A matmul benchmark that has results, plain `mm` first, and a machine it ran on."""
    ran: dict[str, str] = {}
    for path in sorted((site / "results").glob("*/*-*.json")):
        data = json.loads(path.read_text())
        for name, row in data["results"].items():
            values = row[data["result_columns"].index("result")]
            if any(isinstance(v, (int, float)) for v in (values if isinstance(values, list) else [values])):
                ran.setdefault(name, data["params"]["machine"])
    # the class/method part names the op (a module may hold other families too)
    names = sorted((n for n in ran if re.search(r"mat_?mul|mm", n.split(".", 1)[-1], re.I)),
                   key=lambda n: (not n.endswith(".track_mm"), n))
    assert names, "no matmul benchmark with results in the fixture"
    return names[0], ran[names[0]]


def test_asv_graph_for_a_matmul_benchmark_draws(site: Path, base_url: str, driver, tmp_path: Path) -> None:
    name, machine = _matmul_benchmark(site)
    url = f"{base_url}/index.html#{name}?machine={machine}"
    severe = _load(driver, url, tmp_path / "asv_graph.png",
                   "return document.querySelectorAll('#main-graph canvas.flot-base').length > 0")
    assert driver.execute_script("return document.querySelectorAll('#main-graph canvas').length") >= 1
    assert "error.html" not in driver.current_url  # asv's page for a failed script load
    assert not severe, severe
    link = driver.find_element("css selector", "#nav-li-torchperf a")
    assert link.get_attribute("href").endswith("/torchperf/versions.html")


def test_versions_page_shows_the_numbers_in_the_results_files(site: Path, base_url: str, driver, tmp_path: Path) -> None:
    severe = _load(driver, f"{base_url}/torchperf/versions.html", tmp_path / "versions.png",
                   "return document.readyState === 'complete'")
    assert not severe, severe
    cells = driver.execute_script(
        "return Array.from(document.querySelectorAll('td[data-median]')).map(function (td) {"
        " return [td.dataset.machine, td.dataset.benchmark, td.dataset.paramIndex, td.dataset.torch,"
        " td.dataset.median, td.textContent]; });"
    )
    shown = {(m, b, int(i), t): (float(v), text) for m, b, i, t, v, text in cells}
    expected = results_medians(site / "results")
    # The page shows each machine's latest commit in the store's order (commit date, then when it
    # was run): the fixture's commits share a date, so a hash tie-break would pick at random.
    from torchperf_core.store import ResultsStore

    store = ResultsStore(site / "results")
    latest = {machine: store.commits(machine)[-1] for machine, *_ in expected}
    checked = 0
    for (machine, commit, bench, index, version), value in expected.items():
        if commit != latest[machine]:
            continue
        got, text = shown[(machine, bench, index, version)]
        assert got == value
        scale, unit = next((s, u) for s, u in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")) if value >= s or u == "ns")
        assert f"{value / scale:.3g} {unit}" in text
        checked += 1
    assert checked >= 4
    # The machine selector shows one machine at a time.
    machines = driver.execute_script("return Array.from(document.querySelectorAll('#machine-select option')).map(o => o.value)")
    if len(machines) > 1:
        visible = driver.execute_script(
            "return Array.from(document.querySelectorAll('section.machine')).filter(s => s.offsetParent !== null)"
            ".map(s => s.dataset.machine)")
        assert visible == [machines[0]]


def test_efficiency_page_draws_its_charts(base_url: str, driver, tmp_path: Path) -> None:
    severe = _load(driver, f"{base_url}/torchperf/efficiency.html", tmp_path / "efficiency.png",
                   "return document.readyState === 'complete'")
    assert not severe, severe
    sizes = driver.execute_script(
        "return Array.from(document.querySelectorAll('img.roofline')).map(i => [i.complete, i.naturalWidth]);"
    )
    assert sizes and all(done and width > 100 for done, width in sizes)


def test_our_pages_work_from_file_urls(site: Path, driver, tmp_path: Path) -> None:
    page = site / "html" / "torchperf" / "versions.html"
    severe = _load(driver, page.as_uri(), tmp_path / "versions_file_url.png", "return document.readyState === 'complete'")
    assert not severe, severe
    sizes = driver.execute_script("return Array.from(document.images).map(i => i.naturalWidth)")
    assert sizes and all(width > 100 for width in sizes)


def test_regression_links_open_asv_graphs(site: Path, base_url: str, driver, tmp_path: Path) -> None:
    severe = _load(driver, f"{base_url}/torchperf/regressions.html", tmp_path / "regressions.png",
                   "return document.readyState === 'complete'")
    assert not severe, severe
    links = [a.get_attribute("href") for a in driver.find_elements("css selector", "table.regressions a")]
    if not links:
        pytest.skip("the fixtures' history has no step for asv to detect")
    severe = _load(driver, links[0], tmp_path / "regression_graph.png",
                   "return document.querySelectorAll('#main-graph canvas.flot-base').length > 0")
    assert not severe, severe
    assert "error.html" not in driver.current_url


def test_environment_and_regressions_pages_load_cleanly(base_url: str, driver, tmp_path: Path) -> None:
    for page in ("environment", "regressions"):
        severe = _load(driver, f"{base_url}/torchperf/{page}.html", tmp_path / f"{page}.png",
                       "return document.readyState === 'complete'")
        assert not severe, (page, severe)
        assert driver.find_element("css selector", "header a.brand").get_attribute("href").endswith("/index.html")

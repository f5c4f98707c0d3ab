"""One verdict per step: the site's regressions page and `torchperf regressions` judge alike.

Both are built here from one history (a real `asv publish` of compare_run_v1: tests/fixtures/
regressions_v1, with compare_run_v1's results edited so that the steps cover every kind): two decided
slowdowns, one contended step, five unknown ones, and a `run --threads 1` file at HEAD that the
published graphs do not plot. The page is built by `publish_site` (the site's builder) and read back
from its HTML; the CLI's verdicts come from its JSON. Both must give each step the exact verdict
listed below, so the page can neither re-judge on its own nor drift from the CLI."""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
from pathlib import Path

from tests.compare_helpers import HEAD, ROOT, copy_fixture, results_file, run_cli, set_case
from torchperf_core.site.publish import publish_site
from torchperf_core.verdict import CONTENDED, SLOWER, UNKNOWN

# (benchmark, asv's parameter text, the page's parameter label, torch) -> verdict
EXPECTED = {
    ("bench_toy.MatMul.time_mm", "('bfloat16', 256)", "dtype=bfloat16, size=256", "2.13.0"): UNKNOWN,
    ("bench_toy.MatMul.time_mm", "('bfloat16', 256)", "dtype=bfloat16, size=256", "2.14.1"): SLOWER,
    ("bench_toy.MatMul.time_mm", "('float32', 256)", "dtype=float32, size=256", "2.14.1"): UNKNOWN,
    ("bench_toy.Work.time_work", "('slower', 1)", "kind=slower, scale=1", "2.13.0"): SLOWER,
    ("bench_toy.Work.time_work", "('slower', 1)", "kind=slower, scale=1", "2.14.1"): UNKNOWN,
    ("bench_toy.Work.time_work", "('slower', 2)", "kind=slower, scale=2", "2.13.0"): CONTENDED,
    ("bench_toy.Work.time_work", "('steady', 1)", "kind=steady, scale=1", "2.14.1"): UNKNOWN,
    ("bench_toy.time_plain", "", "(no parameters)", "2.14.1"): UNKNOWN,
}
_ROW = re.compile(
    r'<tr><td class="mono">(?P<bench>[^<]*)</td><td class="mono">(?P<params>[^<]*)</td>'
    r'<td class="mono">torch=(?P<torch>[^<]*)</td><td class="mono">[^<]*</td>(?:<td class="num[^"]*">[^<]*</td>){3}'
    r'<td class="(?P<mark>[^"]*)" data-verdict="(?P=mark)"(?: title="(?P<reason>[^"]*)")?>(?P<verdict>[^<]*)</td>')


def _history(tmp_path: Path) -> Path:
    """The project: asv config, results and sidecars (three runs a side), the published site."""
    run = copy_fixture(tmp_path)
    set_case(run, results_file(run, HEAD, "2.13.0"), "bench_toy.Work.time_work", "('slower', 2)", contended=True)
    set_case(run, results_file(run, HEAD, "2.14.1"), "bench_toy.time_plain", "()", drop=True)
    src = results_file(run, HEAD, "2.13.0")  # a `run --threads 1` of HEAD: not what the graphs plot
    data = json.loads(src.read_text())
    data["env_name"] += "-TORCHPERF_THREADS1"
    data["env_vars"] = {"TORCHPERF_THREADS": "1"}
    (src.parent / src.name.replace(".json", "-TORCHPERF_THREADS1.json")).write_text(json.dumps(data))
    shutil.copytree(ROOT / "tests/fixtures/regressions_v1/html", run / "html")
    (run / "asv.conf.json").write_text(json.dumps({"version": 1, "project": "toy", "repo": ".",
                                                   "results_dir": "results", "html_dir": "html"}))
    return run


def _page_verdicts(page: str) -> dict[tuple[str, str, str], tuple[str, str, str | None]]:
    """(benchmark, parameter label, torch) -> (CSS mark, verdict cell text, reason) for each row."""
    rows = {}
    for m in _ROW.finditer(page):
        key = tuple(html_lib.unescape(m[g]) for g in ("bench", "params", "torch"))
        reason = html_lib.unescape(m["reason"]) if m["reason"] is not None else None
        rows[key] = (m["mark"], html_lib.unescape(m["verdict"]), reason)
    assert page.count("<tr><td") == len(rows), "a row the pattern did not read"
    return rows  # type: ignore[return-value]


def test_the_site_page_and_the_cli_give_each_step_the_same_verdict(tmp_path, capsys) -> None:
    run = _history(tmp_path)
    publish_site(run / "asv.conf.json", run_asv=False)
    page = _page_verdicts((run / "html" / "torchperf" / "regressions.html").read_text(encoding="utf-8"))
    code, out, err = run_cli(capsys, "regressions", "--config", str(run / "asv.conf.json"), "--format", "json")
    assert (code, err) == (1, "")  # two decided slowdowns
    cli = {(r["benchmark"], r["params"], r["env"]["torch"]): (j["verdict"], j["reason"])
           for r in json.loads(out)["regressions"] for j in r["jumps"]}

    assert {(b, p, t): v for (b, p, t), (v, _) in cli.items()} == {(b, p, t): v for (b, p, _l, t), v in EXPECTED.items()}
    words = {SLOWER: "slower", UNKNOWN: "unknown: re-measure", CONTENDED: "contended: re-run on a quiet machine"}
    assert {k: (mark, text) for k, (mark, text, _) in page.items()} == {
        (b, label, t): ("unknown" if v == UNKNOWN else v, words[v]) for (b, _p, label, t), v in EXPECTED.items()}
    # and the reason the page gives is the CLI's, word for word
    assert {(b, label, t): page[(b, label, t)][2] for (b, p, label, t) in EXPECTED} == {
        (b, label, t): cli[(b, p, t)][1] for (b, p, label, t) in EXPECTED}
    assert page[("bench_toy.time_plain", "(no parameters)", "2.14.1")][2] == "one run per side (need 3): re-measure"


def test_a_corrupt_published_file_leaves_the_page_empty_and_says_why(tmp_path) -> None:
    """The CLI refuses (exit 2, one line); the site still publishes, lists nothing, and reports the CLI's line."""
    run = _history(tmp_path)
    (run / "html" / "regressions.json").write_text('{"regressions": [[')
    result = publish_site(run / "asv.conf.json", run_asv=False)
    page = (run / "html" / "torchperf" / "regressions.html").read_text(encoding="utf-8")
    assert '<p id="no-regressions">No regressions detected.</p>' in page
    assert [p for p in result.problems if "regressions" in p] == [
        "regressions page left empty: corrupt regressions file '…/html/regressions.json': "
        "Expecting value: line 1 column 19 (char 18)"]  # the project's folder redacted, as every problem

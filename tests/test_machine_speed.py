"""The machine's own speed, stored per run and compared between the sides of a comparison.

Each `torchperf run` stores the noise probes' medians in the sidecars it writes (`SpeedRecord`);
`compare` says when the probes moved beyond the factor between the two sides (the machine ran
faster or slower, not the code). Fixture values decide every expected figure here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.compare_helpers import BASE, HEAD, copy_fixture, edit_sidecar, results_file, run_cli
from torchperf_core import compare as cmp
from torchperf_core.compare import Source, speed_shift, speed_warning
from torchperf_core.errors import TorchperfError
from torchperf_core.machine import NoiseReport, ProbeNoise
from torchperf_core.run.sidecars import write_sidecars
from torchperf_core.store import Sidecar, SpeedRecord, latest_speed, load_sidecar

MM, ADD = "mm 256", "add 4096x4096"
# Three noise runs; run r of both probes is one moment: readings 2.0, 2.2 and 1.8 ms (geometric means).
QUIET = SpeedRecord("2026-12-01T20:00:00+00:00", 2, "2.13.0+cpu",
                    ((MM, (1.0e-3, 1.1e-3, 0.9e-3)), (ADD, (4.0e-3, 4.4e-3, 3.6e-3))))
TIGHT = SpeedRecord("2026-12-01T20:00:00+00:00", 2, "2.13.0+cpu",
                    ((MM, (1.0e-3, 1.001e-3, 0.999e-3)), (ADD, (4.0e-3, 4.004e-3, 3.996e-3))))


def scaled(record: SpeedRecord, mm: float, add: float | None = None, *, taken_at: str = "2026-12-01T22:00:00+00:00",
           threads: int | None = 2, torch: str | None = "2.13.0+cpu") -> SpeedRecord:
    k = {MM: mm, ADD: mm if add is None else add}
    return SpeedRecord(taken_at, threads, torch, tuple((n, tuple(x * k[n] for x in runs)) for n, runs in record.probes))


def test_half_speed_is_decided_with_the_replicate_rule() -> None:
    shift = speed_shift(QUIET, scaled(QUIET, 2.0))
    assert shift.ratio == pytest.approx(2.0) and shift.runs == (3, 3)
    assert [(n, round(r, 12)) for n, r in shift.probes] == [(MM, 2.0), (ADD, 2.0)]
    # the readings' logs scatter by ~0.1 a side, the shift is ln 2: Welch t ~ 8.5 on ~4 df
    assert 1e-4 < shift.p < 0.01 and shift.decided(1.07)


def test_a_shift_beyond_the_factor_within_the_probes_own_scatter_is_not_decided() -> None:
    """Back-to-back noise probes on a host whose speed moves within seconds read x1.27 apart: one
    snapshot a side must not be taken for a change of the machine."""
    wide = SpeedRecord("t", 2, "2.13.0+cpu", ((MM, (1.0e-3, 1.3e-3, 0.8e-3)),))
    later = SpeedRecord("t2", 2, "2.13.0+cpu", ((MM, (1.3e-3, 0.9e-3, 1.6e-3)),))
    shift = speed_shift(wide, later)
    assert shift.ratio == pytest.approx((1.3 * 0.9 * 1.6 / (1.0 * 1.3 * 0.8)) ** (1 / 3))  # x1.216
    assert shift.p > 0.2 and not shift.decided(1.07)
    assert speed_warning(shift, 1.07, "A", "B") is None


def test_the_factor_bounds_the_shift_both_ways() -> None:
    # tight runs: p is tiny at any of these, so the factor alone decides
    assert not speed_shift(TIGHT, scaled(TIGHT, 1.0699)).decided(1.07)
    assert speed_shift(TIGHT, scaled(TIGHT, 1.0701)).decided(1.07)
    assert not speed_shift(TIGHT, scaled(TIGHT, 1 / 1.0699)).decided(1.07)
    assert speed_shift(TIGHT, scaled(TIGHT, 1 / 1.0701)).decided(1.07)
    assert not speed_shift(TIGHT, scaled(TIGHT, 1.2)).decided(1.25)  # the factor given, not a constant


def test_probes_move_together_or_cancel_in_the_geometric_mean() -> None:
    # x1.21 and x1.0 in every run: 1.1 (an arithmetic mean would say 1.105)
    assert speed_shift(TIGHT, scaled(TIGHT, 1.21, 1.0)).ratio == pytest.approx(1.1, rel=1e-12)
    # x4 and x0.25 cancel: the machine did not change speed, two probes moved apart
    cancel = speed_shift(QUIET, scaled(QUIET, 4.0, 0.25))
    assert cancel.ratio == pytest.approx(1.0, rel=1e-12) and not cancel.decided(1.07)


def test_probes_in_common_only_and_none_when_not_comparable() -> None:
    more = SpeedRecord("t", 2, "2.13.0+cpu", ((ADD, (6.0e-3, 6.6e-3, 5.4e-3)), ("mm 2048", (1.0, 1.0, 1.0))))
    shift = speed_shift(QUIET, more)
    assert [(n, round(r, 12)) for n, r in shift.probes] == [(ADD, 1.5)] and shift.ratio == pytest.approx(1.5)
    assert speed_shift(QUIET, SpeedRecord("t", 2, "2.13.0+cpu", (("mm 2048", (1.0,)),))) is None
    assert speed_shift(QUIET, scaled(QUIET, 2.0, threads=1)) is None  # 1 thread is slower by itself
    assert speed_shift(QUIET, scaled(QUIET, 2.0, torch="2.14.1")) is None  # another BLAS build


def test_fewer_than_three_runs_a_side_decide_nothing() -> None:
    two = SpeedRecord("t", 2, "2.13.0+cpu", ((MM, (1.0e-3, 1.0e-3)), (ADD, (4.0e-3, 4.0e-3))))
    shift = speed_shift(two, scaled(two, 2.0))
    assert shift.runs == (2, 2) and shift.p is None and not shift.decided(1.07)


def test_the_line_names_direction_size_evidence_probes_and_times() -> None:
    shift = speed_shift(QUIET, scaled(QUIET, 2.0))
    assert speed_warning(shift, 1.07, "b8a3a8cb", "b151c94f") == (
        "machine speed: the noise probes ran x2.00 slower when b151c94f was measured (2026-12-01T22:00:00+00:00) "
        f"than when b8a3a8cb was (2026-12-01T20:00:00+00:00; p {shift.p:.2g}, 3 and 3 runs): mm 256 x2.00, "
        "add 4096x4096 x2.00; every ratio between the two sides carries that, so measure both sides again "
        "together (`torchperf continuous` interleaves them)")
    faster = speed_warning(speed_shift(TIGHT, scaled(TIGHT, 0.8, taken_at="")), 1.07, "A", "B")
    assert faster.startswith("machine speed: the noise probes ran x1.25 faster when B was measured "
                             "(time not recorded) than when A was")
    assert speed_warning(None, 1.07, "A", "B") is None


def test_the_noise_report_gives_its_probe_run_medians_threads_and_torch() -> None:
    report = NoiseReport((ProbeNoise("mm 256", ((1.0, 3.0, 2.0), (4.0, 5.0, 6.0), (2.5, 2.5, 9.0))),),
                         threads=2, taken_at="2026-12-01T20:00:00+00:00", torch="2.13.0+cpu")
    assert report.speed_record() == SpeedRecord("2026-12-01T20:00:00+00:00", 2, "2.13.0+cpu",
                                                (("mm 256", (2.0, 5.0, 2.5)),))
    assert NoiseReport.from_json(json.loads(json.dumps(report.to_json()))).torch == "2.13.0+cpu"
    old = report.to_json()
    del old["torch"]  # a noise.json written before the field: read, torch unknown
    assert NoiseReport.from_json(old).torch is None


def _results(tmp_path: Path, commit: str = "abcd1234" * 5) -> Path:
    res = tmp_path / "results" / "box"
    res.mkdir(parents=True, exist_ok=True)
    path = res / "abcd1234-env.json"
    path.write_text(json.dumps({"env_name": "env", "commit_hash": commit}))
    return path


def _write(path: Path, speed: SpeedRecord | None) -> Sidecar:
    write_sidecars([path], {"env": "/x/bin/python"}, speed=speed,
                   fingerprint=lambda _python: ({"torch": {"version": "2.13.0+cpu"}}, {}, "2.13.0+cpu", None))
    return load_sidecar(path.parent.parent.parent / "meta" / "box" / path.name)


def test_each_run_adds_its_record_once_and_another_commit_starts_afresh(tmp_path: Path) -> None:
    path = _results(tmp_path)
    later = scaled(QUIET, 2.0)
    assert _write(path, QUIET).speed == (QUIET,)
    assert _write(path, QUIET).speed == (QUIET,)  # a second round of the same run
    assert _write(path, later).speed == (QUIET, later)
    assert latest_speed(path) == later
    # A run without noise probes re-measured the file: its speed is unknown, and no earlier run's
    # record may stand in for it.
    assert _write(path, None).speed == () and latest_speed(path) is None
    assert _write(path, QUIET).speed == (QUIET,)
    path.write_text(json.dumps({"env_name": "env", "commit_hash": "ef" * 20}))  # asv re-used the name
    assert _write(path, later).speed == (later,)


@pytest.mark.parametrize("speed,message", [
    ({"taken_at": "t"}, "sidecar field 'speed' is not a list of speed records"),
    ({}, "sidecar field 'speed' is not a list of speed records"),
    ("", "sidecar field 'speed' is not a list of speed records"),
    ([{"threads": 2, "probes": {"mm 256": [float("inf")]}}], "probes must map probe names to lists of positive"),
    ([{"threads": 2, "probes": {}}], "speed record is malformed: probes must map probe names to lists of positive"),
    ([{"threads": 2, "probes": {"mm 256": [1.0, -1.0]}}], "probes must map probe names to lists of positive seconds"),
    ([{"threads": 2, "probes": {"mm 256": 1.0}}], "probes must map probe names to lists of positive seconds"),
    ([{"threads": 2, "probes": {"mm 256": []}}], "probes must map probe names to lists of positive seconds"),
    ([{"threads": 0, "probes": {"mm 256": [1.0]}}], "threads must be a positive integer, not 0"),
    (["fast"], "speed record is malformed: expected an object, got str"),
])  # fmt: skip
def test_a_malformed_speed_record_is_refused_in_one_line_naming_the_file(tmp_path: Path, speed, message: str) -> None:
    path = tmp_path / "side.json"
    path.write_text(json.dumps({"format_version": 2, "results_file": "r.json", "machine": "box",
                                "commit_hash": "ab" * 20, "env_name": "env", "torch_version": None,
                                "fingerprint": None, "speed": speed}))
    with pytest.raises(TorchperfError) as info:
        load_sidecar(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_sidecar_written_before_the_field_reads_with_no_speed() -> None:
    fixture = Path(__file__).parent / "fixtures" / "compare_run_v1"
    results = next((fixture / "results" / "cmpbox").glob("b8a3a8cb-*.json"))
    assert latest_speed(results, fixture / "meta") is None


def _set_speed(run: Path, commit: str, records: list[SpeedRecord]) -> None:
    for torch in ("2.13.0", "2.14.1"):
        edit_sidecar(run, results_file(run, commit, torch),
                     lambda data: data.__setitem__("speed", [r.to_json() for r in records]))


def test_compare_says_when_the_machine_ran_at_another_speed(tmp_path: Path, capsys) -> None:
    run = copy_fixture(tmp_path)
    half_speed = scaled(QUIET, 2.0)
    _set_speed(run, BASE, [QUIET])
    _set_speed(run, HEAD, [scaled(QUIET, 1.0, taken_at="2026-12-01T18:00:00+00:00"), half_speed])  # latest counts
    c = cmp.compare_commits(Source(run / "results"), BASE, HEAD)
    line = speed_warning(speed_shift(QUIET, half_speed), c.factor, BASE, HEAD)
    assert [w for w in c.warnings if w.startswith("machine speed")] == [line]  # once for both environments
    assert c.speed_lines == (line,)
    code, out, _err = run_cli(capsys, "compare", BASE, HEAD, "--results-dir", str(run / "results"))
    assert f"warning: {line}" in out
    assert f"warning: {line}" in out.split("\n\n")[0]  # above the table, with the other warnings


def test_the_speed_line_reads_the_sidecars_where_the_meta_dir_says(tmp_path: Path) -> None:
    run = copy_fixture(tmp_path)
    _set_speed(run, BASE, [QUIET])
    _set_speed(run, HEAD, [scaled(QUIET, 2.0)])
    elsewhere = tmp_path / "elsewhere" / "meta"
    elsewhere.parent.mkdir()
    (run / "meta").rename(elsewhere)
    c = cmp.compare_commits(Source(run / "results", meta_dir=elsewhere), BASE, HEAD)
    assert [w for w in c.warnings if w.startswith("machine speed: the noise probes ran x2.00 slower")]


@pytest.mark.parametrize("head", [
    [QUIET],  # the same run measured both sides
    [scaled(QUIET, 1.03)],  # x1.03: within the factor
    [SpeedRecord("t", 2, "2.13.0+cpu", ((MM, (1.3e-3, 1.5e-3, 0.8e-3)), (ADD, (5.2e-3, 6.0e-3, 3.2e-3))))],  # scatter
    [scaled(QUIET, 2.0, threads=1)],  # not comparable
    [],  # HEAD's run recorded no speed
])  # fmt: skip
def test_no_speed_line_when_the_probes_agree_or_cannot_be_compared(tmp_path: Path, head: list[SpeedRecord]) -> None:
    run = copy_fixture(tmp_path)
    _set_speed(run, BASE, [QUIET])
    _set_speed(run, HEAD, head)
    c = cmp.compare_commits(Source(run / "results"), BASE, HEAD)
    assert not [w for w in c.warnings if w.startswith("machine speed")]


def _version_speeds(run: Path, before: SpeedRecord, after: SpeedRecord) -> list[Path]:
    files = [results_file(run, HEAD, "2.13.0"), results_file(run, HEAD, "2.14.1")]
    for path, record in zip(files, (before, after)):
        edit_sidecar(run, path, lambda data, r=record: data.__setitem__("speed", [r.to_json()]))
    return files


def test_versions_of_one_run_measured_at_another_speed_are_said_so_by_compare_and_the_run_summary(
        tmp_path: Path) -> None:
    """`torchperf run` probes the machine again before each later version (run.suite), so the versions
    of one commit carry their own records: `compare --torch` judges them like two commits' records,
    and the run's summary takes the same line from the same comparison."""
    from torchperf_core.run.summary import summarize_run

    run = copy_fixture(tmp_path)
    half_speed = scaled(QUIET, 2.0)
    files = _version_speeds(run, QUIET, half_speed)
    c = cmp.compare_versions(Source(run / "results"), ["2.13.0", "2.14.1"], commit=HEAD)
    line = speed_warning(speed_shift(QUIET, half_speed), c.factor, "torch 2.13.0", "torch 2.14.1")
    assert line is not None and line.startswith("machine speed: the noise probes ran x2.00 slower when torch 2.14.1")
    assert c.speed_lines == (line,) and [w for w in c.warnings if w.startswith("machine speed")] == [line]
    summary = summarize_run(files, run / "results" / "benchmarks.json", run / "meta")
    assert summary.speed_lines == (line,)
    assert summary.rows and all(r.torch_version in ("2.13.0", "2.14.1") for r in summary.rows)


@pytest.mark.parametrize("after", [QUIET, scaled(QUIET, 1.03)])  # one record for both; within the factor
def test_no_speed_line_in_the_run_summary_when_the_versions_ran_at_one_speed(tmp_path: Path,
                                                                               after: SpeedRecord) -> None:
    from torchperf_core.run.summary import summarize_run

    run = copy_fixture(tmp_path)
    files = _version_speeds(run, QUIET, after)
    assert summarize_run(files, run / "results" / "benchmarks.json", run / "meta").speed_lines == ()


@pytest.mark.parametrize("after,shown", [(scaled(QUIET, 2.0), True), (scaled(QUIET, 1.03), False)])
def test_the_versions_page_shows_compares_speed_line_between_consecutive_releases(
        tmp_path: Path, after: SpeedRecord, shown: bool) -> None:
    from markupsafe import escape

    from tests.site_build import make_project, site_fixture
    from torchperf_core.site.publish import publish_site
    from torchperf_core.store import ResultsStore

    config = make_project(tmp_path / "project", site_fixture())
    root = config.parent
    store = ResultsStore(root / "results")
    (machine,) = store.machines()
    latest = store.commits(machine)[-1]
    for path in (root / "results" / machine).glob(f"{latest[:8]}-*.json"):
        record = QUIET if "torch2.13.0" in path.name else after
        sidecar = root / "meta" / machine / path.name
        data = json.loads(sidecar.read_text())
        data["speed"] = [record.to_json()]
        sidecar.write_text(json.dumps(data))
    publish_site(config, run_asv=False)
    page = (root / "html" / "torchperf" / "versions.html").read_text()
    c = cmp.compare_versions(Source(root / "results"), ["2.13.0", "2.14.1"], commit=latest)
    if shown:
        line = speed_warning(speed_shift(QUIET, after), c.factor, "torch 2.13.0", "torch 2.14.1")
        assert c.speed_lines == (line,)
        assert page.count("data-speed") == 1 and f'<p class="note speed" data-speed>{escape(line)}</p>' in page
    else:
        assert c.speed_lines == () and "data-speed" not in page


def _regressions_history(tmp_path: Path, head: SpeedRecord, factor: float) -> tuple[Path, str]:
    """compare_run_v1 with its published site (tests/fixtures/regressions_v1: every step runs from
    BASE to HEAD); the machine's speed recorded at both commits; (the project, compare's line or "")."""
    import shutil

    from tests.compare_helpers import ROOT

    run = copy_fixture(tmp_path)
    _set_speed(run, BASE, [QUIET])
    _set_speed(run, HEAD, [head])
    shutil.copytree(ROOT / "tests/fixtures/regressions_v1/html", run / "html")
    (run / "asv.conf.json").write_text(json.dumps({"version": 1, "project": "toy", "repo": ".",
                                                   "results_dir": "results", "html_dir": "html"}))
    # every step is one commit (HEAD): BASE is the revision before it, which the step's row does not name
    return run, speed_warning(speed_shift(QUIET, head), factor, f"{BASE} (the revision before the step)", HEAD) or ""


@pytest.mark.parametrize("head,factor,shown", [(scaled(QUIET, 2.0), "1.07", True), (scaled(QUIET, 1.03), "1.07", False),
                                               (QUIET, "1.07", False), (scaled(QUIET, 2.0), "2.5", False)])
def test_regressions_and_their_page_say_when_the_machine_ran_at_another_speed_at_a_steps_ends(
        tmp_path: Path, capsys, head: SpeedRecord, factor: str, shown: bool) -> None:
    """A step's two ends are separate runs: `torchperf regressions` (text, markdown, JSON) and the
    site's regressions page carry compare's machine-speed line between them, on top, once; each
    step's JSON names it. x1.03 (within the factor), one record for both ends, and x2 within a
    --factor of 2.5 (the factor given, as compare) say nothing."""
    from markupsafe import escape

    from torchperf_core.render.text import md_escape
    from torchperf_core.site.publish import publish_site

    run, line = _regressions_history(tmp_path, head, float(factor))
    assert bool(line) == shown
    if shown:
        assert line.startswith(f"machine speed: the noise probes ran x2.00 slower when {HEAD} was measured ")
    argv = ["regressions", "--config", str(run / "asv.conf.json"), "--factor", factor]
    _code, text, _err = run_cli(capsys, *argv)
    head_lines = text.split("\n\n")[0].splitlines()  # the title, the headline, the warnings: above every table
    assert [x for x in text.splitlines() if x.startswith("warning: ")] == ([f"warning: {line}"] if shown else [])
    assert (f"warning: {line}" in head_lines) == shown
    _code, md, _err = run_cli(capsys, *argv, "--format", "markdown")
    assert [x for x in md.splitlines() if x.startswith("> ")] == ([f"> ⚠️ {md_escape(line)}"] if shown else [])
    _code, out, _err = run_cli(capsys, *argv, "--format", "json")
    data = json.loads(out)
    jumps = [j for r in data["regressions"] for j in r["jumps"]]
    assert data["format_version"] == 3 and len(jumps) == 8
    assert data["speed_lines"] == ([line] if shown else [])
    assert [j["machine_speed"] for j in jumps] == [line if shown else None] * 8
    publish_site(run / "asv.conf.json", factor=float(factor), run_asv=False)
    page = (run / "html" / "torchperf" / "regressions.html").read_text(encoding="utf-8")
    if shown:
        assert page.count(f'<p class="note speed" data-speed>{escape(line)}</p>') == 1
        assert page.count(f'<tr data-speed title="{escape(line)}"><td') == 8  # every step's row says which
    else:
        assert "data-speed" not in page and page.count("<tr><td") == 8

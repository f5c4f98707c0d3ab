"""`torchperf blas`: a tiny real run (no timing assertions: what is saved is what was printed, and
which libraries and kernels are named), user errors, the one reader's format check, and the BLAS
section of the machines page rendered from a fixture report with exact cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from torchperf_core import cli
from torchperf_core.compare import BLAS_FORMAT_VERSION, BlasReport, load_blas_report
from torchperf_core.errors import TorchperfError
from torchperf_core.render import render_blas
from torchperf_core.store import blas_report_path
from tests.site_build import site_fixture

TINY = ["blas", "--sizes", "64", "128", "--dtype", "float32", "--rounds", "1", "--threads", "1"]

# A saved report in format 1 (BlasReport.to_json), numbers chosen so that every ratio is known:
# float32 256: 1.3 ms / 1 ms = 1.30; float32 512: 8.5 ms / 6.3 ms = 1.35; float64 256: 2.6 / 2 = 1.30.
# One kernel string carries markup, which the page must show as text.
FIXTURE = {
    "format_version": 1, "threads": 1, "rounds": 3, "torch_version": "2.13.0+cpu",
    "torch_blas": "mkl (MKL 2024.2 build 20240605), oneDNN 3.12.0 (80afa71049cd)",
    "numpy_version": "2.4.6", "numpy_blas": "openblas 0.3.31 (Haswell, pthreads)",
    "rows": [
        {"size": 256, "dtype": "float32", "ratio_torch_to_numpy": 0.0013 / 0.001, "cells": {
            "torch": {"median_s": 0.0013, "round_medians_s": [0.0014, 0.0013, 0.0012], "kernel": "mkl:SGEMM"},
            "numpy": {"median_s": 0.001, "round_medians_s": [0.0011, 0.001, 0.0009],
                      "kernel": "numpy.matmul -> openblas 0.3.31 (Haswell, pthreads)"},
            "torch-no-onednn": {"median_s": 0.0016, "round_medians_s": [0.0016, 0.0015, 0.0017],
                                "kernel": "mkl:<b>SGEMM</b>"}}},
        {"size": 512, "dtype": "float32", "ratio_torch_to_numpy": 0.0085 / 0.0063, "cells": {
            "torch": {"median_s": 0.0085, "round_medians_s": [0.008, 0.009, 0.0085], "kernel": "mkl:SGEMM"},
            "numpy": {"median_s": 0.0063, "round_medians_s": [0.0062, 0.0064, 0.0063],
                      "kernel": "numpy.matmul -> openblas 0.3.31 (Haswell, pthreads)"},
            "torch-no-onednn": {"median_s": 0.0085, "round_medians_s": [0.0085], "kernel": "mkl:SGEMM"}}},
        {"size": 256, "dtype": "float64", "ratio_torch_to_numpy": 0.0026 / 0.002, "cells": {
            "torch": {"median_s": 0.0026, "round_medians_s": [0.0026], "kernel": "mkl:DGEMM"},
            "numpy": {"median_s": 0.002, "round_medians_s": [0.002],
                      "kernel": "numpy.matmul -> openblas 0.3.31 (Haswell, pthreads)"}}},
    ],
}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_tiny_real_run_saves_exactly_what_it_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import numpy
    import torch

    monkeypatch.chdir(tmp_path)
    rc, out, err = _run([*TINY, "--machine", "box", "--json"], capsys)
    assert (rc, err) == (0, "")
    path = tmp_path / "meta" / "box" / f"blas-{torch.__version__}.json"
    saved = json.loads(path.read_text())
    assert json.loads(out) == saved
    report = load_blas_report(path)
    assert report.to_json() == saved  # the reader loses nothing
    assert saved["format_version"] == BLAS_FORMAT_VERSION
    assert (report.threads, report.rounds) == (1, 1)
    assert (report.torch_version, report.numpy_version) == (str(torch.__version__), numpy.__version__)
    assert report.numpy_blas.startswith("openblas ") and report.torch_blas not in ("", "unknown BLAS")
    assert [(r["size"], r["dtype"]) for r in saved["rows"]] == [(64, "float32"), (128, "float32")]
    for row in saved["rows"]:
        cells = row["cells"]
        assert list(cells) == ["torch", "numpy", "torch-no-onednn"]
        assert cells["numpy"]["kernel"] == f"numpy.matmul -> {report.numpy_blas}"
        assert all(c["kernel"] and len(c["round_medians_s"]) == 1 for c in cells.values())
        assert row["ratio_torch_to_numpy"] == cells["torch"]["median_s"] / cells["numpy"]["median_s"]

    # The text: the table of the saved report, to the character, and where it went.
    rc, out, err = _run([*TINY, "--machine", "box2"], capsys)
    path2 = Path("meta") / "box2" / f"blas-{torch.__version__}.json"
    assert (rc, err) == (0, "")
    assert out == render_blas(load_blas_report(path2)) + f"\nsaved {path2}\n"


def test_no_save_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    rc, out, _ = _run([*TINY[:2], "64", "--rounds", "1", "--threads", "1", "--no-save"], capsys)
    assert rc == 0 and "saved" not in out and out.count("float32 64²") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv,message", [
    (["--dtype", "float16"], "--dtype 'float16' has no numpy BLAS GEMM to compare; accepted: float32, float64"),
    (["--dtype", "float32,bfloat16"], "--dtype 'bfloat16' has no numpy BLAS GEMM to compare; accepted: float32, float64"),
    (["--sizes", "0"], "--sizes '0' is not a positive integer; expected sizes such as 256 512 1024"),
    (["--sizes", "64", "x"], "--sizes 'x' is not a positive integer; expected sizes such as 256 512 1024"),
    (["--threads", "0"], "--threads '0' is not a positive integer"),
    (["--rounds", "0"], "--rounds '0' is not a positive integer"),
    (["--sizes", "64", "--machine", "a/b"], "bad machine name 'a/b'; expected a plain name such as 'ci-box'"),
])
def test_user_errors_are_one_line_exit_2(argv: list[str], message: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    rc, out, err = _run(["blas", *argv], capsys)
    assert (rc, out, err) == (2, "", f"torchperf: error: {message}\n")
    assert list(tmp_path.iterdir()) == []


def test_dtypes_repeat_and_dedupe() -> None:
    from torchperf_core.commands.blas import parse_dtypes, parse_sizes

    assert parse_dtypes(None) == ["float32"]
    assert parse_dtypes(["float64", "float32,float64"]) == ["float64", "float32"]
    assert parse_sizes(["256", "512,1024", "256"]) == [256, 512, 1024]


def test_the_reader_round_trips_and_refuses_a_newer_format(tmp_path: Path) -> None:
    path = tmp_path / "blas-2.13.0+cpu.json"
    path.write_text(json.dumps(FIXTURE))
    report = load_blas_report(path)
    assert report.to_json() == FIXTURE  # medians and ratios recomputed from the rounds: the same numbers
    path.write_text(json.dumps({**FIXTURE, "format_version": BLAS_FORMAT_VERSION + 1}))
    with pytest.raises(TorchperfError) as exc:
        load_blas_report(path)
    assert str(exc.value) == (f"{path}: BLAS report format_version {BLAS_FORMAT_VERSION + 1} not supported "
                              f"(this torchperf reads {BLAS_FORMAT_VERSION}); re-run `torchperf blas`")


@pytest.mark.parametrize("change,detail", [
    (lambda d: d["rows"][0]["cells"]["torch"].update(round_medians_s=[0.001, -1]), "time -1 is not a positive number of seconds"),
    (lambda d: d["rows"][0]["cells"]["numpy"].update(round_medians_s=[]), "numpy at float32 256 has no round medians"),
    (lambda d: d["rows"][0]["cells"].update(cublas={}), "backend 'cublas' is not one of torch, numpy, torch-no-onednn"),
    (lambda d: d.update(threads=True), "threads is True, not a positive integer"),
    (lambda d: d.pop("numpy_blas"), "missing 'numpy_blas'"),
])
def test_the_reader_names_a_malformed_file(change, detail: str, tmp_path: Path) -> None:
    data = json.loads(json.dumps(FIXTURE))
    change(data)
    path = tmp_path / "blas-x.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TorchperfError) as exc:
        load_blas_report(path)
    assert str(exc.value) == f"{path}: malformed BLAS report ({detail}); re-run `torchperf blas`"


def test_report_path_is_per_machine_and_torch_build(tmp_path: Path) -> None:
    assert blas_report_path("box", "2.13.0+cpu", tmp_path) == tmp_path / "box" / "blas-2.13.0+cpu.json"
    with pytest.raises(TorchperfError, match=r"^bad torch version '\.\./x' for a file name"):
        blas_report_path("box", "../x", tmp_path)


def _page(meta: Path) -> tuple[str, tuple[str, ...]]:
    from torchperf_core.site.blas import load_blas_tables
    from torchperf_core.site.machines import render_machines_page
    from torchperf_core.site.pages import PageContext

    tables, problems = load_blas_tables(meta, ["fixture-box"])
    page = render_machines_page(PageContext("p"), site_fixture() / "results", meta, ["fixture-box"], {}, {},
                                blas=tables)
    return page, problems


def test_machines_page_shows_the_blas_table_with_kernels_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "meta" / "fixture-box"
    folder.mkdir(parents=True)
    (folder / "blas-2.13.0+cpu.json").write_text(json.dumps(FIXTURE))
    page, problems = _page(tmp_path / "meta")
    assert problems == ()
    section = page.split('<section class="blas" data-machine="fixture-box">')[1].split("</section>")[0]
    assert "<h3>fixture-box, torch 2.13.0+cpu</h3>" in section
    assert ("<caption>torch 2.13.0+cpu [mkl (MKL 2024.2 build 20240605), oneDNN 3.12.0 (80afa71049cd)] vs numpy "
            "2.4.6 [openblas 0.3.31 (Haswell, pthreads)]; 1 thread(s) each, 3 interleaved round(s); "
            "torch÷numpy below 1: torch faster</caption>") in section
    numpy_kernel = '<td class="mono">numpy.matmul -&gt; openblas 0.3.31 (Haswell, pthreads)</td>'
    rows = [r.split("</tr>")[0] for r in section.split("<tr>")[2:]]  # [0] before the head, [1] the head
    assert rows == [
        '<td class="num">256</td><td>float32</td><td class="num">1.3 ms</td><td class="mono">mkl:SGEMM</td>'
        f'<td class="num">1 ms</td>{numpy_kernel}<td class="num">1.6 ms</td>'
        '<td class="mono">mkl:&lt;b&gt;SGEMM&lt;/b&gt;</td><td class="num">1.30</td>',
        '<td class="num">512</td><td>float32</td><td class="num">8.5 ms</td><td class="mono">mkl:SGEMM</td>'
        f'<td class="num">6.3 ms</td>{numpy_kernel}<td class="num">8.5 ms</td>'
        '<td class="mono">mkl:SGEMM</td><td class="num">1.35</td>',
        '<td class="num">256</td><td>float64</td><td class="num">2.6 ms</td><td class="mono">mkl:DGEMM</td>'
        f'<td class="num">2 ms</td>{numpy_kernel}<td class="num">—</td>'
        '<td class="mono">—</td><td class="num">1.30</td>',
    ]
    assert "<b>" not in page


def test_machines_page_names_an_unusable_report_and_has_no_section_without_one(tmp_path: Path) -> None:
    page, problems = _page(tmp_path / "meta")
    assert problems == () and 'class="blas"' not in page and "BLAS backends" not in page
    folder = tmp_path / "meta" / "fixture-box"
    folder.mkdir(parents=True)
    path = folder / "blas-2.15.0+cpu.json"
    path.write_text(json.dumps({**FIXTURE, "format_version": BLAS_FORMAT_VERSION + 1}))
    page, problems = _page(tmp_path / "meta")
    message = (f"{path}: BLAS report format_version {BLAS_FORMAT_VERSION + 1} not supported "
               f"(this torchperf reads {BLAS_FORMAT_VERSION}); re-run `torchperf blas`")
    assert problems == (f"{message} (BLAS table not shown for fixture-box)",)
    section = page.split('<section class="blas" data-machine="fixture-box">')[1].split("</section>")[0]
    assert "<h3>fixture-box, torch 2.15.0+cpu</h3>" in section and "<table" not in section
    assert f'<p class="note">{message}</p>' in section


def test_publish_puts_the_section_on_the_machines_page(tmp_path: Path) -> None:
    """The hook in publish_site: a saved report reaches the published page."""
    from torchperf_core.site.publish import publish_site
    from tests.site_build import make_project

    config = make_project(tmp_path / "p", site_fixture())
    folder = tmp_path / "p" / "meta" / "fixture-box"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blas-2.13.0+cpu.json").write_text(json.dumps(FIXTURE))
    result = publish_site(config, run_asv=False)
    page = (tmp_path / "p" / "html" / "torchperf" / "machines.html").read_text()
    assert page.count('<section class="blas" data-machine="fixture-box">') == 1
    assert "mkl:&lt;b&gt;SGEMM&lt;/b&gt;" in page and not any("BLAS" in p for p in result.problems)

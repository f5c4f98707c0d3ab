"""Honest efficiency: one calibration reader, provisional ceilings, and the stale-ceiling flag.

A calibration taken while the machine was not quiet is stored as provisional and re-taken by
`torchperf run`; a rate above 100% of its ceiling is never shown without saying the ceiling is
stale, in `torchperf bench` and in the efficiency page's data alike. Real torch, tiny sizes; the
figures asserted come from constructed values, never from a timing.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from torchperf_core.cli import main
from torchperf_core.engine import Measurement, TaskSpec
from torchperf_core.errors import TorchperfError
from torchperf_core.machine import (
    CALIBRATION_FORMAT_VERSION,
    Ceilings,
    Check,
    DoctorReport,
    load_calibration,
    recalibration_due,
    record_machine_condition,
    save_calibration,
)
from torchperf_core.machine.calibration import provisional_from
from torchperf_core.render import render_measurement
from torchperf_core.site.data import ResultPoint
from torchperf_core.site.efficiency import calibration_note, efficiency_rows
from torchperf_core.store import Sample

FIXTURE_V1 = Path(__file__).parent / "fixtures" / "calibration_v1.json"
STALE = "(ceiling stale: re-run `torchperf calibrate`)"
QUIET = DoctorReport((Check("load average", "OK", "load 0.02 on 2 CPUs"),), taken_at="2026-11-24T20:00:00+00:00")
NOISY = DoctorReport((Check("load average", "WARN", "load 3.2 on 2 CPUs", "close other programs"),
                      Check("hypervisor", "INFO", "virtual machine")), taken_at="2026-11-24T20:00:00+00:00")
PROVISIONAL_NOTE = ("calibrated 2026-11-24T20:40:00Z (provisional: the machine was not quiet: load average: load 3.2 "
                    "on 2 CPUs; re-run `torchperf calibrate` on a quiet machine, or let `torchperf run` re-take it)")


def _ceilings(**changes: object) -> Ceilings:
    base = Ceilings("box", "cpu", 2, "2.13.0+cpu", "2026-11-24T20:40:00Z", {"float32": 100.0}, 40.0)
    return replace(base, **changes)


def _measurement(gflops: float) -> Measurement:
    spec = TaskSpec("mm", (("M", 2), ("N", 2), ("K", 2)), "float32", "cpu", threads=2)
    return Measurement(spec, (1.0, 1.0, 1.0), number=1, warmup_calls=3, flops=gflops * 1e9, bytes_moved=10e9)


# ---------------------------------------------------------------------------------------------
# The file: v2 with the provisional flag, v1 still read


def test_a_v1_file_still_loads_as_a_settled_calibration() -> None:
    cal = load_calibration(FIXTURE_V1)
    assert cal == Ceilings("fixture-box", "cpu", 2, "2.13.0+cpu", "2026-11-24T20:40:00Z",
                           {"float32": 173.41, "bfloat16": 395.2, "float64": 86.9}, 40.31,
                           {"matmul_sizes": [1024, 2048], "copy_bytes": 268435456, "op": "mm"})
    assert cal.provisional is False and recalibration_due(FIXTURE_V1) is None


def test_v2_round_trip_keeps_provisional_and_its_reason(tmp_path: Path) -> None:
    cal = _ceilings(provisional=True, provisional_reason="load average: load 3.2 on 2 CPUs")
    path = save_calibration(cal, tmp_path / "calibration.json")
    data = json.loads(path.read_text())
    assert CALIBRATION_FORMAT_VERSION == 2 and data["format_version"] == 2
    assert data["provisional"] is True and data["provisional_reason"] == "load average: load 3.2 on 2 CPUs"
    assert load_calibration(path) == cal
    assert recalibration_due(path) == "provisional" and recalibration_due(tmp_path / "none.json") == "missing"


@pytest.mark.parametrize("edit,message", [
    ({"format_version": 3}, "calibration format_version 3 not supported (this torchperf reads 1, 2); "
                            "re-run `torchperf calibrate`"),
    ({"provisional": "yes"}, "malformed calibration (provisional is 'yes', not true/false); re-run `torchperf calibrate`"),
    ({"peak_gflops": {"float32": 0}}, "malformed calibration (peak_gflops['float32'] is 0, not a positive number)"),
    ({"bandwidth_gbps": True}, "malformed calibration (bandwidth_gbps is True, not a positive number)"),
])  # fmt: skip
def test_the_one_reader_refuses_what_calibrate_never_writes(tmp_path: Path, edit: dict, message: str) -> None:
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({**_ceilings().to_json(), **edit}))
    before = path.read_bytes()
    with pytest.raises(TorchperfError) as info:
        load_calibration(path)
    assert str(info.value).startswith(f"{path}: {message}")
    assert path.read_bytes() == before


def test_provisional_is_the_doctors_worst_status_warn() -> None:
    assert provisional_from(NOISY) == (True, "load average: load 3.2 on 2 CPUs")
    assert provisional_from(QUIET) == (False, "")
    info_only = DoctorReport((Check("hypervisor", "INFO", "virtual machine"),))
    assert provisional_from(info_only) == (False, "")


# ---------------------------------------------------------------------------------------------
# `torchperf bench`: the flag and the provisional note


def test_bench_above_100_percent_of_peak_says_the_ceiling_is_stale() -> None:
    lines = render_measurement(_measurement(182.0), _ceilings()).splitlines()
    assert lines[5] == f"  of peak    compute 182% of peak {STALE}; memory 25% of bandwidth"
    assert lines[6] == "  ceilings   calibrated 2026-11-24T20:40:00Z"


def test_bench_at_50_percent_of_peak_shows_no_flag() -> None:
    lines = render_measurement(_measurement(50.0), _ceilings()).splitlines()
    assert lines[5] == "  of peak    compute 50% of peak; memory 25% of bandwidth"


def test_bench_with_a_provisional_calibration_says_so() -> None:
    cal = _ceilings(provisional=True, provisional_reason="load average: load 3.2 on 2 CPUs")
    lines = render_measurement(_measurement(50.0), cal).splitlines()
    assert lines[6] == f"  ceilings   {PROVISIONAL_NOTE}"


def test_bench_command_reads_the_v2_file_and_flags_provisional(tmp_path, monkeypatch, capsys) -> None:
    meta = tmp_path / "meta" / "box"
    meta.mkdir(parents=True)
    cal = _ceilings(provisional=True, provisional_reason="load average: load 3.2 on 2 CPUs")
    save_calibration(cal, meta / "calibration.json")
    monkeypatch.chdir(tmp_path)
    argv = ["bench", "mm", "--size", "16", "--samples", "3", "--threads", "1", "--machine", "box"]
    assert main(argv) == 0
    assert f"  ceilings   {PROVISIONAL_NOTE}\n" in capsys.readouterr().out
    assert main([*argv, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)["stats"]
    assert stats["calibration_provisional"] is True
    assert stats["ceiling_stale"] is (stats["fraction_of_peak"] > 1.0)


# ---------------------------------------------------------------------------------------------
# The efficiency page's data


def _point(gflops: float) -> ResultPoint:
    sample = Sample(1.0, {"ci_99_a": 0.9, "ci_99_b": 1.1}, None, "1")
    return ResultPoint("box", "c", 0, "e", "s", "2.13.0", "bench_mm.MM.time_mm", (("dtype", "'float32'"),), 0,
                       "seconds", sample, gflops * 1e9, 10e9)


def test_efficiency_rows_flag_a_stale_ceiling_exactly() -> None:
    over, under = efficiency_rows([_point(182.0), _point(50.0)], _ceilings())
    assert over.point.gflops == pytest.approx(182.0)
    assert over.peak_text == f"182% of peak {STALE}" and over.stale is True
    assert under.peak_text == "50% of peak" and under.stale is False
    assert under.bandwidth_text == "25% of bandwidth"
    assert efficiency_rows([_point(50.0)], None)[0].peak_text == ""
    at, above = efficiency_rows([_point(100.0), _point(101.0)], _ceilings())
    assert (at.peak_text, at.stale) == ("100% of peak", False)  # reaching the ceiling is not past it
    assert (above.peak_text, above.stale) == (f"101% of peak {STALE}", True)


def test_efficiency_note_says_a_calibration_is_provisional() -> None:
    cal = _ceilings(provisional=True, provisional_reason="load average: load 3.2 on 2 CPUs")
    assert calibration_note(cal) == PROVISIONAL_NOTE
    assert calibration_note(_ceilings()) == "calibrated 2026-11-24T20:40:00Z"
    assert calibration_note(None) == ""


# ---------------------------------------------------------------------------------------------
# `torchperf run` re-takes a provisional calibration (real measurement, tiny sizes)

TINY = {"noise_runs": 0, "calibration_sizes": (32,), "calibration_dtypes": ("float32",),
        "calibration_copy_bytes": 1 << 20}


def test_run_retakes_a_provisional_calibration(tmp_path: Path) -> None:
    meta = tmp_path / "meta"
    path = meta / "box" / "calibration.json"
    save_calibration(_ceilings(provisional=True, provisional_reason="load average: load 3.2 on 2 CPUs"), path)
    warnings = record_machine_condition("box", meta, doctor=QUIET, **TINY)
    new = load_calibration(path)
    assert new.provisional is False and new.provisional_reason == ""
    assert set(new.peak_gflops) == {"float32"} and new.method["matmul_sizes"] == [32]
    assert warnings == []


def test_run_keeps_a_settled_calibration_and_a_damaged_one(tmp_path: Path) -> None:
    meta = tmp_path / "meta"
    path = meta / "box" / "calibration.json"
    (meta / "box").mkdir(parents=True)
    shutil.copy(FIXTURE_V1, path)
    before = path.read_bytes()
    assert record_machine_condition("box", meta, doctor=QUIET, **TINY) == []
    assert path.read_bytes() == before
    path.write_text('{"format_version": 2, "machine"')
    warnings = record_machine_condition("box", meta, doctor=QUIET, **TINY)
    assert path.read_text() == '{"format_version": 2, "machine"'
    assert len(warnings) == 1 and warnings[0].startswith(f"calibration: {path}: corrupt calibration file")


def test_run_on_a_noisy_machine_stores_a_provisional_calibration(tmp_path: Path) -> None:
    meta = tmp_path / "meta"
    warnings = record_machine_condition("box", meta, doctor=NOISY, **TINY)
    cal = load_calibration(meta / "box" / "calibration.json")
    assert cal.provisional is True and cal.provisional_reason == "load average: load 3.2 on 2 CPUs"
    assert warnings == [
        "doctor: load average: load 3.2 on 2 CPUs",
        "calibration: provisional, the machine was not quiet (load average: load 3.2 on 2 CPUs); "
        "the first `torchperf run` on a quiet machine re-takes it",
    ]


def test_run_on_a_noisy_machine_keeps_a_provisional_calibration_for_a_quiet_run(tmp_path: Path) -> None:
    meta = tmp_path / "meta"
    path = meta / "box" / "calibration.json"
    save_calibration(_ceilings(provisional=True, provisional_reason="load average: load 3.2 on 2 CPUs"), path)
    before = path.read_bytes()
    warnings = record_machine_condition("box", meta, doctor=NOISY, **TINY)
    assert path.read_bytes() == before  # not re-measured on a machine that is still busy
    assert warnings == [
        "doctor: load average: load 3.2 on 2 CPUs",
        "calibration: still provisional (taken while the machine was not quiet); the first "
        "`torchperf run` on a quiet machine re-takes it, or run `torchperf calibrate` then",
    ]


def test_calibration_stops_growing_a_dtype_whose_calls_are_slow(monkeypatch) -> None:
    """A fallback kernel (bf16 mm without native support takes ~59 s per 2048² call on an AVX2
    CPU) is measured at the smallest size only; a fast dtype gets every size."""
    from torchperf_core.engine import Device
    from torchperf_core.machine import calibration as cal

    measured = []

    def fake_measure(op, n, dtype, device, **_kw):
        measured.append((dtype, n))
        per_call = {"float32": 0.01, "bfloat16": cal.SLOW_CALL_SECONDS * 6}[dtype]
        spec = TaskSpec(op, (("m", n), ("n", n), ("k", n)), dtype, "cpu", "contiguous", 1, "highest",
                        False, "sync", False)
        return Measurement(spec, (per_call,) * 3, 1, 3, 2.0 * n**3, 12.0 * n * n)

    monkeypatch.setattr("torchperf_core.engine.measure", fake_measure)
    monkeypatch.setattr("torchperf_core.engine.parse_device", lambda _s: Device("cpu"))
    cal.measure_ceilings("box", "cpu", threads=1, dtypes=("float32", "bfloat16"), sizes=(2048, 1024),
                         copy_bytes=1 << 20, doctor=QUIET)
    assert measured == [("float32", 1024), ("float32", 2048), ("bfloat16", 1024)]

"""Every file format torchperf writes, against the files version 1 wrote (tests/fixtures/formats_v1).

Each v1 file was produced by that version's own writer on a real object (a real `torchperf doctor`,
engine measurements of tiny ops, `torchperf env --json --kernels`, `torchperf compare`/`regressions
--format json`) and is never regenerated: a reader that stops understanding it fails here. Every
reader refuses a version it does not read through `formats.check_format_version`, so the message
has one shape everywhere; these tests pin that shape, including where a tolerant reader (the machine
condition that `compare` shows) turns it into a problem line without re-wording it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from torchperf_core.compare import COMPARE_FORMAT_VERSION, REGRESSIONS_FORMAT_VERSION
from torchperf_core.compare.comparisons import noise_warnings
from torchperf_core.engine import RESULTS_FORMAT_VERSION, Measurement
from torchperf_core.env import ENV_REPORT_FORMAT_VERSION, FINGERPRINT_FORMAT_VERSION, EnvReport, Fingerprint
from torchperf_core.errors import TorchperfError
from torchperf_core.machine import (
    DOCTOR_FORMAT_VERSION,
    NOISE_FORMAT_VERSION,
    DoctorReport,
    NoiseReport,
    load_condition,
)
from torchperf_core.store import SIDECAR_FORMAT_VERSION, Sidecar, load_sidecar

FIXTURES = Path(__file__).parent / "fixtures"
V1 = FIXTURES / "formats_v1"
GOLDEN = Path(__file__).parent / "golden"
SIDECAR_V1 = FIXTURES / "compare_run_v1" / "meta" / "cmpbox" / "b8a3a8cb-virtualenv-py3.11-torch2.13.0.json"

# kind as the messages name it, its v1 file, its reader, and the fix the message ends with.
Reader = Callable[..., Any]
READABLE: dict[str, tuple[Path, Reader, str]] = {
    "doctor report": (V1 / "doctor.json", DoctorReport.from_json, "re-run `torchperf doctor --save`"),
    "noise report": (V1 / "noise.json", NoiseReport.from_json, "re-run `torchperf noise --save`"),
    "measurement": (V1 / "measurement.json", Measurement.from_json, "re-run `torchperf bench --json`"),
    "environment report": (V1 / "env_report.json", EnvReport.from_json, "re-run `torchperf env --json`"),
    "fingerprint": (FIXTURES / "fingerprint_v1.json", Fingerprint.from_json,
                    "re-take it with `torchperf env --json` (`torchperf run` for a results file)"),
    "sidecar": (SIDECAR_V1, Sidecar.from_json, "re-run `torchperf run` to record it"),
}
# The version each kind is written with today.
CURRENT = {"doctor report": 1, "noise report": 1, "measurement": 2, "environment report": 1, "fingerprint": 1,
           "sidecar": 2}


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"checks[3].status": "WARN", ...}: every leaf of a JSON document by its path."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_leaves(item, f"{prefix}.{key}" if prefix else key))
        return out or {prefix: {}}
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(_leaves(item, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: value}


def _shape(value: Any) -> set[str]:
    """Key paths with list positions dropped: what a reader of the format relies on."""
    return {re.sub(r"\[\d+\]", "[]", path) for path in _leaves(value)}


# ------------------------------------------------------------------------------------------------
# v1 files load, field for field


def test_doctor_v1_loads_field_for_field() -> None:
    report = DoctorReport.from_json(_load(V1 / "doctor.json"))
    assert report.taken_at == "2026-11-30T10:22:00+00:00"
    assert [(c.name, c.status) for c in report.checks] == [
        ("cpu governor", "INFO"), ("cpu boost", "INFO"), ("smt", "OK"), ("load average", "WARN"),
        ("busy processes", "OK"), ("isolated cpus", "INFO"), ("threads", "OK"), ("hypervisor", "INFO"),
        ("numa", "OK"), ("memory", "OK"), ("swap", "OK"), ("gpu", "INFO"),
    ]  # fmt: skip
    assert report.worst == "WARN" and [c.name for c in report.warnings] == ["load average"]
    assert report.checks[3].advice == "top -o %CPU"
    assert report.checks[11].detail == "no NVIDIA GPU (nvidia-smi not found)"


def test_noise_v1_loads_and_recomputes_the_stored_figures() -> None:
    data = _load(V1 / "noise.json")
    report = NoiseReport.from_json(data)
    assert (report.taken_at, report.factor, report.threads, report.cpus) == ("2026-11-30T10:21:50+00:00", 1.07, 1, (0, 1))
    assert [p.name for p in report.probes] == ["mm 64", "add 64x64"]
    mm, add = report.probes
    assert [len(r) for r in mm.runs] == [15, 15, 15] and [len(r) for r in add.runs] == [15, 15, 15]
    assert mm.runs[0][0] == 1.1749833333851711e-05 and add.runs[2][14] == 3.454949150937417e-06
    # The figures are derived from the raw runs again, and agree with what v1 stored beside them.
    assert (mm.mds, mm.mds_significance, add.mds, add.mds_significance) == (0.11, 0.07, 0.1, 0.08)
    assert [p.figures() for p in report.probes] == [
        {k: v for k, v in p.items() if k not in ("name", "samples_per_run", "runs")} for p in data["probes"]
    ]
    assert report.mds_for_time(1e-5) == 0.11 and report.mds_for_time(3e-6) == 0.1


def test_measurement_v1_loads_field_for_field() -> None:
    m = Measurement.from_json(_load(V1 / "measurement.json"))
    assert m.spec.label() == "add[M=64,N=64] float32 on cpu"
    assert (m.spec.threads, m.spec.precision, m.spec.timing_mode, m.spec.cold_l2, m.spec.backward) == (
        1, "highest", "sync", False, False)
    assert (m.number, m.warmup_calls, m.flops, m.bytes_moved) == (60, 32768, 4096.0, 49152.0)
    assert m.overhead == 7.009999762885855e-07 and m.notes == ()
    assert len(m.samples) == 15 and m.samples[0] == 3.3846833332518144e-06
    assert m.median == 3.2908499993785273e-06


def test_env_report_v1_loads_field_for_field() -> None:
    report = EnvReport.from_json(_load(V1 / "env_report.json"))
    fp = report.fingerprint
    assert fp.device == "cpu" and fp.torch.version == "2.13.0+cpu" and fp.torch.blas_info == "mkl"
    assert fp.torch.onednn_version == "3.12.0 (80afa71049cd)" and fp.threads.torch_num_threads == 2
    assert fp.cpu.model == "AMD EPYC" and fp.platform.python == "3.11.7"
    assert fp.env == (("KMP_DUPLICATE_LIB_OK", "True"),)
    assert list(report.kernels_by_key) == ["mm/float32", "mm/bfloat16", "linear/float32", "linear/bfloat16",
                                           "conv2d/float32", "conv2d/bfloat16"]
    assert report.kernels_by_key["mm/float32"].backends == ("mkl:SGEMM",)
    assert report.kernels_by_key["conv2d/float32"].backends == (
        "onednn:convolution:jit:avx2", "onednn:reorder:jit:blk", "onednn:reorder:jit:uni")


def test_sidecar_v1_loads_field_for_field() -> None:
    side = load_sidecar(SIDECAR_V1)
    assert (side.machine, side.commit_hash[:8], side.env_name, side.torch_version) == (
        "cmpbox", "b8a3a8cb", "virtualenv-py3.11-torch2.13.0", "2.13.0+cpu")
    assert Fingerprint.from_json(side.fingerprint).torch.version == "2.13.0+cpu"


@pytest.mark.parametrize("kind", ["doctor report", "noise report", "measurement", "environment report",
                                  "fingerprint", "sidecar"])
def test_todays_writer_still_writes_every_v1_field(kind: str) -> None:
    """While the version stays 1, re-writing a v1 file keeps every field and value it had: a field
    renamed or dropped without a version bump fails here (added fields are allowed)."""
    path, read, _ = READABLE[kind]
    data = _load(path)
    rewritten = read(data).to_json()
    assert rewritten["format_version"] == CURRENT[kind]
    old, new = _leaves(data), _leaves(rewritten)
    old.pop("format_version", None)
    assert {k: new.get(k, "<missing>") for k in old} == old


@pytest.mark.parametrize("fixture,golden,version,kind", [
    ("compare.json", "compare_torch.json", COMPARE_FORMAT_VERSION, "comparison"),
    ("compare_matrix.json", "compare_matrix.json", COMPARE_FORMAT_VERSION, "version_matrix"),
    ("regressions.json", "regressions.json", REGRESSIONS_FORMAT_VERSION, None),
])  # fmt: skip
def test_output_only_formats_keep_every_v1_field(fixture: str, golden: str, version: int, kind: str | None) -> None:
    """`compare`/`regressions --format json` have no reader here; their goldens are today's output
    (kept equal to it by test_compare/test_regressions), so while the version is 1 they must still
    carry every key the v1 output had."""
    old = _load(V1 / fixture)
    assert old["format_version"] == 1 and old.get("kind") == kind
    missing = _shape(old) - _shape(_load(GOLDEN / golden))
    assert not missing  # a bumped version (compare and regressions are at 2) only added keys


# ------------------------------------------------------------------------------------------------
# One refusal, one shape


def test_every_reader_reads_version_1_only() -> None:
    """The constants the tests below assume: measurement and sidecar went to 2 (contention, per-case
    run records) and still read their v1 fixtures; a bump means a new fixture set, not an edit here."""
    assert (DOCTOR_FORMAT_VERSION, NOISE_FORMAT_VERSION, RESULTS_FORMAT_VERSION, ENV_REPORT_FORMAT_VERSION,
            FINGERPRINT_FORMAT_VERSION, SIDECAR_FORMAT_VERSION) == (1, 1, 2, 1, 1, 2)


def test_newer_doctor_report_exact_message() -> None:
    data = {**_load(V1 / "doctor.json"), "format_version": 99}
    with pytest.raises(TorchperfError) as info:
        DoctorReport.from_json(data, source="meta/box/doctor.json")
    assert str(info.value) == ("meta/box/doctor.json: doctor report format_version 99 not supported "
                               "(this torchperf reads 1); re-run `torchperf doctor --save`")


def test_newer_measurement_exact_message() -> None:
    data = {**_load(V1 / "measurement.json"), "format_version": 99}
    with pytest.raises(TorchperfError) as info:
        Measurement.from_json(data)
    assert str(info.value) == ("measurement format_version 99 not supported (this torchperf reads 1, 2); "
                               "re-run `torchperf bench --json`")


@pytest.mark.parametrize("kind", list(READABLE))
@pytest.mark.parametrize("version", [99, 0, None, "1", True, 1.5])
def test_unsupported_version_fails_the_same_way_everywhere(kind: str, version: Any) -> None:
    path, read, fix = READABLE[kind]
    data = {**_load(path), "format_version": version}
    with pytest.raises(TorchperfError) as info:
        read(data, source="some/file.json")
    reads = ", ".join(str(v) for v in range(1, CURRENT[kind] + 1))
    assert str(info.value) == (f"some/file.json: {kind} format_version {version!r} not supported "
                               f"(this torchperf reads {reads}); {fix}")


@pytest.mark.parametrize("kind", list(READABLE))
@pytest.mark.parametrize("data", [[1, 2], "text", None, 1])
def test_non_object_fails_in_one_line(kind: str, data: Any) -> None:
    _, read, fix = READABLE[kind]
    with pytest.raises(TorchperfError) as info:
        read(data, source="x.json")
    assert str(info.value) == f"x.json: unreadable {kind}: not a JSON object; {fix}"


def test_bool_true_is_not_version_1() -> None:
    """`True == 1` in Python: a version check written as `!=` or `in (1,)` would accept it."""
    data = {**_load(V1 / "noise.json"), "format_version": True}
    with pytest.raises(TorchperfError, match=r"^noise report format_version True not supported"):
        NoiseReport.from_json(data)


def test_env_report_names_the_newer_fingerprint_inside_it() -> None:
    data = _load(V1 / "env_report.json")
    data["fingerprint"]["format_version"] = 2
    with pytest.raises(TorchperfError) as info:
        EnvReport.from_json(data, source="env.json")
    assert str(info.value).startswith("env.json: fingerprint format_version 2 not supported (this torchperf reads 1)")


# ------------------------------------------------------------------------------------------------
# Through the readers that open the files


def test_sidecar_file_of_a_newer_format_is_refused_by_path(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({**_load(SIDECAR_V1), "format_version": 99}))
    with pytest.raises(TorchperfError) as info:
        load_sidecar(path)
    assert str(info.value) == (f"{path}: sidecar format_version 99 not supported (this torchperf reads 1, 2); "
                               "re-run `torchperf run` to record it")
    path.write_text("[1, 2]")
    with pytest.raises(TorchperfError) as info:
        load_sidecar(path)
    assert str(info.value) == f"{path}: unreadable sidecar: not a JSON object; re-run `torchperf run` to record it"


def test_machine_condition_keeps_the_message_as_its_problem_line(tmp_path: Path) -> None:
    """The tolerant reader (compare's and the site's machine condition) shows the shared message
    unchanged, reads the other file, and never touches the refused one."""
    box = tmp_path / "meta" / "box"
    box.mkdir(parents=True)
    doctor_text = json.dumps({**_load(V1 / "doctor.json"), "format_version": 99})
    (box / "doctor.json").write_text(doctor_text)
    (box / "noise.json").write_text((V1 / "noise.json").read_text())
    cond = load_condition(tmp_path / "meta", "box")
    expected = (f"{box / 'doctor.json'}: doctor report format_version 99 not supported (this torchperf reads 1); "
                "re-run `torchperf doctor --save`")
    assert cond.problems == (expected,)
    assert cond.doctor is None and cond.noise is not None and cond.noise.probes[0].name == "mm 64"
    assert (box / "doctor.json").read_text() == doctor_text
    # compare's display of the machine condition: the same line, first.
    assert noise_warnings([], tmp_path / "meta", ["box"])[0] == expected


def test_machine_condition_names_a_non_object_noise_file(tmp_path: Path) -> None:
    box = tmp_path / "meta" / "box"
    box.mkdir(parents=True)
    (box / "noise.json").write_text("[1, 2]")
    cond = load_condition(tmp_path / "meta", "box")
    assert cond.problems == (f"{box / 'noise.json'}: unreadable noise report: not a JSON object; "
                             "re-run `torchperf noise --save`",)
    assert (box / "noise.json").read_text() == "[1, 2]"

"""What `torchperf run` keeps per case beside asv's results: contention and between-run medians.

The benchmarks append one line per timed case to the case log; `write_sidecars` files each line
under the results file of its environment and commit, and a re-run of the same commit adds a
replicate instead of replacing the record.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from torchperf_core.errors import TorchperfError
from torchperf_core.run.sidecars import read_case_log, write_sidecars
from torchperf_core.store import CaseCondition, case_conditions, load_sidecar, merge_case_records

ENV_A, ENV_B = "virtualenv-py3.11-pip+torch2.13.0", "virtualenv-py3.11-pip+torch2.14.1"
COMMIT = "abcd1234" * 5
MM = "bench_matmul.MM.track_mm"
KEY = "(256, 'float32', 'contiguous', 'cpu')"
CLEAN = {"attempts": 15, "disturbed": 2, "contended": False, "cause": "2 of 15 samples waited for a CPU",
         "wait_fraction": 0.1, "steal_fraction": 0.0, "others_fraction": 0.0}
BUSY = {**CLEAN, "disturbed": 40, "attempts": 45, "contended": True, "cause": "other processes kept 1.0 of 2 CPUs busy"}


def line(env: str, median: float, contention: dict | None, *, commit: str | None = COMMIT, key: str = KEY,
         when: float | None = 1000.0) -> dict:
    return {"benchmark": MM, "params": key, "env_name": env, "commit": commit, "python": "/x/bin/python",
            "threads": 2, "median": median, "contention": contention, "time": when}


def fake_fingerprint(python: str):
    return {"torch": {"version": "2.13.0+cpu"}}, {}, "2.13.0+cpu", None


@pytest.fixture
def results(tmp_path: Path) -> Path:
    res = tmp_path / "results" / "box"
    res.mkdir(parents=True)
    for env in (ENV_A, ENV_B):
        (res / f"abcd1234-{env}.json").write_text(json.dumps({"env_name": env, "commit_hash": COMMIT}))
    return res


def _side(res: Path, env: str) -> Path:
    return res.parent.parent / "meta" / "box" / f"abcd1234-{env}.json"


def _write(res: Path, log: list[dict]) -> None:
    write_sidecars(sorted(res.glob("*.json")), {ENV_A: "/a/bin/python", ENV_B: "/b/bin/python"},
                   fingerprint=fake_fingerprint, case_log=log)


def test_each_line_goes_to_its_environment_and_reruns_add_replicates(results: Path) -> None:
    _write(results, [line(ENV_A, 1.0e-3, CLEAN), line(ENV_B, 2.0e-3, BUSY)])
    a = case_conditions(results / f"abcd1234-{ENV_A}.json")
    b = case_conditions(results / f"abcd1234-{ENV_B}.json")
    assert a[(MM, KEY)] == CaseCondition(clean=13, attempts=15, disturbed_fraction=2 / 15, contended=False,
                                         cause="2 of 15 samples waited for a CPU", threads=2, run_medians=(1.0e-3,),
                                         run_times=(1000.0,))
    # A contended run's median is no replicate: it is flagged, not averaged in.
    assert b[(MM, KEY)].contended is True and b[(MM, KEY)].run_medians == ()
    assert load_sidecar(_side(results, ENV_B)).cases[MM][KEY]["contended_runs"] == 1
    # The same commit again: one more replicate for A; B's clean re-run replaces the contended record.
    _write(results, [line(ENV_A, 1.1e-3, CLEAN), line(ENV_B, 2.1e-3, CLEAN)])
    assert case_conditions(results / f"abcd1234-{ENV_A}.json")[(MM, KEY)].run_medians == (1.0e-3, 1.1e-3)
    b2 = case_conditions(results / f"abcd1234-{ENV_B}.json")[(MM, KEY)]
    assert (b2.contended, b2.run_medians) == (False, (2.1e-3,))
    assert case_conditions(results / f"abcd1234-{ENV_A}.json")[(MM, KEY)].run_times == (1000.0, 1000.0)
    # A run that did not measure the case (--bench elsewhere) keeps what was there.
    _write(results, [])
    assert case_conditions(results / f"abcd1234-{ENV_A}.json")[(MM, KEY)].run_medians == (1.0e-3, 1.1e-3)


def test_lines_of_another_commit_are_not_filed_here(results: Path) -> None:
    _write(results, [line(ENV_A, 1.0e-3, CLEAN, commit="f" * 40), line(ENV_A, 3.0e-3, CLEAN, commit=None, key="(1)")])
    conditions = case_conditions(results / f"abcd1234-{ENV_A}.json")
    assert set(conditions) == {(MM, "(1)")}  # an existing environment has no commit: filed by env only


def test_a_sidecar_of_format_1_has_no_case_records(tmp_path: Path) -> None:
    fixture = Path(__file__).parent / "fixtures" / "compare_run_v1"
    results = next((fixture / "results" / "cmpbox").glob("b8a3a8cb-*.json"))
    assert case_conditions(results, fixture / "meta") == {}


def test_run_times_pair_with_the_medians_or_are_dropped() -> None:
    after = merge_case_records({}, [line(ENV_A, 1.0, CLEAN, when=10.0), line(ENV_A, 2.0, CLEAN, when=20.0)])
    assert (after[MM][KEY]["run_medians"], after[MM][KEY]["run_times"]) == ([1.0, 2.0], [10.0, 20.0])
    # A line without a time (an older benchmarks/common.py): the times no longer pair, so they go.
    later = merge_case_records(after, [line(ENV_A, 3.0, CLEAN, when=None)])
    assert later[MM][KEY]["run_medians"] == [1.0, 2.0, 3.0] and "run_times" not in later[MM][KEY]
    assert CaseCondition.from_record(later[MM][KEY]).run_times == ()


def test_merge_keeps_previous_records_and_copies() -> None:
    before = {MM: {KEY: {"contention": CLEAN, "threads": 2, "run_medians": [1.0]}}}
    after = merge_case_records(before, [line(ENV_A, 2.0, CLEAN)])
    assert after[MM][KEY]["run_medians"] == [1.0, 2.0]
    assert before[MM][KEY]["run_medians"] == [1.0]  # the input is not modified


@pytest.mark.parametrize("record,message", [
    ({"run_medians": [1.0, -2.0]}, "run_medians must be a list of positive numbers"),
    ({"run_medians": "1.0"}, "run_medians must be a list of positive numbers"),
    ({"threads": 0}, "threads must be a positive integer"),
    ({"run_medians": [1.0, 2.0], "run_times": [1.0]}, "run_times must be a list of numbers, one per run median"),
    ({"contention": {"attempts": 2, "disturbed": 3}}, "contention record has bad attempts/disturbed: 2/3"),
])  # fmt: skip
def test_malformed_case_records_are_refused_in_one_line(tmp_path: Path, record: dict, message: str) -> None:
    path = tmp_path / "side.json"
    path.write_text(json.dumps({"format_version": 2, "results_file": "r.json", "machine": "box",
                                "commit_hash": COMMIT, "env_name": ENV_A, "torch_version": None,
                                "fingerprint": None, "cases": {MM: {KEY: record}}}))
    with pytest.raises(TorchperfError) as info:
        load_sidecar(path)
    assert f"{path}: sidecar case {MM}{KEY} is malformed: {message}" in str(info.value)
    assert "\n" not in str(info.value)


def test_case_log_drops_a_line_cut_short(tmp_path: Path) -> None:
    log = tmp_path / "cases.jsonl"
    log.write_text(json.dumps(line(ENV_A, 1.0, CLEAN)) + "\n" + '{"benchmark": "x", "par')
    assert [entry["median"] for entry in read_case_log(log)] == [1.0]
    assert read_case_log(tmp_path / "missing.jsonl") == []


def test_run_summary_flags_each_versions_own_contended_cases_and_takes_compares_verdicts(tmp_path: Path) -> None:
    """The oldest version has no verdict of its own, but a contended baseline is flagged on its row;
    the later version's verdict is compare's (contended before -> contended)."""
    from tests.compare_helpers import MACHINE, copy_fixture, results_file, set_case
    from torchperf_core.run.summary import summarize

    run = copy_fixture(tmp_path)  # 3 run medians a case: decided verdicts where the data decide
    old, new = results_file(run, "b151c94f", "2.13.0"), results_file(run, "b151c94f", "2.14.1")
    name, key = "bench_toy.MatMul.time_mm", "('float32', 256)"
    set_case(run, old, name, key, contended=True)
    rows = summarize([old, new], run / "results" / "benchmarks.json", run / "meta")
    by = {(r.benchmark, r.params, r.torch_version): r for r in rows}
    assert by[(name, key, "2.13.0")].contended is True and by[(name, key, "2.13.0")].verdict is None
    assert by[(name, key, "2.14.1")].contended is False and by[(name, key, "2.14.1")].verdict == "contended"
    other = next(r for r in rows if r.torch_version == "2.14.1" and (r.benchmark, r.params) != (name, key)
                 and r.verdict is not None)
    assert other.verdict in ("same", "slower", "faster", "unknown") and not other.contended
    assert MACHINE == old.parent.name

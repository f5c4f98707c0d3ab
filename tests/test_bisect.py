"""`torchperf bisect`: a real search over a toy package index built here.

`toyslow` 1.0 … 1.9 are real wheels (zip files with metadata and RECORD, installed by real pip into
real environments); from 1.6 on, `toyslow.work` does 3× the work. The search runs real workers and
real timing; what the fixture decides (the culprit pair, the skipped release, the exit codes, what
a resumed run re-uses) is asserted exactly. The decision threshold is `--factor 1.5` for a 3× step,
so a loaded 2-core machine does not turn noise into a verdict; no timing figure is asserted.
`--max-rounds 16`: under a neighbour's load a round's median jumps by scheduler quanta (one run
here read 1.0 at 2.2 ms in some rounds and 6.1 ms in others), and 8 rounds then left a 3x step
undecided; more rounds are what the rule asks for when undecided.
Rounds the engine's contention probe sees disturbed are set aside (issue 11): on a machine too busy
to give 3 clean rounds per decision the real searches end "contended" (exit 1, the cause printed),
and on one too noisy to decide within 16 rounds "undecided" (exit 1), never with a wrong verdict.
The real searches then check that outcome exactly (`decided`) and skip, naming the load: a busy
machine cannot say where the toy slowdown is, and must not pass for one that did (a run beside a
default-tier `make run` ended so). The contention and undecided rules themselves are tested with a
simulated pool below, where the outcome is exact.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from types import SimpleNamespace

from torchperf_core import bisect
from torchperf_core.bisect.envs import Environment
from torchperf_core.bisect.pool import Round
from torchperf_core.bisect.search import decide_endpoints, decide_mid
from torchperf_core.bisect.state import BisectState
from torchperf_core.cli import main
from torchperf_core.errors import TorchperfError
from torchperf_core.commands.bisect import EXIT_CODES
from torchperf_core.render import render_bisect_progress, render_bisect_report

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
PY = f"{sys.version_info[0]}.{sys.version_info[1]}"
RELEASES = [f"1.{i}" for i in range(10)]


# ---------------------------------------------------------------------------------------------
# The toy index


def _record(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest},{len(data)}"


def write_wheel(folder: Path, version: str, loops: int) -> Path:
    """A real pure-Python wheel of `toyslow`: `work()` runs a Python loop of `loops` steps."""
    files = {
        "toyslow/__init__.py": (f"__version__ = {version!r}\n\n\ndef work():\n"
                                f"    return sum(i * i for i in range({loops}))\n").encode(),
        f"toyslow-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: toyslow\nVersion: {version}\n".encode(),
        f"toyslow-{version}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = f"toyslow-{version}.dist-info/RECORD"
    path = folder / f"toyslow-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
        z.writestr(record, "".join(f"{n},{_record(d)}\n" for n, d in files.items()) + f"{record},,\n")
    return path


def toy_index(folder: Path, *, broken: tuple[str, ...] = ()) -> Path:
    """1.0 … 1.9; 1.6 introduces a 3× slowdown of `work` (~1-2 ms before it on this machine kind)."""
    folder.mkdir(parents=True, exist_ok=True)
    for version in RELEASES:
        path = write_wheel(folder, version, 30000 if version < "1.6" else 90000)
        if version in broken:
            path.write_bytes(b"not a zip file")  # listed by the index, refused by pip
    return folder


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return toy_index(tmp_path_factory.mktemp("toy-index"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by the slow searches: the base virtualenv is built once (release folders are keyed by
    index, so the broken index never reuses a good one)."""
    return tmp_path_factory.mktemp("bisect-cache")


def toy_args(index: Path, cache: Path, good: str = "1.0", bad: str = "1.9", *extra: str) -> list[str]:
    return ["bisect", "toyslow:work", "--package", "toyslow", "--good", good, "--bad", bad,
            "--find-links", str(index), "--no-index", "--cache", str(cache), "--factor", "1.5",
            "--max-rounds", "16", *extra]


def decided(code: int, report: dict, out: str) -> dict:
    """The report of a search that decided; a search the machine's load left contended, or too noisy
    to decide within --max-rounds (undecided, range), is checked for what those promise (exit 1, no
    culprit, the cause or the way on in its first line) and the test is skipped with that line."""
    if report["status"] not in ("contended", "undecided", "range"):
        return report
    first = render_bisect_report(report).splitlines()[0]
    assert code == EXIT_CODES[report["status"]] == 1, out
    assert report.get("culprit") is None, out
    if report["status"] == "contended":
        assert any(r["disturbed_rounds"] for r in report["versions"]), out
        assert first.startswith("contended: toyslow ") and "disturbed" in first and first.endswith(
            "re-run on a quiet machine"), first
    else:
        assert report["status"] == "range" or report["bounds"]["verdict"] == "unknown", out
        assert first.startswith("undecided: toyslow ") and first.endswith(" to measure on"), first
    pytest.skip(f"the machine was too busy to decide (checked as {report['status']}): {first}")


def run_cli(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def report_of(out: str) -> dict:
    line = next(x for x in out.splitlines() if x.startswith("report: "))
    return bisect.load_report(Path(line[len("report: "):]))


# ---------------------------------------------------------------------------------------------
# Parsing and bad input (no environments)


def test_case_spellings_parse_to_their_kind() -> None:
    assert bisect.parse_case("toyslow:work") == bisect.CaseSpec("callable", "toyslow:work", target="toyslow:work")
    op = bisect.parse_case("mm --size 512 --dtype float16")
    assert (op.kind, op.op, op.size, op.dtype, op.layout, op.kernel_hint) == ("op", "mm", "512", "float16",
                                                                            "contiguous", ("mm", "float16"))
    suite = bisect.parse_case("bench_matmul.MM.track_mm(1024, 'float32', 'contiguous')",
                              benchmark_dir=ROOT / "benchmarks")
    assert (suite.kind, suite.module, suite.cls, suite.method, suite.params) == (
        "suite", "bench_matmul", "MM", "track_mm", (1024, "float32", "contiguous"))
    assert bisect.CaseSpec.from_json(json.loads(json.dumps(suite.to_json()))) == suite


@pytest.mark.parametrize("text, message", [
    ("bench_matmul.Nope.track_mm(1024)", "unknown suite case 'bench_matmul.Nope.track_mm(1024)'; bench_matmul has: "),
    ("bench_nothing.MM.track_mm(1)", "unknown suite case 'bench_nothing.MM.track_mm(1)': no benchmark module "
                                     "'bench_nothing' in "),
    ("bench_matmul.MM.track_mm(1024, float32)", "malformed parameters in case 'bench_matmul.MM.track_mm(1024, "
                                                "float32)'; expected Python literals"),
    ("mm --size 1024 --dtype float17", "float17"),
    ("mm --sise 1024", "malformed op spec: unrecognized arguments: --sise 1024"),
    ("", "missing CASE"),
])  # fmt: skip
def test_bad_case_is_one_line_error(text: str, message: str) -> None:
    with pytest.raises(TorchperfError) as info:
        bisect.parse_case(text, benchmark_dir=ROOT / "benchmarks")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_releases_between_keeps_plain_releases_and_included_ones() -> None:
    served = ["1.0", "1.1", "1.2rc1", "1.2", "1.2.post1", "1.3.dev0", "1.4"]
    assert bisect.releases_between(served, "1.0", "1.4", "toyslow") == ["1.0", "1.1", "1.2", "1.4"]
    assert bisect.releases_between(served, "1.0", "1.4", "toyslow", ["1.2rc1"]) == ["1.0", "1.1", "1.2rc1", "1.2", "1.4"]


def test_included_torch_release_may_be_a_pre_release() -> None:
    """--include is for what the plain-release rule leaves out: a torch release candidate is taken
    as given and placed in order; as an endpoint it is still refused (torch's one version rule)."""
    assert bisect.parse_release("2.14.0rc1", "torch", included=True) == "2.14.0rc1"
    served = ["2.12.0", "2.13.0", "2.14.0rc1", "2.14.0", "2.14.1"]
    assert bisect.releases_between(served, "2.12.0", "2.14.1", "torch", ["2.14.0rc1"]) == served
    with pytest.raises(TorchperfError, match="^torch version '2.14.0rc1' is not a plain release; "):
        bisect.parse_release("2.14.0rc1", "torch")


@pytest.mark.parametrize("good, bad, include, message", [
    ("1.4", "1.0", (), "--good 1.4 must be older than --bad 1.0"),
    ("1.0", "1.0", (), "--good 1.0 must be older than --bad 1.0"),
    ("1.0", "2.0", (), "--bad toyslow 2.0 is not on the package index (newest served: 1.0, 1.1, 1.2, 1.4)"),
    ("1.0", "1.4", ("1.3",), "--include toyslow 1.3 is not on the package index (newest served: 1.0, 1.1, 1.2, 1.4)"),
    ("1.1", "1.2", (), "no toyslow release between 1.1 and 1.2 on the index: the pair is the answer already "
                      "(compare them with `torchperf compare --torch`)"),
])  # fmt: skip
def test_releases_between_refuses(good: str, bad: str, include: tuple[str, ...], message: str) -> None:
    with pytest.raises(TorchperfError) as info:
        bisect.releases_between(["1.0", "1.1", "1.2", "1.4"], good, bad, "toyslow", include)
    assert str(info.value) == message


def test_torch_release_needs_numpy_1_before_2_3() -> None:
    matrix = {"pip+torch": ["2.12.0"], "numpy": [""], "packaging": [""], "pip+asv_runner": ["==0.3.2"]}
    assert bisect.torch_requirements("2.2.2", matrix) == ["torch==2.2.2", "numpy<2", "packaging", "asv_runner==0.3.2"]
    assert bisect.torch_requirements("2.3.0", matrix) == ["torch==2.3.0", "numpy", "packaging", "asv_runner==0.3.2"]
    assert bisect.torch_requirements("1.13.0", {}) == ["torch==1.13.0", "numpy<2"]


def test_matrix_values_are_spelt_as_asv_installs_them() -> None:
    """The suite's matrix rule is asv's: a bare version pins it ("1.26.4" -> ==1.26.4, as asv's
    virtualenv plugin installs it), every key naming torch (the store's list) is left out, and
    torch older than 2.3 adds numpy<2 to the matrix's own numpy pin rather than replacing it."""
    matrix = {"conda+pytorch": ["2.2.2"], "torch": ["2.2.2"], "pip+numpy": ["1.26.4"], "threadpoolctl": ["3.5.0"]}
    assert bisect.torch_requirements("2.2.2", matrix) == ["torch==2.2.2", "numpy==1.26.4,<2", "threadpoolctl==3.5.0"]
    assert bisect.torch_requirements("2.4.0", matrix) == ["torch==2.4.0", "numpy==1.26.4", "threadpoolctl==3.5.0"]


def test_torch_requirements_of_the_project_config() -> None:
    """The project's own asv.conf.json, through the store's one reader: the matrix is the suite's."""
    from torchperf_core.store import read_config

    reqs = bisect.torch_requirements("2.2.2", read_config(ROOT / "asv.conf.json").requirements)
    assert reqs == ["torch==2.2.2", "numpy<2", "packaging", "threadpoolctl", "setuptools", "asv_runner==0.3.2"]


def test_runtime_needs_outside_a_project_are_the_project_matrixs() -> None:
    """A bisection outside a project installs torchperf_core's runtime needs from RUNTIME_MATRIX: the
    project's matrix must spell each the same (one owner, held to the config here)."""
    from torchperf_core.store import read_config

    matrix = read_config(ROOT / "asv.conf.json").requirements
    assert {k: matrix.get(k) for k in bisect.RUNTIME_MATRIX} == dict(bisect.RUNTIME_MATRIX)
    assert bisect.torch_requirements("2.3.0", bisect.RUNTIME_MATRIX) == ["torch==2.3.0", "numpy", "packaging",
                                                                         "threadpoolctl"]


def test_suite_environment_of_a_release_is_reused(tmp_path: Path) -> None:
    """A torch release `torchperf run` already built an asv environment for is measured there: found
    by asv's naming of the config `run` derives (write_run_config) and asv's completeness check. The
    "built" environment here is asv's info file plus links to this interpreter (no torch download)."""
    from asv import environment
    from asv.config import Config

    from torchperf_core.bisect.envs import EnvironmentCache
    from torchperf_core.run import write_run_config
    from torchperf_core.store import read_config

    (tmp_path / "asv.conf.json").write_text(json.dumps({
        "version": 1, "project": "toy", "repo": ".", "environment_type": "virtualenv", "pythons": [PY],
        "env_dir": "env", "matrix": {"req": {"pip+torch": ["2.12.0", "2.13.0"], "numpy": [""]}}}))
    config = read_config(tmp_path / "asv.conf.json")
    assert bisect.suite_environment(config, "2.13.0") is None  # not built yet
    run_conf = Config.load(str(write_run_config(tmp_path, ["2.13.0"], path=tmp_path / "run.conf.json")))
    (built,) = environment.get_environments(run_conf, None, verbose=False)
    (Path(built._path) / "bin").mkdir(parents=True)
    for name in ("python", "pip"):
        (Path(built._path) / "bin" / name).symlink_to(sys.executable)
    built.save_info_file(built._path)  # what asv writes last, once every requirement is installed
    python = str(Path(built._path) / "bin" / "python")
    assert bisect.suite_environment(config, "2.13.0") == (PY, python)
    assert bisect.suite_environment(config, "2.12.0") is None  # another release: not built

    events: list[tuple[str, dict]] = []
    cache = EnvironmentCache(tmp_path / "cache", "torch", bisect.IndexOptions(no_index=True), pythons=[],
                             suite=lambda v: bisect.suite_environment(config, v))
    env = cache.ensure("2.13.0", lambda kind, **fields: events.append((kind, fields)))
    assert isinstance(env, bisect.envs.Environment) and (env.version, env.python) == ("2.13.0", python)
    assert events == [("reuse", {"version": "2.13.0",
                                 "python": f"{PY}, the suite's asv environment {built._path}"})]
    # nothing installed: the first path entry is empty, so the lib's torchperf_core is found first
    assert list(env.site.iterdir()) == [] and env.pythonpath().split(os.pathsep)[1] == str(env.lib)
    assert not list((tmp_path / "cache" / "envs").glob("torch-2.13.0-*"))


def test_download_size_is_read_from_pip_output() -> None:
    from torchperf_core.bisect.envs import download_of

    line = "  Downloading torch-2.12.0-cp311-cp311-manylinux_2_28_x86_64.whl (887.1 MB)\n"
    assert download_of(line) == ("torch-2.12.0-cp311-cp311-manylinux_2_28_x86_64.whl", "887.1 MB")
    assert download_of("Processing ./wheels/toyslow-1.0-py3-none-any.whl") is None


def test_progress_lines() -> None:
    from torchperf_core.render import render_bisect_progress

    assert render_bisect_progress("download", {"version": "2.12.0", "file": "torch-2.12.0.whl", "size": "887.1 MB"}) \
        == "  downloading torch-2.12.0.whl (887.1 MB)"
    assert render_bisect_progress("step", {"step": 2, "total": 3, "version": "1.7", "lo": "1.5", "hi": "1.9"}) \
        == "step 2 of ~3: 1.7 (between 1.5 and 1.9)"
    assert render_bisect_progress("install", {"version": "2.12.0", "python": "3.11"}) == "installing 2.12.0 (Python 3.11)"
    assert render_bisect_progress("no such event", {}) is None


def test_worker_environment_puts_the_release_first(tmp_path: Path) -> None:
    from torchperf_core.bisect.envs import SITE_ENV, Environment

    env = Environment("1.0", "python", PY, tmp_path / "site", tmp_path / "lib")
    got = env.environ({"PYTHONPATH": "/elsewhere", "PYTHONHOME": "/x", "HOME": "/root"})
    assert got["PYTHONPATH"] == f"{tmp_path / 'site'}{os.pathsep}{tmp_path / 'lib'}"
    assert "PYTHONHOME" not in got and got["HOME"] == "/root" and got[SITE_ENV] == str(tmp_path / "site")


@pytest.mark.parametrize("argv, message", [
    (["--good", "2.x", "--bad", "2.14.1"], "torch version '2.x' is not a PEP 440 version; expected a release like 2.13.0"),
    (["--good", "2.14.1", "--bad", "2.12"], "--good 2.14.1 must be older than --bad 2.12.0"),
    (["--good", "2.12", "--bad", "2.14.1", "--factor", "0.9"], "malformed factor '0.9'; give a number > 1, e.g. 1.1"),
    (["--good", "2.12", "--bad", "2.14.1", "--rounds", "0"], "--rounds '0' is not a positive integer"),
    (["--good", "2.12", "--bad", "2.14.1", "--rounds", "4", "--max-rounds", "3"],
     "rounds 4..3: need 3 <= min <= max (fewer than 3 rounds cannot estimate their spread)"),
    (["--good", "2.12", "--bad", "2.14.1", "--rounds", "2"],
     "rounds 2..8: need 3 <= min <= max (fewer than 3 rounds cannot estimate their spread)"),
    (["--good", "2.12", "--bad", "2.14.1", "--report", "r.txt"], "--report 'r.txt' must end in .json"),
    (["--good", "2.12", "--bad", "2.14.1", "--package=--pre"],
     "--package '--pre' is not a package name; expected a distribution name like torch or numpy"),
    (["--good", "2.12", "--bad", "2.14.1", "--include", "2.x"],
     "torch version '2.x' is not a PEP 440 version; expected e.g. 1.5"),
])  # fmt: skip
def test_cli_bad_input_exits_2_before_any_install(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  argv: list[str], message: str) -> None:
    code, out, err = run_cli(capsys, ["bisect", "mm --size 256", "--cache", str(tmp_path), *argv])
    assert (code, out, err) == (2, "", f"torchperf: error: {message}\n")
    assert not (tmp_path / "envs").exists()


def test_cli_versions_checked_against_the_index(capsys: pytest.CaptureFixture[str], index: Path, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, toy_args(index, tmp_path, "1.0", "1.10"))
    assert (code, err) == (2, "torchperf: error: --bad toyslow 1.10 is not on the package index "
                              "(newest served: 1.5, 1.6, 1.7, 1.8, 1.9)\n")
    code, _, err = run_cli(capsys, toy_args(index, tmp_path, "1.4", "1.5"))
    assert (code, err) == (2, "torchperf: error: no toyslow release between 1.4 and 1.5 on the index: the pair is "
                              "the answer already (compare them with `torchperf compare --torch`)\n")
    assert not (tmp_path / "envs").exists()


# ---------------------------------------------------------------------------------------------
# Decisions (the verdict room's paired-rounds rule on fixed samples)


def rounds_of(**medians: tuple[float, ...]) -> list[dict[str, list[float]]]:
    """Rounds whose per-version median is the given value (three samples around it)."""
    n = len(next(iter(medians.values())))
    return [{v: [m[i] * 0.99, m[i], m[i] * 1.01] for v, m in medians.items()} for i in range(n)]


A = (1.00, 1.05, 0.97, 1.02)
ALPHA = 0.01


def test_endpoint_decision_is_judged_on_paired_rounds() -> None:
    three_x = tuple(3 * x * (1 + d) for x, d in zip(A, (0.01, -0.02, 0.03, 0.0)))
    assert decide_endpoints(rounds_of(a=A[:3], b=three_x[:3]), "a", "b", 1.5, ALPHA)[0] == "slower"
    same = tuple(x * (1 + d) for x, d in zip(A, (0.01, -0.01, 0.02, 0.0)))
    outcome, (c,) = decide_endpoints(rounds_of(a=A[:3], b=same[:3]), "a", "b", 1.5, ALPHA)
    assert (outcome, c["verdict"], c["rounds"]) == ("not reproduced", "same", 3)
    # two rounds cannot estimate their spread; rounds that disagree (3x, 0.9x, 2x) decide nothing:
    # both are undecided -> another round, never a guess
    assert decide_endpoints(rounds_of(a=A[:2], b=three_x[:2]), "a", "b", 1.5, ALPHA)[0] is None
    outcome, (c,) = decide_endpoints(rounds_of(a=A[:3], b=(3.0, 0.945, 1.94)), "a", "b", 1.5, ALPHA)
    assert (outcome, c["verdict"], c["undecided"]) == (None, "unknown", True)


def test_midpoint_goes_to_the_side_it_matches() -> None:
    fast = A
    slow = tuple(3 * x * (1 + d) for x, d in zip(A, (0.01, -0.02, 0.03, 0.0)))
    slow2 = tuple(3 * x * (1 + d) for x, d in zip(A, (-0.01, 0.01, 0.0, 0.02)))
    fast2 = tuple(x * (1 + d) for x, d in zip(A, (0.01, -0.01, 0.02, 0.0)))
    assert decide_mid(rounds_of(lo=fast, mid=slow, hi=slow2), "lo", "mid", "hi", 1.5, ALPHA)[0] == "bad"
    assert decide_mid(rounds_of(lo=fast, mid=fast2, hi=slow), "lo", "mid", "hi", 1.5, ALPHA)[0] == "good"
    # 2x then 1.5x: both steps significant at factor 1.2; the larger one holds the culprit
    two_x = tuple(2 * x * (1 + d) for x, d in zip(A, (0.0, 0.01, -0.01, 0.02)))
    outcome, (left, right) = decide_mid(rounds_of(lo=fast, mid=two_x, hi=slow), "lo", "mid", "hi", 1.2, ALPHA)
    assert (outcome, left["verdict"], right["verdict"]) == ("bad", "slower", "slower")
    # one side significantly slower is enough to follow it, even while the other is undecided
    outcome, (left, right) = decide_mid(rounds_of(lo=fast, mid=(1.2, 1.6, 1.0, 1.5), hi=slow), "lo", "mid",
                                        "hi", 1.5, ALPHA)
    assert (outcome, left["verdict"], right["verdict"]) == ("good", "unknown", "slower")
    # neither side significantly slower and one undecided: another round
    outcome, (left, right) = decide_mid(rounds_of(lo=fast[:3], mid=(3.0, 0.945, 1.94), hi=(3.1, 3.0, 2.9)),
                                        "lo", "mid", "hi", 1.5, ALPHA)
    assert (outcome, left["verdict"], right["verdict"]) == (None, "unknown", "unknown")


def test_search_alpha_shares_five_percent_over_comparisons_and_looks() -> None:
    from torchperf_core.bisect.search import search_alpha

    # 8 releases between: 4 steps -> 1 + 2*4 = 9 comparisons; rounds 3..8 -> 6 looks
    assert search_alpha(8, bisect.Rounds()) == pytest.approx(0.05 / (9 * 6))


def test_state_resumes_an_unfinished_session_only_for_the_same_step(tmp_path: Path) -> None:
    question = {"package": "toyslow", "case": "toyslow:work", "good": "1.0", "bad": "1.9", "index": "x",
                "factor": 1.5, "include": []}
    state = BisectState.open(tmp_path, question, RELEASES)
    session = state.open_session(1, ["1.0", "1.5", "1.9"])
    session["rounds"].append({"1.0": [1.0], "1.5": [1.0], "1.9": [3.0]})
    state.save()
    again = BisectState.open(tmp_path, question, [])
    assert again.resumed and again.releases == RELEASES
    assert again.open_session(1, ["1.0", "1.5", "1.9"])["rounds"] == [{"1.0": [1.0], "1.5": [1.0], "1.9": [3.0]}]
    assert again.open_session(2, ["1.5", "1.7", "1.9"])["rounds"] == []
    assert [s["step"] for s in again.sessions] == [2]


# ---------------------------------------------------------------------------------------------
# The report format


def test_report_v1_fixture_loads_and_renders() -> None:
    report = bisect.load_report(FIXTURES / "bisect_report_v1.json")
    text = render_bisect_report(report)
    first = text.splitlines()[0]
    c = report["culprit"]
    lo, hi = c["ratio_ci"]
    assert first == (f"culprit: toyslow 1.5 -> 1.6: {c['ratio']:.2f}x (90% interval {lo:.2f}x-{hi:.2f}x, "
                     f"p={c['p']:.1e}, {c['rounds']} paired rounds, slower)")
    assert "skipped 1.7: " in text and [r["version"] for r in report["versions"]] == ["1.0", "1.5", "1.6", "1.8", "1.9"]
    # a culprit the signed-rank test decided: its p is that test's, and the line says so
    ranked = {**report, "culprit": {**c, "p": 2 / 2**20, "decided_by": "signed-rank test"}}
    assert render_bisect_report(ranked).splitlines()[0] == (
        f"culprit: toyslow 1.5 -> 1.6: {c['ratio']:.2f}x (90% interval {lo:.2f}x-{hi:.2f}x, "
        f"signed-rank test p=1.9e-06, {c['rounds']} paired rounds, slower)")


def test_report_v2_fixture_renders_disturbed_counts() -> None:
    """Version 2 (disturbed rounds counted per step and version), written from the simulated mixed
    search below; a version 1 report still renders without the column (test above)."""
    report = bisect.load_report(FIXTURES / "bisect_report_v2.json")
    lines = render_bisect_report(report).splitlines()
    assert lines[1] == ("disturbed rounds (set aside, not judged): endpoints 2 of 5, step 1 2 of 5, step 2 2 of 5, "
                        "step 3 2 of 5")
    assert lines[2].split() == ["version", "median", "IQR", "samples", "disturbed"]
    assert [line.split()[-1] for line in lines[4:9]] == ["4", "6", "2", "4", "6"]
    v1 = render_bisect_report(bisect.load_report(FIXTURES / "bisect_report_v1.json")).splitlines()
    assert not any("disturbed" in line for line in v1)


def test_report_renders_the_why_at_the_culprit() -> None:
    report = bisect.load_report(FIXTURES / "bisect_report_v1.json")
    report["package"] = "torch"
    report["why"] = {
        "fields": [{"field": "torch.version", "before": "2.12.0", "after": "2.13.0", "key": False},
                   {"field": "torch.onednn_version", "before": "3.12.0", "after": "3.12.3", "key": True}],
        "kernels": [{"kernel": "mm/float16", "before": ["onednn:matmul:brg_matmul:avx512_core_fp16"],
                     "after": ["onednn:matmul:ref:any"], "before_reference": False, "after_reference": True}],
        "kernels_unchanged": [],
    }
    lines = render_bisect_report(report).splitlines()
    start = lines.index("why: fingerprint differences")
    assert lines[start + 1:start + 4] == [
        "    torch.version: 2.12.0 -> 2.13.0",
        "  ! torch.onednn_version: 3.12.0 -> 3.12.3",
        "  kernel mm/float16: onednn:matmul:brg_matmul:avx512_core_fp16 -> onednn:matmul:ref:any (reference kernel!)",
    ]


def test_why_flags_key_fields_and_a_kernel_change() -> None:
    """The diff of the culprit pair's fingerprints and kernels (the fingerprint fixture, edited as a
    oneDNN bump that falls back to the reference kernel, pytorch#193951)."""
    from torchperf_core.bisect.why import explain

    before = json.loads((FIXTURES / "fingerprint_v1.json").read_text())
    after = json.loads(json.dumps(before))
    after["torch"]["version"] = "2.14.1"
    after["torch"]["onednn_version"] = "3.12.3 (0123456789ab)"

    def kernels(backend: str) -> dict:
        return {"mm/float16": {"op": "mm", "dtype": "float16", "device": "cpu", "backends": [backend]}}

    case = bisect.parse_case("mm --size 1024 --dtype float16")
    got = explain({"fingerprint": before, "kernels": kernels("onednn:matmul:brg_matmul:avx512_core_fp16")},
                  {"fingerprint": after, "kernels": kernels("onednn:matmul:ref:any")}, case, ("mm", "float16"))
    assert got["fields"] == [
        {"field": "torch.version", "before": "2.13.0+cpu", "after": "2.14.1", "key": False},
        {"field": "torch.onednn_version", "before": "3.12.0 (80afa71049cd)", "after": "3.12.3 (0123456789ab)",
         "key": True},
    ]
    assert got["kernels"] == [{"kernel": "mm/float16", "before": ["onednn:matmul:brg_matmul:avx512_core_fp16"],
                               "after": ["onednn:matmul:ref:any"], "before_reference": False,
                               "after_reference": True}]
    assert got["kernels_unchanged"] == []


@pytest.mark.parametrize("fixture", ["bisect_report_v1.json", "bisect_report_v2.json"])
@pytest.mark.parametrize("status", ["culprit", "range", "paused", "contended", "not reproduced"])
def test_old_report_reads_its_bounds_as_bounds_and_names_a_culprit_only_when_it_found_one(
        tmp_path: Path, fixture: str, status: str) -> None:
    """Versions 1 and 2 kept the pair a search ended on under "culprit" whatever the status; version 3
    keeps it under "bounds" and "culprit" only for a culprit found. Range and paused render the bounds."""
    data = json.loads((FIXTURES / fixture).read_text())
    path = tmp_path / "r.json"
    path.write_text(json.dumps({**data, "status": status, "note": "n"}))
    report = bisect.load_report(path)
    assert report["bounds"] == data["culprit"] and (report["bounds"]["good"], report["bounds"]["bad"]) == ("1.5", "1.6")
    assert report["culprit"] == (data["culprit"] if status == "culprit" else None)
    first = render_bisect_report(report).splitlines()[0]
    c = data["culprit"]
    ci_lo, ci_hi = c["ratio_ci"]
    assert first == {
        "culprit": (f"culprit: toyslow 1.5 -> 1.6: {c['ratio']:.2f}x (90% interval {ci_lo:.2f}x-{ci_hi:.2f}x, "
                    f"p={c['p']:.1e}, {c['rounds']} paired rounds, slower)"),
        "range": "undecided: the slowdown is between toyslow 1.5 and 1.6; n",
        "paused": "paused: the slowdown is between toyslow 1.5 and 1.6; re-run the same command to continue",
        "contended": "contended: toyslow n",
        "not reproduced": (f"not reproduced: toyslow {data['bad']} is not slower than {data['good']} beyond "
                           f"x{data['factor']:g} (ratio {c['ratio']:.2f}x, slower); nothing to bisect"),
    }[status]


@pytest.mark.parametrize("fixture", ["bisect_report_v1.json", "bisect_report_v2.json", "v3"])
def test_old_not_reproduced_with_unknown_endpoints_reads_as_undecided(tmp_path: Path, fixture: str) -> None:
    """Versions 1-3 filed endpoints still unknown after --max-rounds as "not reproduced" (exit 3);
    they read back as "undecided" (exit 1), "was not shown slower". Decided ones stay as they were."""
    if fixture == "v3":
        state, _ = simulated_search(tmp_path, lambda k, versions: None)
        data = {**bisect.build_report(state), "format_version": 3, "culprit": None}
        pair = "bounds"
    else:
        data, pair = json.loads((FIXTURES / fixture).read_text()), "culprit"
    for verdict, status in (("unknown", "undecided"), ("same", "not reproduced")):
        path = tmp_path / "r.json"
        path.write_text(json.dumps({**data, "status": "not reproduced", "note": "n",
                                    pair: {**data[pair], "verdict": verdict}}))
        report = bisect.load_report(path)
        assert (report["status"], EXIT_CODES[report["status"]]) == (status, 1 if status == "undecided" else 3)
        claim, tail = ("was not shown slower", "n") if status == "undecided" else ("is not slower", "nothing to bisect")
        assert render_bisect_report(report).splitlines()[0] == (
            f"{status}: toyslow {data['bad']} {claim} than {data['good']} beyond x{data['factor']:g} "
            f"(ratio {data[pair]['ratio']:.2f}x, {verdict}); {tail}")
    path.write_text(json.dumps({**data, "format_version": 4, "status": "not reproduced",
                                pair: {**data[pair], "verdict": "unknown"}}))
    assert bisect.load_report(path)["status"] == "not reproduced"  # version 4 is read as written


def test_report_names_a_culprit_only_when_the_search_found_one(tmp_path: Path) -> None:
    state, _ = simulated_search(tmp_path, lambda k, versions: None)
    report = bisect.build_report(state)
    assert report["format_version"] == 4 and report["status"] == "culprit"
    assert report["culprit"] == report["bounds"] and (report["culprit"]["good"], report["culprit"]["bad"]) == ("1.5", "1.6")
    path = bisect.save_report(report, tmp_path / "r.json")
    assert bisect.load_report(path) == json.loads(json.dumps(report))


def endpoints_3x_then_0_4x(version: str, k: int) -> float:
    """1.9 reads 3x and 0.4x of the others in alternate rounds: the endpoints stay unknown."""
    return 1e-3 * ((3.0 if k % 2 else 0.4) if version == "1.9" else 1.0)


def test_undecided_endpoints_are_undecided_never_not_reproduced(tmp_path: Path) -> None:
    """Endpoints still unknown after --max-rounds end "undecided" (exit 1), not "not reproduced" (exit
    3, which says the rule decided there is no slowdown): the line says the slowdown was not shown,
    and how to go on; the ratio printed may well be above the factor."""
    state, pool = simulated_search(tmp_path, lambda k, versions: None, times=endpoints_3x_then_0_4x)
    assert (state.status, len(pool.calls), EXIT_CODES[state.status]) == ("undecided", 8, 1)
    note = "the endpoints could not be told apart after 8 rounds; re-run with --max-rounds above 8 to measure on"
    assert state.note == note and [s["outcome"] for s in state.sessions] == ["undecided"]
    report = bisect.build_report(state)
    assert (report["status"], report["bounds"]["verdict"], report["culprit"]) == ("undecided", "unknown", None)
    lines = render_bisect_report(report).splitlines()
    assert lines[0] == (f"undecided: toyslow 1.9 was not shown slower than 1.0 beyond x1.5 "
                        f"(ratio {report['bounds']['ratio']:.2f}x, unknown); {note}")
    assert not lines[1].startswith("note:")  # the note is on the first line, once
    assert f"{report['bounds']['ratio']:.2f}" == "1.10"  # 3x and 0.4x rounds: their geometric mean


def test_undecided_search_rerun_with_the_same_max_rounds_only_reports_again(tmp_path: Path) -> None:
    state, _ = simulated_search(tmp_path, lambda k, versions: None, times=endpoints_3x_then_0_4x)
    again, pool = simulated_search(tmp_path, lambda k, versions: None, times=endpoints_3x_then_0_4x)
    assert again.resumed and (again.status, again.note, pool.calls) == ("undecided", state.note, [])
    assert again.sessions == state.sessions
    assert [kind for kind, _ in again.events] == []  # type: ignore[attr-defined]  # not even reopened


def test_undecided_with_disturbed_rounds_counts_them_toward_max_rounds_simulated_disturbance(tmp_path: Path) -> None:
    """Rounds 7 and 8 disturbed, the 6 clean ones undecided: 8 rounds taken, the note says so (and
    the rounds set aside), and a re-run with --max-rounds 8 takes nothing more."""
    state, pool = simulated_search(tmp_path, lambda k, versions: "1.9" if k in (7, 8) else None,
                                   times=endpoints_3x_then_0_4x)
    (session,) = state.sessions
    assert (state.status, len(pool.calls), len(session["rounds"]), len(session["disturbed"])) == ("undecided", 8, 6, 2)
    assert state.note == ("the endpoints could not be told apart after 8 rounds (2 disturbed round(s) set aside); "
                          "re-run with --max-rounds above 8 to measure on")
    again, pool = simulated_search(tmp_path, lambda k, versions: None, times=endpoints_3x_then_0_4x)
    events = [kind for kind, _ in again.events]  # type: ignore[attr-defined]
    assert (again.status, pool.calls, events) == ("undecided", [], [])
    more, pool = simulated_search(tmp_path, lambda k, versions: None, max_rounds=9, times=endpoints_3x_then_0_4x)
    assert len(pool.calls) == 1 and more.note.startswith("the endpoints could not be told apart after 9 rounds")


def test_a_run_stopped_between_an_undecided_step_and_its_finish_resumes_that_step(tmp_path: Path) -> None:
    """The session is closed "undecided" and saved before the search's status is: a run stopped in
    between leaves status "running". The re-run neither counts that session as a step done nor
    starts the step over: with a larger --max-rounds it measures on in it."""
    def noisy(version: str, k: int) -> float:
        return 1e-3 * (3.0 if k % 2 else 1.0) if version == "1.5" else toy_time(version, k)

    first, _ = simulated_search(tmp_path, lambda k, versions: None, times=noisy)
    assert first.status == "range"
    data = json.loads(first.path.read_text())
    first.path.write_text(json.dumps({**data, "status": "running", "note": ""}))
    again, _ = simulated_search(tmp_path, lambda k, versions: None, max_rounds=30, times=toy_time)
    assert (again.status, again.lo, again.hi) == ("culprit", "1.5", "1.6")
    assert [(s["step"], s["outcome"]) for s in again.sessions] == [(0, "slower"), (1, "good"), (2, "bad"), (3, "bad")]
    assert again.sessions[1]["rounds"][:8] == first.sessions[1]["rounds"]
    # with no rounds left to take, the step is measured again in a session of its own, still step 1
    first.path.write_text(json.dumps({**data, "status": "running", "note": ""}))
    third, _ = simulated_search(tmp_path, lambda k, versions: None, times=toy_time)
    assert [(s["step"], s["outcome"]) for s in third.sessions][:3] == [(0, "slower"), (1, "undecided"), (1, "good")]
    assert (third.status, third.lo, third.hi) == ("culprit", "1.5", "1.6")


@pytest.mark.parametrize("where", ["endpoints", "step 1"])
def test_undecided_search_measures_on_with_a_larger_max_rounds(tmp_path: Path, where: str) -> None:
    """Re-run with a larger --max-rounds, an undecided decision (the endpoints, or a step's range)
    takes more rounds in the same session, its earlier rounds kept, and the search goes on."""
    def noisy(version: str, k: int) -> float:  # the undecided side reads 3x and 1x (or 0.4x) in turn
        if where == "endpoints":
            return endpoints_3x_then_0_4x(version, k)
        return 1e-3 * (3.0 if k % 2 else 1.0) if version == "1.5" else toy_time(version, k)

    first, _ = simulated_search(tmp_path, lambda k, versions: None, times=noisy)
    assert (first.status, EXIT_CODES[first.status]) == (("undecided" if where == "endpoints" else "range"), 1)
    if where == "step 1":
        assert (first.lo, first.hi) == ("1.0", "1.9")
        assert first.note == ("1.5 could not be told apart from 1.0 or 1.9 after 8 rounds; "
                              "re-run with --max-rounds above 8 to measure on")
    undecided = first.sessions[-1]
    again, pool = simulated_search(tmp_path, lambda k, versions: None, max_rounds=30, times=toy_time)
    reopened = again.sessions[len(first.sessions) - 1]
    assert (reopened["step"], reopened["versions"]) == (undecided["step"], undecided["versions"])
    assert reopened["rounds"][:8] == undecided["rounds"] and len(reopened["rounds"]) > 8  # kept, then more
    assert reopened["outcome"] == ("slower" if where == "endpoints" else "good")
    assert (again.status, again.lo, again.hi, again.note) == ("culprit", "1.5", "1.6", "")
    assert len(again.sessions) == len(first.sessions) + (3 if where == "endpoints" else 2)  # no session twice
    (event,) = [f for kind, f in again.events if kind == "reopen"]  # type: ignore[attr-defined]
    assert render_bisect_progress("reopen", event) == (
        f"measuring on: {', '.join(undecided['versions'])} were undecided after 8 rounds; up to 30 (--max-rounds)")


def test_report_of_a_newer_format_is_refused(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "bisect_report_v1.json").read_text())
    path = tmp_path / "r.json"
    path.write_text(json.dumps({**data, "format_version": 99}))
    with pytest.raises(TorchperfError) as info:
        bisect.load_report(path)
    assert str(info.value) == (f"{path}: bisect report format_version 99 not supported "
                               "(this torchperf reads 1, 2, 3, 4); "
                               "re-run `torchperf bisect` to rewrite it")


# ---------------------------------------------------------------------------------------------
# Contention (issue 11): disturbed rounds are set aside, never judged. A busy neighbour cannot be
# ordered up on demand, so these searches run on a simulated pool whose rounds (samples, and which
# blocks the contention probe flagged) are scripted: the disturbance is simulated, the search,
# state, report, renderer and CLI are the real ones.

CAUSE = "3 of 10 samples waited for a CPU (median wait 40% of the sample, summed over threads)"


def toy_time(version: str, k: int) -> float:
    """1 ms before 1.6, 3 ms from it; a small deterministic per-round jitter (so rounds differ)."""
    minor = int(version.split(".")[1])
    return (1e-3 if minor < 6 else 3e-3) * (1 + 0.002 * ((3 * k + minor) % 5 - 2))


class SimulatedPool:
    """Stands in for the workers (pool.Pool's interface). `disturbed(session_round, versions)` names
    the version whose block the simulated probe flags in that round of the session (or None); such a
    round reads scheduler quanta (8 ms on the first version, 1 ms on the others), which, if judged,
    would turn every step around."""

    def __init__(self, case: object, package: str, logs: Path,
                 disturbed: "object" = lambda k, versions: None, times: "object" = toy_time) -> None:
        self.workers: dict[str, object] = {}
        self.disturbed = disturbed
        self.times = times
        self.calls: list[tuple[str, ...]] = []
        self.session: tuple[str, ...] = ()
        self.k = 0

    def start(self, env: object) -> object:
        return self.workers.setdefault(env.version, SimpleNamespace(kernel=None))  # type: ignore[attr-defined]

    def keep_only(self, versions: list[str]) -> None:
        self.workers = {v: w for v, w in self.workers.items() if v in versions}

    def stop(self, version: str) -> None:
        self.workers.pop(version, None)

    def close(self) -> None:
        self.workers = {}

    def round(self, versions: list[str], samples: int, blocks: int = 4) -> Round:
        if tuple(versions) != self.session:
            self.session, self.k = tuple(versions), 0
        self.k += 1
        self.calls.append(tuple(versions))
        assert len(self.calls) < 200, "the search keeps retaking rounds: --max-rounds must bound them"
        hit = self.disturbed(self.k, versions)
        if hit is not None:
            quanta = {v: [8e-3 if v == versions[0] else 1e-3] * 3 for v in versions}
            return Round(quanta, {hit: CAUSE})
        return Round({v: [self.times(v, self.k) * f for f in (0.99, 1.0, 1.01)] for v in versions})


class SimulatedEnvs:
    """Every release "installs" at once (no pip: the environments are not what is tested here)."""

    def ensure(self, version: str, progress: object) -> Environment:
        return Environment(version, sys.executable, PY, Path("/nonexistent/site"), Path("/nonexistent/lib"))


def simulated_search(tmp_path: Path, disturbed: object, max_rounds: int = 8,
                     times: object = toy_time) -> tuple[BisectState, SimulatedPool]:
    question = {"package": "toyslow", "case": "toyslow:work", "good": "1.0", "bad": "1.9", "index": "x",
                "factor": 1.5, "include": []}
    state = BisectState.open(tmp_path / "runs", question, RELEASES)
    pools: list[SimulatedPool] = []

    def make(case: object, package: str, logs: Path) -> SimulatedPool:
        pools.append(SimulatedPool(case, package, logs, disturbed, times))
        return pools[-1]

    events: list[tuple[str, dict]] = []
    bisector = bisect.Bisector(bisect.parse_case("toyslow:work"), "toyslow", state, SimulatedEnvs(),  # type: ignore[arg-type]
                               bisect.Rounds(max_rounds=max_rounds), lambda kind, **f: events.append((kind, f)))
    import torchperf_core.bisect.search as search_module

    real = search_module.Pool
    search_module.Pool = make  # type: ignore[assignment,misc]
    try:
        bisector.run()
    finally:
        search_module.Pool = real  # type: ignore[misc]
    state.events = events  # type: ignore[attr-defined]
    return state, pools[0]


def test_disturbed_round_is_not_judged_simulated_disturbance(tmp_path: Path) -> None:
    # the 2nd round of every session is disturbed: its 8 ms-vs-1 ms quanta would reverse the ratio
    state, pool = simulated_search(tmp_path, lambda k, versions: versions[-1] if k == 2 else None)
    assert (state.status, state.lo, state.hi) == ("culprit", "1.5", "1.6")
    for session in state.sessions:  # 3 clean rounds decide each step; the disturbed one is kept aside
        assert (len(session["rounds"]), len(session["disturbed"])) == (3, 1)
        assert session["disturbed"][0]["round"] == 2
        assert session["disturbed"][0]["causes"] == {session["versions"][-1]: CAUSE}
        assert all(8e-3 not in r[v] for r in session["rounds"] for v in r)
        assert all(c["rounds"] == 3 for c in session["comparisons"])
    assert len(pool.calls) == 4 * len(state.sessions)
    disturbed_events = [f for kind, f in state.events if kind == "disturbed"]  # type: ignore[attr-defined]
    assert disturbed_events[0] == {"step": 0, "round": 2, "versions": ["1.0", "1.9"], "cause": f"1.9: {CAUSE}"}
    assert render_bisect_progress("disturbed", disturbed_events[0]) == (
        f"  round 2: 1.0, 1.9: disturbed, not judged (1.9: {CAUSE})")
    # the state file keeps the counts: a reload sees the same sessions
    again = BisectState.load(state.path)
    assert [len(s["disturbed"]) for s in again.sessions] == [1] * len(state.sessions)


def test_all_disturbed_endpoints_end_contended_simulated_disturbance(tmp_path: Path) -> None:
    state, pool = simulated_search(tmp_path, lambda k, versions: "1.9")
    assert len(pool.calls) == 8  # disturbed rounds count toward --max-rounds: no endless retaking
    assert state.status == "contended" and EXIT_CODES[state.status] == 1
    (session,) = state.sessions
    assert (session["outcome"], session["rounds"], len(session["disturbed"])) == ("contended", [], 8)
    assert state.note == f"1.0 vs 1.9 (the endpoints): 8 round(s) disturbed (1.9: {CAUSE}): re-run on a quiet machine"
    report = bisect.build_report(state)
    text = render_bisect_report(report)
    assert text.splitlines()[0] == ("contended: toyslow 1.0 vs 1.9 (the endpoints): 8 round(s) disturbed "
                                    f"(1.9: {CAUSE}): re-run on a quiet machine")
    assert "not reproduced" not in text and "culprit" not in text
    assert "disturbed rounds (set aside, not judged): endpoints 8 of 8" in text.splitlines()
    # no clean round: the table shows the disturbed numbers in parentheses, footnoted
    rows = {r["version"]: r for r in report["versions"]}
    assert {v: (r["rounds"], r["disturbed_rounds"], r["contended"]) for v, r in rows.items()} == {
        "1.0": (0, 8, True), "1.9": (0, 8, True)}
    assert [line for line in text.splitlines() if line.startswith("1.0 ")] == [
        "1.0      (8 ms)  (8 ms..8 ms)       24          8"]
    assert text.splitlines()[-1] == "(...) contended: every round of that version was disturbed; not a clean median"


def test_a_real_search_skips_only_when_contended_simulated_disturbance(tmp_path: Path) -> None:
    """`decided`, the real searches' guard: a contended report is checked, then skipped; any other
    outcome goes on to the test's own assertions."""
    state, _ = simulated_search(tmp_path, lambda k, versions: "1.9")
    report = bisect.build_report(state)
    with pytest.raises(pytest.skip.Exception, match=r"^the machine was too busy .*: contended: toyslow 1\.0 vs 1\.9"):
        decided(1, report, "")
    with pytest.raises(AssertionError):
        decided(0, report, "")  # contended must exit 1
    clean, _ = simulated_search(tmp_path / "clean", lambda k, versions: None)
    assert decided(0, bisect.build_report(clean), "")["status"] == clean.status != "contended"


def test_mix_with_enough_clean_rounds_still_decides_simulated_disturbance(tmp_path: Path) -> None:
    # rounds 1 and 3 of each session disturbed (a different side each time): 3 clean rounds remain
    # within 5 of the 8 allowed, so every decision is still made, on clean rounds only
    state, _ = simulated_search(tmp_path, lambda k, versions: {1: versions[0], 3: versions[-1]}.get(k))
    assert (state.status, state.lo, state.hi, state.note) == ("culprit", "1.5", "1.6", "")
    report = bisect.build_report(state)
    assert [(s["rounds"], s["disturbed"], s["outcome"]) for s in report["steps"]] == [
        (3, 2, "slower"), (3, 2, "good"), (3, 2, "bad"), (3, 2, "bad")]
    assert [s["versions"] for s in report["steps"]][1:] == [["1.0", "1.5", "1.9"], ["1.5", "1.7", "1.9"],
                                                          ["1.5", "1.6", "1.7"]]
    line = next(x for x in render_bisect_report(report).splitlines() if x.startswith("disturbed rounds"))
    assert line == "disturbed rounds (set aside, not judged): endpoints 2 of 5, step 1 2 of 5, step 2 2 of 5, step 3 2 of 5"
    assert not any(r["contended"] for r in report["versions"])
    assert report["culprit"]["verdict"] == "slower" and report["culprit"]["rounds"] == 3


def test_step_without_enough_clean_rounds_is_contended_not_a_range_simulated_disturbance(tmp_path: Path) -> None:
    # the endpoints are clean; from step 1 on every round is disturbed
    state, _ = simulated_search(tmp_path, lambda k, versions: versions[1] if len(versions) == 3 else None)
    assert (state.status, state.lo, state.hi) == ("contended", "1.0", "1.9")
    assert state.note == (f"1.5 between 1.0 and 1.9 (step 1): 8 round(s) disturbed (1.5: {CAUSE}): "
                          "re-run on a quiet machine")
    report = bisect.build_report(state)
    assert render_bisect_report(report).splitlines()[0] == f"contended: toyslow {state.note}"
    # the bounds it stopped at, judged by the endpoints' session; never a culprit (a contended search names none)
    assert report["culprit"] is None
    assert (report["bounds"]["good"], report["bounds"]["bad"], report["bounds"]["verdict"], report["bounds"]["step"]) \
        == ("1.0", "1.9", "slower", 0)
    with pytest.raises(pytest.skip.Exception, match=r"^the machine was too busy .*: contended: toyslow 1\.5 between"):
        decided(1, report, "")  # a real search contended after its endpoints is checked as contended too


def test_contended_search_resumes_by_measuring_that_decision_again_simulated_disturbance(tmp_path: Path) -> None:
    state, _ = simulated_search(tmp_path, lambda k, versions: "1.9")
    assert state.status == "contended" and not state.endpoints_measured
    again, _ = simulated_search(tmp_path, lambda k, versions: None)  # the machine is quiet now
    assert again.resumed and (again.status, again.lo, again.hi) == ("culprit", "1.5", "1.6")
    first, second = again.sessions[:2]
    assert (first["step"], first["outcome"], len(first["disturbed"])) == (0, "contended", 8)
    assert (second["step"], second["outcome"], len(second["disturbed"]), len(second["rounds"])) == (0, "slower", 0, 3)
    assert [s["step"] for s in again.sessions[2:]] == [1, 2, 3]  # a contended session is not a step done


def test_state_v1_file_resumes_with_no_disturbed_rounds(tmp_path: Path) -> None:
    question = {"package": "toyslow", "case": "toyslow:work", "good": "1.0", "bad": "1.9", "index": "x",
                "factor": 1.5, "include": []}
    path = tmp_path / f"{bisect.question_key(question)}.json"
    path.write_text(json.dumps({"format_version": 1, "question": question, "releases": RELEASES, "skipped": {},
                                "sessions": [{"step": 0, "versions": ["1.0", "1.9"], "rounds": [{"1.0": [1.0], "1.9": [3.0]}],
                                              "outcome": "slower", "comparisons": []}],
                                "lo": "1.0", "hi": "1.9", "status": "running", "note": "", "why": None}))
    state = BisectState.open(tmp_path, question, RELEASES)
    assert state.endpoints_measured and state.sessions[0]["disturbed"] == [] and state.sessions[0]["note"] == ""
    state.save()
    assert json.loads(path.read_text())["format_version"] == 3


def test_state_v2_not_reproduced_after_undecided_endpoints_reads_as_undecided(tmp_path: Path) -> None:
    """Version 2 filed endpoints still unknown after --max-rounds as "not reproduced"; read back, that
    search is "undecided" and measures on with a larger --max-rounds. A decided one stays finished."""
    question = {"package": "toyslow", "case": "toyslow:work", "good": "1.0", "bad": "1.9", "index": "x",
                "factor": 1.5, "include": []}
    path = tmp_path / f"{bisect.question_key(question)}.json"
    contended = {"step": 0, "versions": ["1.0", "1.9"], "rounds": [], "disturbed": [], "outcome": "contended",
                 "comparisons": [], "note": ""}
    for outcome, status in (("undecided", "undecided"), ("not reproduced", "not reproduced")):
        path.write_text(json.dumps({
            "format_version": 2, "question": question, "releases": RELEASES, "skipped": {},
            "sessions": [contended, {"step": 0, "versions": ["1.0", "1.9"], "rounds": [{"1.0": [1.0], "1.9": [1.0]}],
                                     "disturbed": [], "outcome": outcome, "comparisons": [], "note": ""}],
            "lo": "1.0", "hi": "1.9", "status": "not reproduced", "note": "", "why": None}))
        assert BisectState.open(tmp_path, question, RELEASES).status == status  # the last endpoints session's


def test_contended_reason_is_the_gates_rule() -> None:
    from torchperf_core.verdict import contended_reason

    assert contended_reason(2, 3, "busy") == "3 round(s) disturbed (busy): re-run on a quiet machine"
    assert contended_reason(3, 3, "busy") is None  # enough clean rounds: an ordinary (un)decided case
    assert contended_reason(0, 0, None) is None  # nothing disturbed: undecided, not contended
    assert contended_reason(4, 1, None, needed=5) == "1 round(s) disturbed (the machine was busy): re-run on a quiet machine"


def test_worker_protocol_reports_contention_per_block(tmp_path: Path) -> None:
    """The real worker script, in a subprocess of this venv's Python, on a toy callable: every
    "measure" answer carries the probe's "contended" (a bool: the block was watched) and "cause"."""
    from torchperf_core.bisect.pool import Pool

    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "torchperf_core").symlink_to(ROOT / "torchperf_core", target_is_directory=True)
    (lib / "toyquiet.py").write_text("def work():\n    return sum(i * i for i in range(2000))\n")
    pool = Pool(bisect.parse_case("toyquiet:work"), "toyquiet", tmp_path / "logs")
    try:
        worker = pool.start(Environment("1.0", sys.executable, PY, tmp_path / "site", lib))
        answers = [worker.ask({"cmd": "measure", "samples": 5}) for _ in range(2)]
        got = pool.round(["1.0"], 5, blocks=2)
    finally:
        pool.close()
    for answer in answers:
        assert isinstance(answer["contended"], bool), answer
        assert answer["cause"] is None or isinstance(answer["cause"], str) and answer["cause"]
        assert not answer["contended"] or answer["cause"]  # a contended block always says why
        assert len(answer["samples"]) >= 5
    assert isinstance(got, Round) and len(got.samples["1.0"]) >= 10 and set(got.disturbed) <= {"1.0"}


# ---------------------------------------------------------------------------------------------
# Real searches (real pip, real environments, real timing)


@pytest.mark.slow
def test_bisect_names_1_5_to_1_6(capsys: pytest.CaptureFixture[str], index: Path, cache: Path) -> None:
    code, out, _ = run_cli(capsys, toy_args(index, cache))
    report = decided(code, report_of(out), out)
    assert code == 0, out
    assert report["status"] == "culprit"
    assert (report["culprit"]["good"], report["culprit"]["bad"], report["culprit"]["verdict"]) == ("1.5", "1.6", "slower")
    assert report["culprit"]["ratio_ci"][0] > 1.0  # the interval excludes "no change"
    steps = [s for s in report["steps"] if s["step"] > 0]
    assert 1 <= len(steps) <= 4 and report["steps"][0]["versions"] == ["1.0", "1.9"]
    assert all(s["rounds"] >= 3 for s in report["steps"])  # never decided on fewer than 3 rounds
    assert "culprit: toyslow 1.5 -> 1.6: " in out and "step 1 of ~4: " in out
    assert Path(report["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_bisect_refuses_when_endpoints_do_not_differ(capsys: pytest.CaptureFixture[str], index: Path,
                                                    cache: Path) -> None:
    code, out, err = run_cli(capsys, [*toy_args(index, cache, "1.0", "1.4"), "--json"])
    report = decided(code, json.loads(out), out + err)  # --json: the report on stdout, progress on stderr
    assert code == 3, out + err
    assert report["status"] == "not reproduced" and [s["step"] for s in report["steps"]] == [0]
    assert "measuring the endpoints 1.0 vs 1.4, interleaved" in err and "step 1" not in err
    (line,) = [x for x in render_bisect_report(report).splitlines() if x.startswith("not reproduced: ")]
    assert line.startswith("not reproduced: toyslow 1.4 is not slower than 1.0 beyond x1.5 (ratio ")
    assert line.endswith(f", {report['bounds']['verdict']}); nothing to bisect")
    assert report["bounds"]["verdict"] in ("same", "faster")


@pytest.mark.slow
def test_release_that_fails_to_install_is_skipped(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 cache: Path) -> None:
    broken = toy_index(tmp_path / "index", broken=("1.7",))
    code, out, _ = run_cli(capsys, toy_args(broken, cache))
    report = decided(code, report_of(out), out)
    assert code == 0, out
    wheel = broken / "toyslow-1.7-py3-none-any.whl"
    assert report["skipped"] == {"1.7": f"Python {PY}: Wheel 'toyslow' located at {wheel} is invalid."}
    assert (report["culprit"]["good"], report["culprit"]["bad"]) == ("1.5", "1.6")
    assert f"skipping 1.7: Python {PY}: Wheel 'toyslow'" in out


@pytest.mark.slow
def test_interrupted_search_resumes_from_the_cache(capsys: pytest.CaptureFixture[str], index: Path,
                                                  tmp_path: Path) -> None:
    from tests.processes import ctrl_c_reaches_it

    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "torchperf_core", *toy_args(index, cache)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=ctrl_c_reaches_it)
    assert proc.stdout is not None
    seen = []
    interrupted = False
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("step 1 of"):
            proc.send_signal(signal.SIGINT)  # as Ctrl-C: the endpoints are measured, step 1 starts
            interrupted = True
            break
    rest, err = proc.communicate(timeout=120)
    if not interrupted and any(x.startswith("report: ") for x in seen):  # ended before step 1
        decided(proc.returncode, report_of("".join(seen)), "".join(seen) + err)
    assert proc.returncode == 130, "".join(seen) + rest + err
    assert "measurements kept in " in err
    (state_file,) = (cache / "runs").glob("*.json")
    assert json.loads(state_file.read_text())["sessions"][0]["outcome"] == "slower"

    code, out, _ = run_cli(capsys, [*toy_args(index, cache), "--max-steps", "1"])
    decided(code, report_of(out), out)
    assert code == 4, out
    assert out.startswith("bisecting toyslow 1.0 -> 1.9")
    assert f"resuming from {state_file}" in out
    assert "reusing the 1.0 environment" in out and "installing 1.0" not in out and "installing 1.9" not in out
    assert "measuring the endpoints" not in out and "paused: the slowdown is between toyslow " in out

    code, out, _ = run_cli(capsys, toy_args(index, cache))
    report = decided(code, report_of(out), out)
    assert code == 0, out
    assert (report["culprit"]["good"], report["culprit"]["bad"]) == ("1.5", "1.6")
    assert [s["step"] for s in report["steps"]].count(0) == 1  # the endpoints were measured once


@pytest.mark.slow
def test_worker_times_an_op_spec_and_explains_with_torch(tmp_path: Path) -> None:
    """The torch side of a worker (op spec, fingerprint, kernels), run in this interpreter's torch:
    another release is a multi-GB download, so the two "sides" of the why are the same build here."""
    from torchperf_core.bisect.envs import Environment
    from torchperf_core.bisect.pool import Pool
    from torchperf_core.bisect.why import explain

    pytest.importorskip("torch")
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "torchperf_core").symlink_to(ROOT / "torchperf_core", target_is_directory=True)
    case = bisect.parse_case("mm --size 64 --dtype float32")
    pool = Pool(case, "torch", tmp_path / "logs")
    try:
        worker = pool.start(Environment("2.13.0", sys.executable, PY, tmp_path / "site", lib))
        assert worker.kernel == ("mm", "float32")
        got = pool.round(["2.13.0"], 3, blocks=2)
        samples = got.samples["2.13.0"]
        # 3 samples a block at least (the engine may retake samples a neighbour disturbed)
        assert len(samples) >= 6 and all(x > 0 for x in samples)
        assert set(got.disturbed) <= {"2.13.0"}  # the op's blocks are watched (Case.time's probe)
        answer = worker.ask({"cmd": "measure", "samples": 3})
        assert isinstance(answer["contended"], bool) and (answer["cause"] is None or answer["cause"])
        why = pool.why("2.13.0")
    finally:
        pool.close()
    assert list(why["kernels"]) == ["mm/float32"]
    explained = explain(why, why, case, ("mm", "float32"))
    assert explained["fields"] == [] and explained["kernels"] == []
    assert [k for k, _ in explained["kernels_unchanged"]] == ["mm/float32"]

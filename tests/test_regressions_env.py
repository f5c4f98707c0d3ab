"""Which results files a published step is judged from when runs set environment variables
(`run --isa` / `--threads` export TORCHPERF_ISA / TORCHPERF_THREADS as asv `env_nobuild` variables).

asv files such a variable in the graph path as `env-NAME-VALUE` (`env-NAME-null` for a run that did
not set it) and in the environment name as `-NAMEVALUE`. The graph paths and environment names here
come from asv's own functions (`Graph.get_file_path`, `environment.get_env_name`), not written by
hand, so a change in asv's spelling fails these tests rather than the users' regressions page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asv.environment import get_env_name
from asv.graph import Graph

from tests.compare_helpers import HEAD, copy_fixture, results_file
from torchperf_core.compare.regressions import _files_for, _graph_env
from torchperf_core.store import ISA_ENV, THREADS_ENV, ResultsStore

BENCH = "bench_toy.Work.time_work"
GRAPH = {"branch": "main", "machine": "cmpbox", "python": "3.11", "torch": "2.13.0"}


def _env_name(**variables: str) -> str:
    return get_env_name("virtualenv", "3.11", {"torch": "2.13.0"}, {("nobuild", k): v for k, v in variables.items()})


def _add_env(run: Path, **variables: str) -> str:
    """A copy of HEAD's torch 2.13.0 results as a run with these variables set (as asv names it)."""
    src = results_file(run, HEAD, "2.13.0")
    data = json.loads(src.read_text())
    data["env_name"] = _env_name(**variables)
    data["env_vars"] = dict(variables)
    (src.parent / f"{HEAD}-{data['env_name']}.json").write_text(json.dumps(data))
    return data["env_name"]


@pytest.fixture
def store(tmp_path: Path) -> ResultsStore:
    run = copy_fixture(tmp_path, replicated=False)
    for variables in ({ISA_ENV: "avx2"}, {ISA_ENV: "avx512"}, {THREADS_ENV: "1"}, {ISA_ENV: "avx2", THREADS_ENV: "1"}):
        _add_env(run, **variables)
    return ResultsStore(run / "results")


def _picked(store: ResultsStore, graph_params: dict[str, str | None]) -> list[str]:
    path = Graph.get_file_path({**GRAPH, **graph_params}, BENCH)
    head = next(f.commit for f in store.files("cmpbox") if f.commit.startswith(HEAD))
    return [f.env_name for f in _files_for(store, dict(_graph_env(path)), head)]


@pytest.mark.parametrize("graph_params,expected", [
    ({}, "virtualenv-py3.11-torch2.13.0"),  # published before any --isa / --threads run
    ({f"env-{ISA_ENV}": None, f"env-{THREADS_ENV}": None}, "virtualenv-py3.11-torch2.13.0"),
    ({f"env-{ISA_ENV}": "avx2", f"env-{THREADS_ENV}": None}, "virtualenv-py3.11-torch2.13.0-TORCHPERF_ISAavx2"),
    ({f"env-{ISA_ENV}": "avx512", f"env-{THREADS_ENV}": None}, "virtualenv-py3.11-torch2.13.0-TORCHPERF_ISAavx512"),
    ({f"env-{ISA_ENV}": None, f"env-{THREADS_ENV}": "1"}, "virtualenv-py3.11-torch2.13.0-TORCHPERF_THREADS1"),
    ({f"env-{ISA_ENV}": "avx2", f"env-{THREADS_ENV}": "1"},
     "virtualenv-py3.11-torch2.13.0-TORCHPERF_ISAavx2-TORCHPERF_THREADS1"),
    ({f"env-{ISA_ENV}": "avx2"}, "virtualenv-py3.11-torch2.13.0-TORCHPERF_ISAavx2"),  # graph lacks THREADS: unset
])
def test_the_graph_s_environment_variables_pick_exactly_its_results_file(store, graph_params, expected):
    assert _picked(store, graph_params) == [expected]


def test_each_variable_keeps_its_name_in_the_graph_env():
    """Two variables in one path are two keys, not one "env" key the second overwrites."""
    path = Graph.get_file_path({**GRAPH, f"env-{ISA_ENV}": "avx2", f"env-{THREADS_ENV}": None}, BENCH)
    assert path == ("graphs/branch-main/env-TORCHPERF_ISA-avx2/env-TORCHPERF_THREADS-null/machine-cmpbox/python-3.11/"
                    "torch-2.13.0/bench_toy.Work.time_work")
    assert _graph_env(path) == (("branch", "main"), ("env-TORCHPERF_ISA", "avx2"), ("env-TORCHPERF_THREADS", "null"),
                                ("machine", "cmpbox"), ("python", "3.11"), ("torch", "2.13.0"))


def test_a_value_is_matched_whole_not_as_a_prefix(tmp_path):
    """TORCHPERF_THREADS1 is not TORCHPERF_THREADS12's graph: the value ends at "-" or the name's end."""
    run = copy_fixture(tmp_path, replicated=False)
    _add_env(run, **{THREADS_ENV: "12"})
    store = ResultsStore(run / "results")
    assert _picked(store, {f"env-{THREADS_ENV}": "1"}) == []
    assert _picked(store, {f"env-{THREADS_ENV}": "12"}) == ["virtualenv-py3.11-torch2.13.0-TORCHPERF_THREADS12"]

"""Property-based tests of the readers and parsers that take outside input.

The results readers (compare's `asv_store` and the site's `site_data`) get real asv results files
with one node replaced by arbitrary JSON, and arbitrary JSON documents: they either load or raise a
TorchperfError naming the file, never another exception. The torch version parser turns any text
into a plain X.Y.Z release or refuses it naming the text.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
from packaging.version import Version

from torchperf_core.run import suite
from torchperf_core.store.asv_results import ResultsStore
from torchperf_core.errors import TorchperfError
from torchperf_core.site.data import load_site

FIXTURE = Path(__file__).parent / "fixtures" / "compare_run_v1"
MACHINE = "cmpbox"
SOURCE = sorted((FIXTURE / "results" / MACHINE).glob("*-*.json"))[0]
ORIGINAL = json.loads(SOURCE.read_text())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(node, list):
        for i, v in enumerate(node[:6]):
            out.extend(_paths(v, prefix + (i,)))
    return out


PATHS = [p for p in _paths(ORIGINAL) if p]


def _replace(doc: Any, path: tuple, value: Any) -> Any:
    doc = json.loads(json.dumps(doc))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def _check_readers(document: Any) -> None:
    """Write `document` as the results file of a copy of the fixture; read it both ways."""
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results"
        shutil.copytree(FIXTURE / "results", results)
        target = results / MACHINE / SOURCE.name
        text = json.dumps(document, allow_nan=True)
        target.write_text(text)
        try:
            store = ResultsStore(results)
            for machine in store.machines():
                for f in store.files(machine):
                    assert f.entries is not None
        except TorchperfError as exc:
            assert SOURCE.name in str(exc) or "machine.json" in str(exc), str(exc)
        try:
            load_site(results, Path(tmp) / "meta")
        except TorchperfError as exc:
            assert SOURCE.name in str(exc), str(exc)
        assert target.read_text() == text  # never rewritten


@given(st.sampled_from(PATHS), json_values)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_results_readers_load_or_name_the_file_after_any_one_node_change(path, value) -> None:
    _check_readers(_replace(ORIGINAL, path, value))


@given(json_values)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_results_readers_load_or_name_the_file_for_any_json(document) -> None:
    _check_readers(document)


@given(st.sampled_from([k for k in ORIGINAL if k != "version"]))
@settings(deadline=None)
def test_results_readers_name_the_file_when_a_key_is_missing(key) -> None:
    doc = dict(ORIGINAL)
    del doc[key]
    _check_readers(doc)


@given(st.text(max_size=24))
@settings(max_examples=400)
def test_torch_version_parser_gives_a_plain_release_or_names_the_text(text) -> None:
    try:
        version = suite.parse_torch_version(text)
    except TorchperfError as exc:
        assert repr(text) in str(exc)
    else:
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
        assert Version(version) == Version(text.strip())


@given(st.lists(st.integers(0, 999), min_size=2, max_size=3))
def test_torch_version_parser_accepts_every_release(parts) -> None:
    text = ".".join(map(str, parts))
    assert Version(suite.parse_torch_version(text)) == Version(text)

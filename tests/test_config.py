"""The one asv config reader (`store.read_config`): asv's parser, key checks asv does not make, typed
absolute paths, and one `meta/` for a project's config and the configs derived from it under .asv/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.site_build import make_project, site_fixture
from torchperf_core.cli import main
from torchperf_core.errors import TorchperfError
from torchperf_core.run import write_run_config
from torchperf_core.store import PROJECT_ROOT_KEY, read_config

REFERENCE = "https://asv.readthedocs.io/en/v0.6.6/asv.conf.json.html"
COMMENTED = """// a comment before the object, as asv's own template has
{
    "version": 1,
    "project": "toy",  // a trailing comment
    "repo": ".",
    "branches": ["main"],
    /* a block comment */
    "environment_type": "virtualenv",
    "matrix": {"req": {"pip+torch": ["2.13.0", "2.14.1"], "numpy": [""]}},
    "results_dir": "store/results",
    "html_dir": "site",
    "env_dir": ".asv/env"
}
"""


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "asv.conf.json"
    path.write_text(text)
    return path


def _misspelt(folder: Path) -> Path:
    return _write(folder, '{"version": 1, "repo": ".", "results_dri": "out"}')


def _message(path: Path | str) -> str:
    return (f"asv config {str(path)!r}: unknown key 'results_dri' (did you mean 'results_dir'?); asv would "
            f"ignore it silently (accepted: the keys of {REFERENCE})")


# ---------------------------------------------------------------------------------------------
# Parsing and checking


def test_comments_accepted_and_paths_typed_exactly(tmp_path: Path) -> None:
    conf = read_config(_write(tmp_path / "proj", COMMENTED))
    root = (tmp_path / "proj").resolve()
    assert conf.path == root / "asv.conf.json" and conf.project_root == root
    assert conf.results_dir == root / "store" / "results"
    assert conf.html_dir == root / "site"
    assert conf.env_dir == root / ".asv" / "env"
    assert conf.benchmark_dir == root / "benchmarks"  # asv's default
    assert conf.meta_dir == root / "meta"  # the project's, not next to store/results
    assert conf.repo == "." and conf.repo_dir == root
    assert conf.branches == ("main",) and conf.environment_type == "virtualenv" and conf.project == "toy"
    assert conf.torch_requirement == ["2.13.0", "2.14.1"]
    assert conf.raw["matrix"]["req"]["numpy"] == [""]


def test_relative_config_path_resolves_against_its_folder(tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path / "proj", COMMENTED)
    monkeypatch.chdir(tmp_path)
    conf = read_config("proj/asv.conf.json")
    assert conf.results_dir == (tmp_path / "proj" / "store" / "results").resolve()


def test_defaults_when_keys_are_absent(tmp_path: Path) -> None:
    conf = read_config(_write(tmp_path, "{}"))
    root = tmp_path.resolve()
    assert (conf.results_dir, conf.html_dir, conf.env_dir) == (root / "results", root / "html", root / "env")
    assert conf.branches == () and conf.environment_type is None and conf.torch_requirement is None


def test_misspelt_key_is_named_with_the_closest_known_key(tmp_path: Path) -> None:
    path = _misspelt(tmp_path)
    with pytest.raises(TorchperfError) as info:
        read_config(path)
    assert str(info.value) == _message(path)


def test_every_unknown_key_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"repo": ".", "brnches": ["main"], "zzzz": 1}')
    with pytest.raises(TorchperfError) as info:
        read_config(path)
    assert str(info.value) == (
        f"asv config {str(path)!r}: unknown keys 'brnches' (did you mean 'branches'?), 'zzzz' (no asv key is "
        f"close); asv would ignore it silently (accepted: the keys of {REFERENCE})"
    )


def test_the_project_config_passes() -> None:
    root = Path(__file__).resolve().parents[1]
    assert read_config(root / "asv.conf.json").torch_requirement == ["2.12.0", "2.13.0", "2.14.1"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"repo": ".",}x', "is not valid JSON (with // comments): <string>:1 Unexpected \"x\" at column 15"),
        ("", "is not valid JSON (with // comments): Empty strings are not legal JSON5"),
        ("[1, 2]", 'is not a JSON object; expected {"version": 1, ...}'),
        ('{"branches": "main"}', """: 'branches' must be a list of branch names, e.g. ["main"]; got 'main'"""),
        ('{"results_dir": 3}', ": 'results_dir' must be a non-empty string; got 3"),
        ('{"matrix": []}', """: 'matrix' must be an object, e.g. {"req": {"pip+torch": ["2.13.0"]}}; got []"""),
    ],
)
def test_malformed_config_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(TorchperfError) as info:
        read_config(path)
    assert str(info.value) == f"asv config {str(path)!r}" + (" " if expected[0] != ":" else "") + expected


def test_missing_config_is_one_line(tmp_path: Path) -> None:
    for path, what in ((tmp_path / "nope.json", "not found"), (tmp_path, "a folder, not a file")):
        with pytest.raises(TorchperfError) as info:
            read_config(path)
        assert str(info.value) == (f"no asv config {str(path)!r} ({what}); run torchperf from the project root "
                                   "or pass --config PATH/asv.conf.json")


# ---------------------------------------------------------------------------------------------
# Through the CLI: the same line, exit 2, for every command that reads the config


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "b8a3a8cb", "b151c94f", "--config", "{config}"],
        ["compare", "--torch", "2.13.0", "2.14.1", "--config", "{config}"],
        ["publish", "--config", "{config}"],
        ["publish", "--config", "{config}", "--no-asv"],
        ["regressions", "--config", "{config}"],
    ],
)
def test_misspelt_key_through_the_cli(tmp_path: Path, capsys, argv: list[str]) -> None:
    path = _misspelt(tmp_path)
    assert main([a.replace("{config}", str(path)) for a in argv]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err == f"torchperf: error: {_message(path)}\n"


def test_compare_reads_the_default_config_of_the_current_folder(tmp_path: Path, monkeypatch, capsys) -> None:
    """Without --config, asv.conf.json of the current folder is read, and checked, even with
    --results-dir (it still gives the repository)."""
    _misspelt(tmp_path)
    monkeypatch.chdir(tmp_path)
    results = Path(__file__).resolve().parent / "fixtures" / "compare_run_v1" / "results"
    assert main(["compare", "--torch", "2.13.0", "2.14.1", "--results-dir", str(results)]) == 2
    assert capsys.readouterr().err == f"torchperf: error: {_message('asv.conf.json')}\n"


# ---------------------------------------------------------------------------------------------
# Derived configs (.asv/*.conf.json, what `torchperf run` and the CI scripts hand to asv)


def test_meta_dir_identical_for_project_and_derived_config(tmp_path: Path) -> None:
    config = _write(tmp_path / "proj", COMMENTED)
    root = config.parent.resolve()
    derived = write_run_config(root, ["2.13.0"], path=root / ".asv" / "ci-nightly.conf.json")
    again = write_run_config(root, None, path=root / ".asv" / "again.conf.json", config=derived)  # derived twice
    project, copy, copy2 = read_config(config), read_config(derived), read_config(again)
    assert project.meta_dir == copy.meta_dir == copy2.meta_dir == root / "meta"
    assert project.project_root == copy.project_root == copy2.project_root == root
    for key in ("results_dir", "html_dir", "env_dir", "benchmark_dir", "repo_dir"):
        assert getattr(copy, key) == getattr(project, key) == getattr(copy2, key), key
    assert json.loads(derived.read_text())[PROJECT_ROOT_KEY] == str(root)
    assert copy.torch_requirement == ["2.13.0"] and copy2.torch_requirement == ["2.13.0"]


def test_derived_config_is_read_by_asv_itself(tmp_path: Path) -> None:
    """asv loads the derived config (it ignores torchperf's key) and finds the same folders."""
    from asv.config import Config

    root = _write(tmp_path / "proj", COMMENTED).parent.resolve()
    derived = write_run_config(root, ["2.14.1"], path=root / ".asv" / "run.conf.json")
    conf = Config.load(str(derived))
    assert (conf.results_dir, conf.html_dir, conf.repo) == (str(root / "store/results"), str(root / "site"), str(root))
    assert conf.matrix["req"]["pip+torch"] == ["2.14.1"]


def test_narrowing_a_flat_matrix(tmp_path: Path) -> None:
    """asv's older layout (the matrix is the requirements): narrowed in place, torch under pip."""
    root = _write(tmp_path, '{"repo": ".", "matrix": {"torch": ["2.12.0", "2.13.0"], "numpy": [""]}}').parent
    derived = read_config(write_run_config(root, ["2.13.0"], path=root / ".asv" / "x.json"))
    assert dict(derived.matrix) == {"numpy": [""], "pip+torch": ["2.13.0"]}


@pytest.fixture(scope="module")
def nightly_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The nightly job's layout: sidecars in the project's meta/, results in a folder whose parent is
    not the project (so "meta/ next to the results" would be wrong too), and the derived config
    under .asv/ that ci_nightly.sh hands to `torchperf publish`."""
    root = tmp_path_factory.mktemp("nightly") / "project"
    config = make_project(root, site_fixture())
    (root / "data").mkdir()
    shutil.move(root / "results", root / "data" / "results")
    conf = json.loads(config.read_text())
    config.write_text(json.dumps({**conf, "results_dir": "data/results"}))
    assert sorted((root / "meta").glob("*/*-*.json")), "the fixture's sidecars are in meta/"
    derived = write_run_config(root, None, path=root / ".asv" / "ci-nightly.conf.json")
    return root, derived


def test_publish_with_the_derived_config_finds_the_sidecars(nightly_project) -> None:
    from torchperf_core.site import publish_site

    root, derived = nightly_project
    result = publish_site(derived, run_asv=False)
    assert result.html_dir == root / "html"
    page = (root / "html" / "torchperf" / "environment.html").read_text()
    assert "no sidecar next to these results files" not in page
    assert "2.14.1+cu130" in page  # the torch build, recorded only in the sidecar's fingerprint


def test_compare_with_the_derived_config_finds_the_sidecars(nightly_project, capsys) -> None:
    root, derived = nightly_project
    capsys.readouterr()
    code = main(["compare", "--torch", "2.13.0", "2.14.1", "--config", str(derived)])
    out = capsys.readouterr().out
    assert code in (0, 1) and "fingerprint unavailable" not in out
    assert "torch.version: 2.13.0+cpu → 2.14.1+cu130" in out


def test_threads_become_a_no_build_matrix_variable(tmp_path: Path) -> None:
    """`run --threads 1`: asv files those results under their own environment name, reusing the built
    environment (env_nobuild), for a typed matrix and for asv's untyped one alike."""
    typed = read_config(Path(__file__).resolve().parents[1] / "asv.conf.json").derived(["2.13.0"], threads=1)
    assert typed["matrix"]["env_nobuild"] == {"TORCHPERF_THREADS": ["1"]}
    assert typed["matrix"]["req"]["pip+torch"] == ["2.13.0"]
    untyped = tmp_path / "asv.conf.json"
    untyped.write_text(json.dumps({"version": 1, "repo": ".", "matrix": {"pip+torch": ["2.13.0"], "numpy": [""]}}))
    conf = read_config(untyped).derived(None, threads=2)
    assert conf["matrix"] == {"req": {"pip+torch": ["2.13.0"], "numpy": [""]},
                              "env_nobuild": {"TORCHPERF_THREADS": ["2"]}}
    assert "env_nobuild" not in read_config(untyped).derived(None).get("matrix", {})

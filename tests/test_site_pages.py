"""torchperf's pages as templates, and a published site that names no folder of the machine that built it.

The pages are Jinja2 templates rendered with autoescaping and with the publisher's redactor applied
to every printed value; these tests hold the environment to that (a `|safe` or an unredacted value in
any template shows up here). The publish test uses the real `asv publish` over results shaped as asv
0.6 writes them for an `existing` environment (`asv run --python=same`): the interpreter's absolute
path in `python`, in `params` and, mangled, in the environment and file names.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import sys
import tomllib
from pathlib import Path, PurePosixPath

from tests.site_build import make_project, site_fixture
from torchperf_core.site import pages as site_pages
from torchperf_core.site.publish import interpreter_labels, make_literal_redactor, publish_site
from torchperf_core.site.regressions import Regression

REPO = Path(__file__).resolve().parents[1]
EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _regression(text: str) -> Regression:
    return Regression(f"bench.{text}", (("size", repr(text)),), {"machine": text}, commit_before="a" * 40,
                      commit_after="b" * 40, before=1.0, after=2.0, unit="seconds", asv_hash=f'x"{text}')


def test_a_script_in_any_value_renders_escaped_through_the_template() -> None:
    ctx = site_pages.PageContext(project=EVIL, generated_note=EVIL)
    page = site_pages.render_regressions(ctx, [_regression(EVIL)])
    assert "<script" not in page  # this page has no machine selector, so no script of its own either
    # title, "Project:", the note, benchmark, parameters, environment, link: seven places, all escaped
    assert page.count(ESCAPED) == 7
    assert f'href="../index.html#x&#34;{ESCAPED}">asv graph</a>' in page  # the attribute stays closed


def test_every_printed_value_passes_the_redactor() -> None:
    ctx = site_pages.PageContext(project="p-SECRET", generated_note="SECRET", redact=lambda s: s.replace("SECRET", "[r]"))
    page = site_pages.render_regressions(ctx, [_regression("SECRET")])
    assert "SECRET" not in page
    assert page.count("[r]") == 7


def test_every_page_renders_without_data_from_its_packaged_template() -> None:
    ctx = site_pages.PageContext("p")
    pages = {
        "versions.html": site_pages.render_versions(ctx, [], [], 1.1),
        "efficiency.html": site_pages.render_efficiency(ctx, [], []),
        "environment.html": site_pages.render_environment(ctx, [], []),
        "regressions.html": site_pages.render_regressions(ctx, []),
    }
    for name, label in site_pages.PAGES:
        assert f"<h1>{label}</h1>" in pages[name]
        assert f'<a href="{name}" class="current">' in pages[name]
        assert pages[name].startswith("<!doctype html>") and pages[name].endswith("</body></html>\n")
    assert '<p class="note">No results yet.</p>' in pages["versions.html"]
    assert '<p id="no-regressions">No regressions detected.</p>' in pages["regressions.html"]
    # a wheel carries what pyproject's package-data globs name: every template file must match one
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["torchperf_core"]
    package = REPO / "torchperf_core"
    for path in site_pages.TEMPLATES.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = PurePosixPath(path.relative_to(package).as_posix())
            assert any(rel.match(g) for g in globs), f"{rel} is not package data"


# ---------------------------------------------------------------------------------------------
# No local path in the published site


def test_interpreter_labels_hide_the_folders_and_never_merge_two(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    in_project, in_home = str(root / ".venv/bin/python"), str(Path.home() / ".pyenv/versions/3.11.7/bin/python")
    others = ["/opt/a/bin/python", "/opt/b/bin/python", "/usr/bin/python3"]
    labels = interpreter_labels([in_project, in_home, *others], root)
    digest = {p: hashlib.sha256(p.encode()).hexdigest()[:8] for p in ("/opt/a/bin/python", "/opt/b/bin/python")}
    assert labels == {
        in_project: "…/.venv/bin/python",
        in_home: "…/.pyenv/versions/3.11.7/bin/python",
        "/opt/a/bin/python": f"…/python-{digest['/opt/a/bin/python']}",
        "/opt/b/bin/python": f"…/python-{digest['/opt/b/bin/python']}",
        "/usr/bin/python3": "…/python3",
    }
    redact = make_literal_redactor(root, [], [in_project])
    mangled = in_project.replace("/", "_")
    got = redact(f"existing-py{mangled} {in_project} {root}/x")
    assert got == "existing-py…_.venv_bin_python …/.venv/bin/python …/x"


def _as_existing_environment(root: Path, results_file: Path, interpreter: str) -> str:
    """Turn one results file (and its sidecar) into what `asv run --python=INTERPRETER` writes."""
    data = json.loads(results_file.read_text())
    env_name = "existing-py" + interpreter.replace("/", "_")
    data["env_name"] = env_name
    data["python"] = interpreter
    data["params"] = {k: v for k, v in data["params"].items() if k not in data["requirements"]}
    data["params"]["python"] = interpreter
    data["requirements"] = {}
    new_name = f"{data['commit_hash'][:8]}-{env_name}.json"
    results_file.unlink()
    (results_file.parent / new_name).write_text(json.dumps(data))
    sidecar = root / "meta" / results_file.parent.name / results_file.name
    if sidecar.exists():
        side = json.loads(sidecar.read_text())
        side.update(results_file=new_name, env_name=env_name)
        sidecar.unlink()
        (sidecar.parent / new_name).write_text(json.dumps(side))
    return env_name


def test_published_site_names_no_folder_of_the_building_machine(tmp_path: Path) -> None:
    root = tmp_path / "project"
    config = make_project(root, site_fixture())
    host = socket.gethostname()
    interpreters = {  # interpreter -> the label asv's selectors and our pages show instead
        str(root / ".venv" / "bin" / "python"): "…/.venv/bin/python",
        str(Path.home() / ".pyenv" / "versions" / "3.11.7" / "bin" / "python"): "…/.pyenv/versions/3.11.7/bin/python",
        f"/opt/{host}-build/bin/python": "…/python",
    }
    # the latest commit's two files (what the environment page shows), then one of the older commit
    files = sorted((root / "results" / "fixture-box").glob("*-*.json"),
                   key=lambda f: (-json.loads(f.read_text())["date"], f.name))[: len(interpreters)]
    env_names = [_as_existing_environment(root, f, i) for f, i in zip(files, interpreters)]
    publish_site(config)

    html = root / "html"
    forbidden = [str(root), str(root.resolve()), str(Path.home()) + "/", str(REPO), sys.executable, *interpreters,
                 *(e.split("existing-py", 1)[1] for e in env_names)]
    checked = 0
    for path in sorted(html.rglob("*")):
        rel = str(path.relative_to(html))
        assert not [w for w in forbidden if w in rel], rel
        if not path.is_file() or path.suffix not in (".html", ".json", ".xml", ".svg"):
            continue
        text = path.read_text(encoding="utf-8")
        checked += 1
        assert not [w for w in forbidden if w in text], rel
        if len(host) > 2 and host != "fixture-box":
            assert not re.search(rf"(?<![\w.-]){re.escape(host)}(?![\w-])", text), f"host name in {rel}"
    assert checked > 20  # asv's index, graphs and regressions, and our pages were all read

    # asv's selectors show the labels, and each still leads to its graphs (asv.js graph_to_path)
    index = json.loads((html / "index.json").read_text())
    assert sorted(index["params"]["python"]) == sorted(["3.11", *interpreters.values()])
    folders = {p.name for p in html.joinpath("graphs").rglob("python-*") if p.is_dir()}
    assert folders == {"python-3.11", *("python-" + label.replace("/", "_") for label in interpreters.values())}
    page = (html / "torchperf" / "environment.html").read_text()
    shown = set(re.findall(r'<small class="mono">(existing-py[^<]*)</small>', page))
    assert shown == {"existing-py…_.venv_bin_python", "existing-py…_.pyenv_versions_3.11.7_bin_python"}

"""`torchperf publish`: asv's static site plus torchperf's pages, in one folder, linked both ways.

Order matters: `asv publish` empties `html_dir` and rewrites it, so it runs first; then the pages
under `html/torchperf/`, their figures, and two edits to asv's `index.html`:
- asv's index loads jQuery, Flot and Bootstrap from CDNs. The published site must work with no
  network (from `file://`, an intranet host, a CI artifact), so those tags are pointed at copies
  bundled with torchperf (`vendor/`, the exact releases asv names; licences in `vendor/LICENSES.txt`).
- a link to torchperf's pages in asv's navigation bar.
Both edits are idempotent: publishing twice gives the same files.

The site must not carry facts about the machine that built it beyond its configured machine name:
strings from sidecars are redacted (absolute paths, the home folder, the user and host names) before
they reach a page. asv publishes from a copy of the results with the project root, the home folder
and every interpreter asv recorded by path (an `existing` environment's) replaced by labels, so its
selectors, environment names and graph folders carry none of them and still fit together; a last
pass removes those strings from every text file asv wrote too.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from torchperf_core.errors import TorchperfError
from torchperf_core.store import AsvConfig, ResultsStore, read_config
from torchperf_core.site.data import load_site, version_key
from torchperf_core.site.environments import environment_diffs
from torchperf_core.site.versions import DEFAULT_FACTOR, speed_lines, version_rows
from torchperf_core.site.regressions import graph_link_for, judged_rows

PAGES_DIR = "torchperf"
VENDOR_DIR = "vendor"
_ASSETS = Path(__file__).parent / "assets" / "asv_vendor"

# asv 0.6.x index.html CDN file -> bundled copy (relative to html/).
_CDN_TO_VENDOR = {
    "jquery-3.3.1.min.js": "vendor/jquery-3.3.1.min.js",
    "jquery.flot.min.js": "vendor/jquery.flot.js",
    "jquery.flot.time.min.js": "vendor/jquery.flot.time.js",
    "jquery.flot.selection.min.js": "vendor/jquery.flot.selection.js",
    "jquery.flot.categories.min.js": "vendor/jquery.flot.categories.js",
    "jquery.flot.orderBars.js": "vendor/jquery.flot.orderBars.js",
    "stupidtable.min.js": "vendor/stupidtable.min.js",
    "md5.min.js": "vendor/md5.min.js",
    "bootstrap.min.js": "vendor/bootstrap.min.js",
    "bootstrap.min.css": "vendor/css/bootstrap.min.css",
}
_CDN_TAG = re.compile(r'<(script|link)\b[^>]*?\b(?:src|href)="(https?://[^"]+)"[^>]*>', re.I)
_NAV_MARK = 'id="nav-li-torchperf"'
_NAV_LINK = (
    '<li id="nav-li-torchperf"><a href="torchperf/versions.html">Across PyTorch versions</a></li>\n'
    "        "
)
_TEXT_SUFFIXES = {".html", ".json", ".xml", ".svg", ".js", ".css", ".txt"}


@dataclass(frozen=True)
class PublishResult:
    html_dir: Path
    pages: tuple[Path, ...]
    figures: tuple[Path, ...]
    unbundled_urls: tuple[str, ...] = field(default=())  # CDN URLs in asv's index we had no copy for
    problems: tuple[str, ...] = field(default=())  # files left out (named, untouched): sidecars, calibration, doctor/noise


def run_asv_publish(paths: AsvConfig, redact: Callable[[str], str] | None = None) -> None:
    """`asv publish` in a subprocess, over a copy of the results with `redact` applied to every string.

    asv derives the environment names, graph folders, selectors and regressions it publishes from
    the results, and an `existing` environment's results name its interpreter by absolute path
    (`/home/me/proj/.venv/bin/python`; in the environment name as `_home_me_proj_.venv_bin_python`).
    Scrubbing asv's output afterwards cannot reach the folder names, and would leave the selectors
    pointing at graphs that do not exist; redacting asv's input keeps its site whole and consistent.
    """
    with tempfile.TemporaryDirectory(prefix="torchperf-publish-") as tmp:
        results = Path(tmp) / "results"
        copy_results_redacted(paths.results_dir, results, redact or (lambda text: text))
        config = Path(tmp) / "asv.conf.json"
        config.write_text(json.dumps(paths.derived(overrides={"results_dir": str(results)}), indent=2))
        # asv imports a "."-prefixed plugin from the config's folder, which is the project root no more
        pythonpath = [str(paths.project_root), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(pythonpath)}
        cmd = [sys.executable, "-m", "asv", "publish", "--config", str(config)]
        proc = subprocess.run(cmd, cwd=paths.project_root, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
        raise TorchperfError(f"asv publish failed (exit {proc.returncode}): {tail}")


def make_redactor(project_root: Path, machines: Sequence[str], interpreters: Iterable[str] = ()) -> Callable[[str], str]:
    """A function removing this machine's paths, user and host names from text bound for the site.

    First the literal redactions asv's files get too (so both name an interpreter alike), then any
    other absolute path. The configured machine names are what the site is about, so a host name
    equal to one of them stays.
    """
    literal = make_literal_redactor(project_root, machines, interpreters)
    host = socket.gethostname()
    names = set()
    if host and host not in machines:
        names.add(host)
    try:
        user = getpass.getuser()
    except Exception:  # no user entry (some containers)
        user = ""
    if user and user not in machines and user not in ("root",):
        names.add(user)
    path_re = re.compile(r"(?<![\w.~…-])/(?:[^\s/\"'<>|:;,]+/)+([^\s/\"'<>|:;,]*)")
    name_res = [re.compile(rf"(?<![\w-]){re.escape(n)}(?![\w-])") for n in sorted(names)]

    def redact(text: str) -> str:
        text = literal(text)
        text = path_re.sub(lambda m: "…/" + m.group(1), text)
        for pattern in name_res:
            text = pattern.sub("…", text)
        return text

    return redact


def bundle_asv_assets(html_dir: Path) -> tuple[str, ...]:
    """Point asv's CDN tags at bundled copies; return URLs left as they were (no copy known)."""
    index = html_dir / "index.html"
    if not index.is_file():
        return ()
    shutil.copytree(_ASSETS, html_dir / VENDOR_DIR, dirs_exist_ok=True)
    text = index.read_text(encoding="utf-8")
    left: list[str] = []

    def replace(match: re.Match[str]) -> str:
        kind, url = match.group(1).lower(), match.group(2)
        local = _CDN_TO_VENDOR.get(url.rsplit("/", 1)[-1])
        if local is None:
            left.append(url)
            return match.group(0)
        if kind == "link":
            return f'<link rel="stylesheet" href="{local}">'
        return f'<script src="{local}" onerror="js_load_failure()">'

    new = _CDN_TAG.sub(replace, text)
    if _NAV_MARK not in new:
        anchor = '<li id="nav-li-graphdisplay">'
        if anchor in new:
            new = new.replace(anchor, _NAV_LINK + anchor, 1)
        else:  # an asv without that item: put the link right after <body>
            new = re.sub(r"(<body[^>]*>)", r'\1<p><a href="torchperf/versions.html">Across PyTorch versions</a></p>', new, count=1)
    if new != text:
        index.write_text(new, encoding="utf-8")
    return tuple(left)


def scrub_tree(html_dir: Path, redact: Callable[[str], str], *, skip: Path | None = None) -> None:
    """Apply the literal redactions to every text file asv wrote (our pages are redacted already)."""
    for path in html_dir.rglob("*"):
        if not path.is_file() or path.suffix not in _TEXT_SUFFIXES:
            continue
        if skip is not None and skip in path.parents:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = redact(text) if path.suffix in (".json", ".xml", ".html") else text
        if new != text:
            path.write_text(new, encoding="utf-8")


def publish_site(
    config: str | Path = "asv.conf.json",
    *,
    commit: str | None = None,
    factor: float = DEFAULT_FACTOR,
    run_asv: bool = True,
    meta_dir: str | Path | None = None,
) -> PublishResult:
    """Run `asv publish` (unless `run_asv` is False) and add torchperf's pages to its html folder."""
    from torchperf_core.site import plots
    from torchperf_core.site import pages as site_pages
    from torchperf_core.site.blas import load_blas_tables
    from torchperf_core.site.machines import render_machines_page
    from torchperf_core.machine import load_condition

    paths = read_config(config)
    from torchperf_core.compare import Source, parse_factor

    factor = parse_factor(factor)
    if meta_dir is not None and not Path(meta_dir).is_dir():
        raise TorchperfError(f"sidecar folder {str(meta_dir)!r} is not an existing folder; give the meta/ folder")
    if not (paths.results_dir / "benchmarks.json").is_file():
        raise TorchperfError(
            f"no asv results in {str(paths.results_dir)!r} (benchmarks.json is missing); run `torchperf run` first"
        )
    interpreters = results_interpreters(paths.results_dir)
    meta = Path(meta_dir) if meta_dir is not None else paths.meta_dir
    data = load_site(paths.results_dir, meta)
    source = Source(paths.results_dir, meta_dir=meta)  # what `torchperf compare` reads: one answer on both
    chosen = data.resolve_commit(commit, paths.repo_dir) if commit else None  # the store's resolver
    machines = data.machines
    if run_asv:
        run_asv_publish(paths, make_literal_redactor(paths.project_root, machines, interpreters))
    paths.html_dir.mkdir(parents=True, exist_ok=True)
    redact = make_redactor(paths.project_root, machines, interpreters)
    ctx = site_pages.PageContext(project=paths.project, redact=redact)

    out = paths.html_dir / PAGES_DIR
    figures_dir = out / "figures"
    if figures_dir.exists():
        shutil.rmtree(figures_dir)
    figures: list[Path] = []

    def figure(fig: object, name: str) -> str:
        figures.extend(plots.save(fig, figures_dir / name, ("svg",)))  # type: ignore[arg-type]
        return f"{name}.svg"

    versions_sections, eff_sections, env_sections = [], [], []
    for machine in machines:
        commits = [("latest commit", data.latest_commit(machine))]
        if chosen and chosen != commits[0][1] and chosen in data.commits(machine):
            commits.append(("chosen commit", chosen))
        for label, at in commits:
            if at is None:
                continue
            rows = version_rows(data, machine, at, factor)
            figs, scaling, links = {}, {}, {}
            at_points = data.points_at(machine, at)
            for bench in sorted({r.benchmark for r in rows}):
                bench_rows = [r for r in rows if r.benchmark == bench]
                title = redact(f"{bench} on {machine} @ {at[:8]}")
                figs[bench] = figure(plots.versions_figure(bench_rows, title), plots.figure_name("versions", machine, at[:8], bench))
                pts = [p for p in at_points if p.benchmark == bench]
                size = plots.size_param(pts)
                if size:
                    scaling[bench] = figure(plots.scaling_figure(pts, size, title), plots.figure_name("scaling", machine, at[:8], bench))
                links[bench] = graph_link_for(bench, machine)
            versions = data.versions(machine, at)
            speed = speed_lines(source, machine, at, versions, factor)
            versions_sections.append(site_pages.VersionsSection(machine, at, label, rows, figs, scaling, links, speed))
            rooflines = {}
            for version in versions:
                pts = [p for p in at_points if p.torch_version == version]
                fig = plots.roofline_figure(pts, data.calibrations.get(machine), redact(f"roofline: {machine}, torch {version}"))
                rooflines[version] = figure(fig, plots.figure_name("roofline", machine, at[:8], version))
            eff_sections.append(
                site_pages.EfficiencySection(machine, at, data.calibrations.get(machine), at_points, rooflines, label)
            )
            envs = sorted((e for e in data.environments if e.machine == machine and e.commit == at),
                          key=lambda e: version_key(e.torch_version))
            env_sections.append(site_pages.EnvironmentSection(machine, at, envs, environment_diffs(data, machine, at), label))

    conditions = {m: load_condition(meta, m) for m in machines}
    blas_tables, blas_problems = load_blas_tables(meta, machines)
    # `torchperf regressions`' steps and verdicts, from the same results and sidecars
    regressions, regression_problems = judged_rows(paths.html_dir, source, factor)
    pages = {
        "versions.html": site_pages.render_versions(ctx, versions_sections, machines, factor),
        "efficiency.html": site_pages.render_efficiency(ctx, eff_sections, machines),
        "environment.html": site_pages.render_environment(
            ctx, env_sections, machines, conditions),
        "regressions.html": site_pages.render_regressions(ctx, regressions),
        "machines.html": render_machines_page(ctx, paths.results_dir, meta, machines, conditions, data.calibrations,
                                              blas=blas_tables),
    }
    written = []
    for name, text in pages.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    left = bundle_asv_assets(paths.html_dir)
    scrub_tree(paths.html_dir, make_literal_redactor(paths.project_root, machines, interpreters), skip=out)
    problems = (data.problems + tuple(p for c in conditions.values() for p in c.problems) + blas_problems
                + tuple(redact(p) for p in regression_problems))
    return PublishResult(paths.html_dir, tuple(written), tuple(figures), left, problems)


def make_literal_redactor(project_root: Path, machines: Sequence[str],
                          interpreters: Iterable[str] = ()) -> Callable[[str], str]:
    """Only exact strings: each interpreter path and its asv-mangled form (in environment names and
    graph folders) by its label, then the project root and the home folder by "…". Safe inside
    asv's JSON and code, where a pattern could cut a value that is not a path."""
    pairs = {literal: "…" for literal in {str(project_root), str(project_root.resolve()), str(Path.home())} - {"", "/"}}
    for path, label in interpreter_labels(interpreters, project_root).items():
        pairs[path] = label
        pairs[_asv_mangled(path)] = _asv_mangled(label)
    ordered = sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True)

    def redact(text: str) -> str:
        for literal, replacement in ordered:
            text = text.replace(literal, replacement)
        return text

    return redact


def results_interpreters(results_dir: Path) -> tuple[str, ...]:
    """The interpreters asv recorded by absolute path: the `python` of an `existing` environment
    (`--python=same`, `-E existing:PATH`) is its executable; other environments record "3.11"."""
    store = ResultsStore(results_dir)
    found = {f.python for m in store.machines() for f in store.files(m) if f.python and os.path.isabs(f.python)}
    return tuple(sorted(found))


def interpreter_labels(interpreters: Iterable[str], project_root: Path) -> dict[str, str]:
    """Each interpreter path -> what the site says instead: its path inside the project or the home
    folder behind "…" ("…/.venv/bin/python"), else "…/" and its file name. Two interpreters whose
    labels would read the same get a short digest of their path each, so asv never merges their
    graphs into one."""
    anchors = sorted({str(project_root), str(project_root.resolve()), str(Path.home())} - {"", "/"}, key=len, reverse=True)

    def label(path: str) -> str:
        inside = next((path[len(a):] for a in anchors if path.startswith(a + os.sep)), None)
        return "…" + inside.replace(os.sep, "/") if inside else "…/" + os.path.basename(path)

    labels = {path: label(path) for path in set(interpreters)}
    counts = Counter(labels.values())
    return {path: f"{text}-{hashlib.sha256(path.encode()).hexdigest()[:8]}" if counts[text] > 1 else text
            for path, text in labels.items()}


def _asv_mangled(path: str) -> str:
    """How asv writes a path into an environment name and a graph folder (`ExistingEnvironment.name`)."""
    from asv.util import sanitize_filename

    return sanitize_filename(path.replace(os.sep, "_"))


def copy_results_redacted(results_dir: Path, dest: Path, redact: Callable[[str], str]) -> None:
    """The results folder's JSON files, file names and every string in them (keys included) redacted.

    A file that is not JSON is copied as it is: asv then reports it, exactly as it would have."""
    for path in sorted(results_dir.rglob("*.json")):
        if not path.is_file():
            continue
        target = dest / Path(*(redact(part) for part in path.relative_to(results_dir).parts))
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            shutil.copyfile(path, target)
            continue
        target.write_text(json.dumps(_redact_strings(data, redact)), encoding="utf-8")


def _redact_strings(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_strings(v, redact) for v in value]
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: _redact_strings(v, redact) for k, v in value.items()}
    return value

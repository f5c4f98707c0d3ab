"""Damaged files on disk: every reader names the file and what is wrong, goes on without it or stops
cleanly (exit 2, one line), and never rewrites or deletes it.

The project is a real published one (asv results of the suite's run, fingerprint sidecars, a
calibration, a doctor report, asv's site); each case damages one file of a copy and runs the real
commands on it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.site_build import make_project, site_fixture
from torchperf_core.cli import main

MACHINE = "fixture-box"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corrupt") / "project"
    make_project(root, site_fixture())
    doctor = {"format_version": 1, "taken_at": "2026-11-24T20:00:00+00:00", "worst": "OK",
              "checks": [{"name": "governor", "status": "OK", "detail": "performance", "advice": ""}]}
    (root / "meta" / MACHINE / "doctor.json").write_text(json.dumps(doctor))
    proc = subprocess.run([sys.executable, "-m", "torchperf_core", "publish"], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def _results_file(root: Path) -> Path:
    """A results file of the latest commit: the one every command reads by default."""
    files = sorted((root / "results" / MACHINE).glob("*-*.json"))
    return max(files, key=lambda f: (json.loads(f.read_text())["date"], f.name))


TARGETS = {
    "results": lambda root: _results_file(root).relative_to(root),
    "sidecar": lambda root: Path("meta", MACHINE, _results_file(root).name),
    "calibration": lambda root: Path("meta", MACHINE, "calibration.json"),
    "benchmarks": lambda root: Path("results", "benchmarks.json"),
    "machine": lambda root: Path("results", MACHINE, "machine.json"),
    "doctor": lambda root: Path("meta", MACHINE, "doctor.json"),
    "regressions": lambda root: Path("html", "regressions.json"),
}


def _future(data: bytes) -> bytes:
    obj = json.loads(data)
    obj["format_version" if "format_version" in obj else "version"] = 99
    return json.dumps(obj).encode()


DAMAGE = {
    "truncated": lambda b: b[: len(b) // 2],
    "binary": lambda b: b"\x00\xff\xfe garbage",
    "empty": lambda b: b"",
    "wrong-type": lambda b: b"[1, 2]",
    "newer-format": _future,
}

# Which commands read which file (a command that never opens a file is not run for it).
COMMANDS = {
    "compare": ["compare", "--torch", "2.13.0", "2.14.1"],
    "publish": ["publish", "--no-asv"],
    "plot": ["plot", "--format", "svg", "--out", "plots"],
    "regressions": ["regressions"],
}
READERS = {
    "results": ("compare", "publish", "plot"),
    "sidecar": ("compare", "publish", "plot"),
    "calibration": ("publish", "plot"),
    "benchmarks": ("compare", "publish", "plot"),
    "machine": ("compare",),
    "doctor": ("compare", "publish"),
    "regressions": ("regressions",),
}
# A newer calibration, benchmarks.json, machine.json or regressions.json is read as far as it is understood (their readers are
# tolerant by design); every other file of a newer format is refused by name.
TOLERATED_NEWER = {"calibration", "benchmarks", "machine", "regressions"}  # the last has no version key

# The small optional files get fewer damages: each case re-runs publish and plot (seconds each).
CASES = [(t, d) for t in TARGETS for d in DAMAGE
         if not (t in ("calibration", "machine", "doctor") and d in ("binary", "empty"))]


@pytest.mark.parametrize("target,damage", CASES)
def test_damaged_file_is_named_and_left_untouched(published, tmp_path, monkeypatch, capsys, target, damage) -> None:
    root = tmp_path / "project"
    shutil.copytree(published, root, symlinks=True)
    rel = TARGETS[target](root)
    path = root / rel
    damaged = DAMAGE[damage](path.read_bytes())
    path.write_bytes(damaged)
    monkeypatch.chdir(root)
    for command in READERS[target]:
        capsys.readouterr()
        code = main(COMMANDS[command])
        out = capsys.readouterr()
        assert path.read_bytes() == damaged, f"{command} rewrote {rel}"
        assert code in (0, 1, 2), (command, code)
        if code == 2:  # stopped cleanly: one line naming the file
            assert out.err.startswith("torchperf: error: ") and out.err.count("\n") == 1, (command, out.err)
            assert rel.name in out.err, (command, out.err)
        elif not (damage == "newer-format" and target in TOLERATED_NEWER):
            assert rel.name in out.out + out.err, (command, code, out.out[-500:], out.err)
        assert "Traceback" not in out.err


def test_old_asv_results_format_is_refused_with_the_migration(published, tmp_path, monkeypatch, capsys) -> None:
    root = tmp_path / "project"
    shutil.copytree(published, root, symlinks=True)
    path = _results_file(root)
    data = json.loads(path.read_text())
    data["version"] = 1
    path.write_text(json.dumps(data))
    monkeypatch.chdir(root)
    for argv in (COMMANDS["compare"], COMMANDS["publish"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert path.name in err and "asv update" in err and str(root) not in err.split(path.name, 1)[1]


def test_publish_with_asv_skips_nothing_silently(published, tmp_path, monkeypatch, capsys) -> None:
    """`asv publish` itself logs and skips a broken results file; torchperf then stops naming it."""
    root = tmp_path / "project"
    shutil.copytree(published, root, symlinks=True)
    path = _results_file(root)
    damaged = path.read_bytes()[:100]
    path.write_bytes(damaged)
    proc = subprocess.run([sys.executable, "-m", "torchperf_core", "publish"], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 2 and path.name in proc.stderr and "Traceback" not in proc.stderr
    assert path.read_bytes() == damaged


def test_atomic_writes_keep_the_old_file_whole_and_its_mode(tmp_path) -> None:
    """store.write_text (and write_json through it): the file is replaced whole, keeps its own mode (a README
    at 0644, a script at 0755), a new file gets the mode `open` gives under the umask rather than the
    temporary file's 0600, and a write that fails leaves the old text and no temporary file behind. Bugs
    caught: mkstemp's 0600 leaking onto a published file, the umask left changed, the temporary file left in the
    folder, the old file truncated before the new text is whole."""
    import os

    from torchperf_core.store import write_json, write_text

    old = tmp_path / "README.md"
    old.write_text("old\n")
    old.chmod(0o755)
    write_text(old, "new\n")
    assert old.read_text() == "new\n" and old.stat().st_mode & 0o777 == 0o755
    umask = os.umask(0o027)
    try:
        write_json(tmp_path / "sub" / "new.json", {"a": [1]}, indent=4, sort_keys=True)
        assert os.umask(0o027) == 0o027  # write_text read the umask and put it back
    finally:
        os.umask(umask)
    new = tmp_path / "sub" / "new.json"
    assert new.read_text() == '{\n    "a": [\n        1\n    ]\n}\n' and new.stat().st_mode & 0o777 == 0o640
    with pytest.raises(TypeError):
        write_text(old, object())  # type: ignore[arg-type]  (the write fails once the temporary file exists)
    assert old.read_text() == "new\n" and sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "sub"]

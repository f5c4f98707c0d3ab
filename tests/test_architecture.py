"""The tree is the architecture: rooms with one door, layers one way, no cycles, small modules.

The layer order is import-linter's contract in pyproject.toml (`lint-imports` runs it here); the
door rule, the cycle rule and the size rule are checked from the source with `ast`, lazy imports
included (a lazy import never hides a cycle).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "torchperf_core"
ROOMS = ("engine", "catalog", "env", "machine", "store", "compare", "run", "site", "render", "gate", "fleet", "bisect")
# Kept paths: `benchmarks/` of every commit imports these (asv runs today's benchmarks against the
# benchmarked commit's wheel), so they stay as thin re-exports of their room's door.
KEPT_PATHS = ("clock", "device", "measure")
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def _imports(path: Path) -> list[tuple[str, tuple[str, ...], int]]:
    """(module imported, names imported from it, line) for every import in the file, lazy ones too."""
    tree = ast.parse(path.read_text())
    out = []
    me = _module_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((a.name, (), node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = me.split(".")[: -node.level + (1 if path.name == "__init__.py" else 0) or None]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            out.append((module, tuple(a.name for a in node.names), node.lineno))
    return out


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "torchperf_core" and parts[1] in ROOMS else None


def test_every_room_is_a_package_with_a_door() -> None:
    for room in ROOMS:
        door = PKG / room / "__init__.py"
        assert door.is_file(), f"{room} has no door (__init__.py)"
        assert ast.get_docstring(ast.parse(door.read_text())), f"{room}'s door says nothing about the room"


def test_other_rooms_come_in_by_the_door() -> None:
    """Outside a room, only its door is imported, and only names the door lists in __all__."""
    doors = {}
    for room in ROOMS:
        tree = ast.parse((PKG / room / "__init__.py").read_text())
        names = next(
            (ast.literal_eval(n.value) for n in tree.body
             if isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in n.targets)),
            None,
        )  # fmt: skip
        assert names is not None, f"{room}'s door has no __all__"
        doors[room] = set(names)
    bad = []
    for module, path in _modules().items():
        mine = _room(module)
        for target, names, line in _imports(path):
            room = _room(target)
            if room is None or room == mine:
                continue
            where = f"{path.relative_to(PKG.parent)}:{line}"
            if target != f"torchperf_core.{room}":
                bad.append(f"{where} imports {target} (use the door torchperf_core.{room})")
            else:
                bad.extend(f"{where} takes {n!r}, which the {room} door does not list" for n in names
                           if n not in doors[room])
    assert not bad, "\n".join(bad)


def test_no_import_cycles_between_modules() -> None:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for target, names, _line in _imports(path):
            for cand in [f"{target}.{n}" for n in names] + [target]:
                if cand in modules and cand != module and not module.startswith(cand + "."):
                    # a package importing its own submodule (a door) is not a cycle with it
                    graph[module].add(cand)
                    break
    # A door (package __init__) re-exports its room; edges *into* a door from inside the room would
    # be a cycle through the door: those are reported too.
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1 and not (m.startswith(n + ".") or n.startswith(m + ".")):
                cycles.append(" -> ".join(stack[stack.index(n):] + [n]))
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_module_over_the_size_limit() -> None:
    big = {str(p.relative_to(PKG.parent)): n for p in PKG.rglob("*.py")
           if (n := len(p.read_text().splitlines())) > MAX_LINES}  # fmt: skip
    assert not big, f"modules over {MAX_LINES} lines (split them): {big}"


def test_kept_paths_for_older_commits_still_import() -> None:
    """asv installs the benchmarked commit's wheel under today's benchmarks/: these paths stay."""
    code = (
        "from torchperf_core.clock import SyncClock\n"
        "from torchperf_core.device import parse_device\n"
        "from torchperf_core.errors import TorchperfError, UnsupportedCase\n"
        "from torchperf_core.engine import TimingOptions, time_callable\n"
        "from torchperf_core.measure import prepare, translate_error\n"
        "from torchperf_core import catalog\n"
        "assert callable(catalog.get_op) and callable(catalog.unsupported_reason)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_import_layer_contract_holds() -> None:
    """import-linter's layers (pyproject.toml [tool.importlinter]) over the real import graph."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("lint-imports is not installed: `pip install -e '.[test]'` brings import-linter")
    proc = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=PKG.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout, proc.stdout


def test_renderers_live_in_render_not_in_commands() -> None:
    """Command modules parse arguments, call the library and print: no tables built by hand there."""
    offenders = []
    for path in (PKG / "commands").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith(("render", "format_")):
                offenders.append(f"{path.name}:{node.lineno} {node.name}")
    assert not offenders, "renderers inside commands/ (move them to torchperf_core/render): " + ", ".join(offenders)


# Known exceptions to the renderer rule below, each with its reason (remove the entry when fixed).
RENDERER_ALLOWED = {
    # The site room builds HTML pages (its own job, not CLI text); its render_* functions write HTML.
    "site": "HTML pages of the published site",
}


def test_renderers_live_in_render() -> None:
    """Text output is rendered in torchperf_core/render only: outside it no function is named
    render*/_render*, and nobody builds a text table (a call to render's `table`)."""
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        if rel.startswith("render/") or rel in RENDERER_ALLOWED or rel.split("/")[0] in RENDERER_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.lstrip("_").startswith("render"):
                offenders.append(f"{rel}:{node.lineno} defines {node.name}")
            elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "table":
                offenders.append(f"{rel}:{node.lineno} builds a table")
    assert not offenders, "renderers outside torchperf_core/render (move them there): " + ", ".join(offenders)

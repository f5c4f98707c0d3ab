"""What is timed at each release: a CASE string parsed once, at the edge, into a `CaseSpec`.

Three spellings, told apart by shape:

* a suite case as `torchperf compare` prints it, `bench_matmul.MM.track_mm(1024, 'float32', 'contiguous')`
  (module.Class.method(params)): the benchmark class is imported in the release's environment and run
  as asv runs it (setup, the method, teardown);
* an op spec, `mm --size 1024 --dtype float16`: the catalog's op through the engine's `prepare` and
  `Case.time`, as `torchperf bench` times it;
* an importable callable, `toyslow:work` (module:callable): timed with the engine's `time_callable`;
  this is how another package's releases are bisected (`--package`).

The spec travels to the worker as JSON, so it is a frozen value of plain fields.
"""

from __future__ import annotations

import argparse
import ast
import re
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from torchperf_core.errors import TorchperfError

CASE_KINDS = ("suite", "op", "callable")
_CALLABLE_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_SUITE_RE = re.compile(r"^([A-Za-z_]\w*)\.([A-Za-z_]\w*)\.((?:time|track)_\w+)(?:\((.*)\))?$")


@dataclass(frozen=True)
class CaseSpec:
    """One case, ready to be sent to a worker. Only the fields of its `kind` are set."""

    kind: str  # "suite" | "op" | "callable"
    text: str  # as the user wrote it: the report's and the plot's title
    target: str = ""  # callable: "module:attr"
    module: str = ""  # suite: benchmark module (inside the benchmark folder)
    cls: str = ""
    method: str = ""
    params: tuple[Any, ...] = ()
    op: str = ""  # op spec
    size: str = ""
    dtype: str = "float32"
    layout: str = "contiguous"
    threads: int | None = None

    @property
    def needs_torch(self) -> bool:
        return self.kind in ("suite", "op")

    @property
    def kernel_hint(self) -> tuple[str, str] | None:
        """(op, dtype) whose backend kernel explains a torch case, when the case names them."""
        if self.kind == "op":
            return self.op, self.dtype
        return None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["params"] = list(self.params)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "CaseSpec":
        fields = dict(data)
        fields["params"] = tuple(fields.get("params") or ())
        return cls(**fields)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting: an op spec's mistake is a one-line TorchperfError."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise TorchperfError(f"malformed op spec: {message}; expected e.g. 'mm --size 1024 --dtype float16'")


def _parse_op(text: str) -> CaseSpec:
    from torchperf_core import catalog

    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise TorchperfError(f"malformed case {text!r}: {exc}") from None
    parser = _Parser(prog="CASE", add_help=False)
    parser.add_argument("op")
    parser.add_argument("--size", default="1024")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--layout", default="contiguous")
    parser.add_argument("--threads", default=None)
    ns = parser.parse_args(words)
    opdef = catalog.get_op(ns.op)  # unknown op: the catalog's own one-line error
    catalog.check_dtype(ns.dtype)
    if ns.layout not in catalog.LAYOUTS:
        raise TorchperfError(f"unknown layout {ns.layout!r}; accepted: {', '.join(catalog.LAYOUTS)}")
    catalog.parse_size(opdef, ns.size)
    threads = None
    if ns.threads is not None:
        if not str(ns.threads).isdigit() or int(ns.threads) < 1:
            raise TorchperfError(f"--threads {ns.threads!r} in case {text!r} is not a positive integer")
        threads = int(ns.threads)
    return CaseSpec("op", text, op=opdef.name, size=str(ns.size), dtype=ns.dtype, layout=ns.layout, threads=threads)


def _suite_methods(benchmark_dir: Path, module: str) -> dict[str, set[str]] | None:
    """{class: {method names}} of a benchmark module, read with `ast` (no import: no torch here)."""
    path = benchmark_dir / f"{module}.py"
    if not path.is_file():
        return None
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name: {f.name for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for node in tree.body if isinstance(node, ast.ClassDef)
    }


def _parse_suite(text: str, m: re.Match[str], benchmark_dir: Path) -> CaseSpec:
    module, cls, method, inner = m.group(1), m.group(2), m.group(3), m.group(4)
    classes = _suite_methods(benchmark_dir, module)
    if classes is None:
        raise TorchperfError(f"unknown suite case {text!r}: no benchmark module {module!r} in {str(benchmark_dir)!r}")
    if cls not in classes or method not in classes[cls]:
        known = sorted(f"{module}.{c}.{f}" for c, fs in classes.items() for f in fs if f.startswith(("time_", "track_")))
        raise TorchperfError(f"unknown suite case {text!r}; {module} has: {', '.join(known) or 'no benchmarks'}")
    params: tuple[Any, ...] = ()
    if inner is not None and inner.strip():
        try:
            value = ast.literal_eval(f"({inner},)")
        except (ValueError, SyntaxError):
            raise TorchperfError(f"malformed parameters in case {text!r}; expected Python literals "
                                 "as `torchperf compare` prints them, e.g. (1024, 'float32', 'contiguous')") from None
        params = tuple(value)
    return CaseSpec("suite", text, module=module, cls=cls, method=method, params=params)


def parse_case(text: str, *, benchmark_dir: Path = Path("benchmarks")) -> CaseSpec:
    """The user's CASE as a `CaseSpec`; a one-line TorchperfError naming what is accepted."""
    value = (text or "").strip()
    if not value:
        raise TorchperfError("missing CASE; give a suite case (bench_matmul.MM.track_mm(1024, 'float32', "
                             "'contiguous')), an op spec ('mm --size 1024') or module:callable")
    if _CALLABLE_RE.match(value):
        return CaseSpec("callable", value, target=value)
    m = _SUITE_RE.match(value)
    if m:
        return _parse_suite(value, m, benchmark_dir)
    return _parse_op(value)

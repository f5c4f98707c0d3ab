"""Merging results folders into this project's: `torchperf merge DIR...` and the fleet's pull-back.

A results folder produced anywhere (a fleet host, a CI matrix job's artifact, a colleague's
laptop) holds asv's `results/<machine>/*.json` + `machine.json`, `results/benchmarks.json`, and
torchperf's `meta/<machine>/` (fingerprint sidecars, calibration, machine condition). The rules:

- one machine name is one machine: a folder whose `machine.json` disagrees with ours on a hardware
  key (`IDENTITY_KEYS`) is refused before anything is written — asv would otherwise draw two boxes
  as one line;
- never replace a newer result with an older one: a results file of the same commit and
  environment is replaced only when it was run later (asv's `started_at`; its `date` is the
  commit's, the same on both sides), and its sidecar travels with it;
- safe to re-run: an identical file is "unchanged", so merging twice writes nothing the second time.

Everything is read through the store's readers (`ResultsStore`, which loads results with asv's own
API and refuses a corrupt file naming it; `load_sidecar`); only whole files are copied.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from torchperf_core.errors import TorchperfError
from torchperf_core.store import META_DIR, ResultsFile, ResultsStore, load_sidecar, write_json

# machine.json keys that say which box it is (asv's `os` holds the kernel release, which an update
# changes: only its system name is compared).
IDENTITY_KEYS = ("arch", "cpu", "num_cpu", "ram", "gpu", "os")


@dataclass
class MergeReport:
    """What a merge did, file by file (paths relative to the destination's results/meta folders)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # a newer run replaced an older one
    unchanged: list[str] = field(default_factory=list)
    kept_newer: list[str] = field(default_factory=list)  # ours was run later: the incoming one skipped
    machines: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)

    def extend(self, other: "MergeReport") -> None:
        for name in ("added", "updated", "unchanged", "kept_newer"):
            getattr(self, name).extend(getattr(other, name))
        self.machines.extend(m for m in other.machines if m not in self.machines)

    def lines(self) -> list[str]:
        """The report as text lines (one summary line, then one line per skipped older result)."""
        out = [f"merged {len(self.added)} new and {len(self.updated)} newer file(s); {len(self.unchanged)} "
               f"unchanged, {len(self.kept_newer)} older one(s) skipped; machines: {', '.join(self.machines) or 'none'}"]
        out += [f"  added {p}" for p in self.added]
        out += [f"  updated {p} (newer run)" for p in self.updated]
        out += [f"  skipped {p}: ours was run later" for p in self.kept_newer]
        return out


def locate(folder: str | Path) -> tuple[Path, Path | None]:
    """(results folder, meta folder or None) of DIR: a project or artifact folder holding
    `results/` (and `meta/`), or a results folder itself (its sidecars then in `../meta`)."""
    path = Path(folder)
    if not path.is_dir():
        problem = "is a file, not a folder" if path.exists() else "does not exist"
        raise TorchperfError(f"results folder {str(folder)!r} {problem}; give a folder holding results/")
    for results in (path / "results", path):
        if (results / "benchmarks.json").is_file() or any(results.glob("*/machine.json")):
            meta = results.parent / META_DIR
            return results, meta if meta.is_dir() else None
    raise TorchperfError(f"{str(folder)!r} holds no asv results (no benchmarks.json, no <machine>/machine.json); "
                         "give a folder holding results/ or an asv results folder")


def _system(value: Any) -> str:
    return str(value).split()[0] if value else ""


def identity_conflicts(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> list[str]:
    """The hardware keys on which two machine.json files disagree (missing keys are no evidence)."""
    out = []
    for key in IDENTITY_KEYS:
        a, b = ours.get(key), theirs.get(key)
        if key == "os":
            a, b = _system(a), _system(b)
        if a not in (None, "") and b not in (None, "") and str(a) != str(b):
            out.append(f"{key} {a!r} vs {b!r}")
    return out


def _run_at(files: Iterable[ResultsFile]) -> dict[str, int]:
    return {f.path.name: f.run_at for f in files}


def _copy(src: Path, dest: Path) -> None:
    """Copy through a temporary name, so a reader never sees half a results file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.merge-tmp")
    shutil.copy2(src, tmp)
    os.replace(tmp, dest)


def merge_results(folders: Iterable[str | Path], results_dir: Path, meta_dir: Path) -> MergeReport:
    """Merge every folder into `results_dir` / `meta_dir`; refuses (writing nothing) when a machine
    name would stand for two different machines. See the module docstring for the rules."""
    sources = [locate(f) for f in folders]
    plans = []
    ours = ResultsStore(results_dir) if results_dir.is_dir() else None
    seen: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for results, meta in sources:
        store = ResultsStore(results)
        for machine in store.machines():
            info = store.machine_info(machine)
            against = []
            if ours is not None and machine in ours.machines():
                against.append((f"this project's {machine!r}", ours.machine_info(machine)))
            if machine in seen:
                against.append(seen[machine])
            for where, other in against:
                conflicts = identity_conflicts(other, info)
                if conflicts:
                    raise TorchperfError(
                        f"{str(results / machine)!r} is a different machine from {where} under the same name "
                        f"({'; '.join(conflicts)}); nothing was merged — rename one of them (torchperf run --machine)")
            seen.setdefault(machine, (str(results / machine), info))
            plans.append((store, results, meta, machine))
    report = MergeReport()
    for store, results, meta, machine in plans:
        report.extend(_merge_machine(store, results, meta, machine, results_dir, meta_dir))
    for results, _meta in sources:
        _merge_benchmarks(results, results_dir, report)
    return report


def _merge_machine(store: ResultsStore, results: Path, meta: Path | None, machine: str,
                   results_dir: Path, meta_dir: Path) -> MergeReport:
    report = MergeReport(machines=[machine])
    dest = results_dir / machine
    incoming = store.files(machine)  # asv's loader: a corrupt or foreign file is refused, naming it
    existing = _run_at(ResultsStore(results_dir).files(machine)) if (dest / "machine.json").is_file() else {}
    if not (dest / "machine.json").is_file():
        _copy(results / machine / "machine.json", dest / "machine.json")
        report.added.append(f"{machine}/machine.json")
    else:  # the same box (checked before anything was written): ours stays as asv registered it
        report.unchanged.append(f"{machine}/machine.json")
    taken: list[str] = []  # stems whose results file is now the incoming one: their sidecar follows
    for f in incoming:
        target = dest / f.path.name
        name = f"{machine}/{f.path.name}"
        if not target.exists():
            _copy(f.path, target)
            report.added.append(name)
            taken.append(f.path.stem)
        elif filecmp.cmp(f.path, target, shallow=False):
            report.unchanged.append(name)
            taken.append(f.path.stem)
        elif f.run_at > existing.get(f.path.name, 0):
            _copy(f.path, target)
            report.updated.append(name)
            taken.append(f.path.stem)
        else:
            report.kept_newer.append(name)
    if meta is not None and (meta / machine).is_dir():
        _merge_meta(meta / machine, meta_dir / machine, set(taken), {f.path.stem for f in incoming}, report)
    return report


def _merge_meta(src: Path, dest: Path, taken: set[str], result_stems: set[str], report: MergeReport) -> None:
    """Sidecars follow their results file; the machine's own files (calibration, condition) are
    taken when absent here or when the incoming copy was written later."""
    for path in sorted(src.glob("*.json")):
        target = dest / path.name
        name = f"{META_DIR}/{src.name}/{path.name}"
        if path.stem in result_stems:
            if path.stem not in taken:
                continue
            load_sidecar(path)  # the one reader: a corrupt sidecar is refused, naming it
        if target.exists() and filecmp.cmp(path, target, shallow=False):
            report.unchanged.append(name)
        elif not target.exists():
            _copy(path, target)
            report.added.append(name)
        elif path.stem in taken or path.stat().st_mtime > target.stat().st_mtime:
            _copy(path, target)
            report.updated.append(name)
        else:
            report.kept_newer.append(name)


def _merge_benchmarks(results: Path, results_dir: Path, report: MergeReport) -> None:
    """benchmarks.json: the union; a benchmark both sides describe keeps our description."""
    src = results / "benchmarks.json"
    if not src.is_file():
        return
    dest = results_dir / "benchmarks.json"
    theirs = ResultsStore(results).benchmarks()  # the store's reader (refuses a corrupt file)
    if not dest.is_file():
        _copy(src, dest)
        report.added.append("benchmarks.json")
        return
    ours = ResultsStore(results_dir).benchmarks()
    new = {k: v for k, v in theirs.items() if k not in ours}
    if not new:
        report.unchanged.append("benchmarks.json")
        return
    raw = json.loads(dest.read_text())
    raw.update(new)
    write_json(dest, raw)
    report.updated.append(f"benchmarks.json (+{len(new)} benchmark(s))")

"""Hardware side by side: machine A against machine B at one commit and one torch version.

Where `compare_commits` refuses two machines (the same code on two boxes is not a regression),
here the two machines *are* the question: what does moving this suite from box A to box B do, and
why. Per case: B/A ratio with asv's verdict (`verdict.judge`, through `pair_rows`: the same rule as
every comparison), GFLOP/s on each, and each as a fraction of *its own machine's* calibrated peak
(`machine.load_calibration`, the one reader; none when a machine was never calibrated), so a box
that is slower but closer to its own ceiling reads differently from one that is badly used. Then
the why: the machine.json hardware keys, and the fingerprint differences of each environment pair
(`why.env_diff`: CPU model, ISA, cores, BLAS/oneDNN, threads), which here explain rather than warn.

No verdict gates anything: comparing two machines always exits 0. Pure logic; `render` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from torchperf_core.compare.comparisons import Row, Source, noise_warnings, pair_rows
from torchperf_core.compare.why import EnvDiff, env_diff
from torchperf_core.errors import TorchperfError
from torchperf_core.store import ResultsFile, ResultsStore, release_of, resolve_revision, version_key
from torchperf_core.verdict import DEFAULT_FACTOR

# machine.json keys shown side by side (asv's own, plus the hardware keys `torchperf run` adds).
HARDWARE_KEYS = ("cpu", "arch", "num_cpu", "ram", "os", "gpu", "gpu_driver", "cuda")


@dataclass(frozen=True)
class MachineSide:
    machine: str
    hardware: Mapping[str, str]
    ceilings: Any | None  # machine.Ceilings: this machine's calibration, or None
    calibration_note: str  # why there is no usable calibration ("" when there is one)


@dataclass(frozen=True)
class MachineRow:
    """One case: `row.before` is machine A, `row.after` machine B (ratio B/A)."""

    row: Row
    peak_a: Any | None  # machine.CeilingFraction of A's own peak
    peak_b: Any | None


@dataclass(frozen=True)
class MachineComparison:
    commit: str
    torch_version: str
    a: MachineSide
    b: MachineSide
    factor: float
    rows: tuple[MachineRow, ...]
    env_diffs: tuple[EnvDiff, ...]
    warnings: tuple[str, ...] = ()

    @property
    def hardware_differences(self) -> tuple[tuple[str, str, str], ...]:
        keys = [k for k in HARDWARE_KEYS if k in self.a.hardware or k in self.b.hardware]
        return tuple((k, self.a.hardware.get(k, "?"), self.b.hardware.get(k, "?")) for k in keys
                     if self.a.hardware.get(k) != self.b.hardware.get(k))

    @property
    def exit_code(self) -> int:
        """Always 0: a slower machine is a fact to show, not a regression to gate on."""
        return 0


def _ceilings(meta: Path, machine: str) -> tuple[Any | None, str]:
    from torchperf_core.machine import load_calibration

    path = meta / machine / "calibration.json"
    if not path.is_file():
        return None, "not calibrated (`torchperf calibrate` on it)"
    try:
        return load_calibration(path), ""
    except TorchperfError as exc:
        return None, str(exc)


def _peak(ceilings: Any | None, row: Row, gflops: float | None) -> Any | None:
    """The fraction of a machine's own peak for the row's dtype; None for another device's case."""
    if ceilings is None:
        return None
    params = {k: v.strip("'\"") for k, v in row.params}
    if params.get("device", ceilings.device).split(":")[0] != ceilings.device:
        return None
    return ceilings.peak_fraction(params.get("dtype"), gflops)


def _side(store: ResultsStore, meta: Path, machine: str) -> MachineSide:
    info = store.machine_info(machine)
    ceilings, note = _ceilings(meta, machine)
    hardware = {k: str(info[k]) for k in HARDWARE_KEYS if info.get(k) not in (None, "")}
    return MachineSide(machine, hardware, ceilings, note)


def _pick_commit(store: ResultsStore, source: Source, a: str, b: str, commit: str | None) -> str:
    both = [c for c in store.commits(a) if c in set(store.commits(b))]
    if commit is not None:
        chosen = resolve_revision(commit, source.repo, both)
        if chosen not in both:
            raise TorchperfError(f"no results for commit {commit!r} on both {a!r} and {b!r}; commits with results on "
                                 f"both: {', '.join(c[:8] for c in both) or 'none'}")
        return chosen
    if not both:
        raise TorchperfError(f"machines {a!r} and {b!r} have no commit with results in common; run the same commit "
                             "on both (`torchperf fleet run`)")
    return both[-1]  # the store's order: the latest commit


def _files(store: ResultsStore, machine: str, commit: str) -> dict[str, list[ResultsFile]]:
    """torch release -> that machine's results files at `commit`."""
    out: dict[str, list[ResultsFile]] = {}
    for f in store.files(machine):
        if f.commit == commit:
            out.setdefault(release_of(f.torch_version) or "?", []).append(f)
    return out


def compare_machines(source: Source, machine_a: str, machine_b: str, *, torch: str | None = None,
                     commit: str | None = None, factor: float = DEFAULT_FACTOR,
                     store: ResultsStore | None = None) -> MachineComparison:
    """Machine A against B at one commit (default: the latest both have) and one torch release
    (default: the newest both have there). `store`: an open store of `source.results_dir`, for a
    caller comparing many pairs (the site's Machines page), so each machine's files are read once."""
    store = store if store is not None else ResultsStore(source.results_dir)
    a, b = store.pick_machine(machine_a), store.pick_machine(machine_b)
    if a == b:
        raise TorchperfError(f"--machines needs two different machines; got {a!r} twice")
    at = _pick_commit(store, source, a, b, commit)
    files_a, files_b = _files(store, a, at), _files(store, b, at)
    common = sorted(set(files_a) & set(files_b), key=version_key)
    if torch is None:
        if not common:
            raise TorchperfError(f"no torch version has results on both {a!r} and {b!r} at {at[:8]}")
        torch = common[-1]
    elif torch not in common:
        raise TorchperfError(f"torch {torch} has no results on both {a!r} and {b!r} at {at[:8]}; on both: "
                             f"{', '.join(common) or 'none'}")
    by_env_a = {f.env_name: f for f in files_a[torch]}
    by_env_b = {f.env_name: f for f in files_b[torch]}
    benchmarks = store.benchmarks()
    samples_a = {(n, p, env): s for env, f in by_env_a.items() for (n, p), s in f.entries.items()}
    samples_b = {(n, p, env): s for env, f in by_env_b.items() for (n, p), s in f.entries.items()}
    rows = pair_rows(samples_a, samples_b, benchmarks, factor)
    side_a, side_b = _side(store, source.meta, a), _side(store, source.meta, b)
    diffs = tuple(env_diff(env, by_env_a[env], by_env_b[env], source.meta, "machines")[0]
                  for env in sorted(set(by_env_a) & set(by_env_b)))
    warnings = [f"environments only on {m}: {', '.join(sorted(set(x) - set(y)))}"
                for m, x, y in ((a, by_env_a, by_env_b), (b, by_env_b, by_env_a)) if set(x) - set(y)]
    warnings += noise_warnings(rows, source.meta, {a, b})
    out = tuple(MachineRow(r, _peak(side_a.ceilings, r, r.gflops_before), _peak(side_b.ceilings, r, r.gflops_after))
                for r in rows)
    return MachineComparison(at, torch, side_a, side_b, factor, out, diffs, tuple(warnings))

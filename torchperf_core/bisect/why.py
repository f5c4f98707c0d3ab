"""The "why" at the culprit pair: fingerprint and kernel differences between the two releases.

Each side's fingerprint and kernels are collected by its own environment's worker (`worker.py`,
`why`), then diffed here with the env room's declared fields (`diff_fingerprints`, key fields
flagged as `compare` flags them) and the comparison room's kernel rule (`kernel_changes`): a move to
a reference kernel (`ref:any`) is the classic explanation of a catastrophic slowdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from torchperf_core.bisect.cases import CaseSpec

# Fingerprint fields that differ by design between two torch releases: shown, not warned about.
_EXPECTED = ("torch.version", "torch.git_version")


@dataclass(frozen=True)
class _Row:
    """The one changed case, in the shape `compare.kernel_changes` reads a comparison row."""

    benchmark: str
    params: tuple[tuple[str, str], ...]
    env: str = "bisect"
    verdict: str = "slower"

    @property
    def name(self) -> str:
        return self.benchmark


def explain(before: Mapping[str, Any], after: Mapping[str, Any], case: CaseSpec,
            kernel: tuple[str, str] | None) -> dict[str, Any]:
    """Fingerprint differences (key fields flagged) and the kernels each side ran, where they differ."""
    from torchperf_core.compare import kernel_changes
    from torchperf_core.env import Fingerprint, KernelInfo, diff_fingerprints, is_key_field

    fb, fa = Fingerprint.from_json(before["fingerprint"]), Fingerprint.from_json(after["fingerprint"])
    fields = [{"field": d.path, "before": d.before, "after": d.after,
               "key": bool(is_key_field(d.path) and d.path not in _EXPECTED)} for d in diff_fingerprints(fb, fa)]
    kb = {k: KernelInfo.from_json(v) for k, v in (before.get("kernels") or {}).items()}
    ka = {k: KernelInfo.from_json(v) for k, v in (after.get("kernels") or {}).items()}
    kernels = []
    if kernel is not None:
        row = _Row(case.text, (("op", kernel[0]), ("dtype", kernel[1])))
        for change in kernel_changes([row], {"bisect": kb}, {"bisect": ka}, {}):
            kernels.append({"kernel": change.kernel, "before": list(change.before), "after": list(change.after),
                            "before_reference": change.before_reference, "after_reference": change.after_reference})
    same = sorted({k: ", ".join(v.backends) or v.note or "no backend log"
                   for k, v in kb.items() if k in ka and ka[k].backends == v.backends}.items())
    return {"fields": fields, "kernels": kernels, "kernels_unchanged": [list(x) for x in same]}

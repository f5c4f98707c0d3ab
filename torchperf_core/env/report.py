"""The environment report: a fingerprint plus kernel provenance, as one versioned JSON document.

`torchperf env --json [--kernels]` prints it; run inside an asv benchmark environment
(`python -m torchperf_core env --json --kernels`) it describes that environment, and the same
document is what `meta/<machine>/<results file stem>.json` stores next to asv's results.
Does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from torchperf_core.errors import TorchperfError
from torchperf_core.formats import check_format_version
from torchperf_core.env.fingerprint import Fingerprint
from torchperf_core.env.kernels import KernelInfo, kernel_key

# Format history:
#   1 — {"format_version": 1, "fingerprint": {...}, "kernels": {"mm/float32": {...}, ...}}
ENV_REPORT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class EnvReport:
    fingerprint: Fingerprint
    kernels: tuple[KernelInfo, ...] = ()

    @property
    def kernels_by_key(self) -> dict[str, KernelInfo]:
        return {kernel_key(k.op, k.dtype): k for k in self.kernels}

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": ENV_REPORT_FORMAT_VERSION,
            "fingerprint": self.fingerprint.to_json(),
            "kernels": {kernel_key(k.op, k.dtype): k.to_json() for k in self.kernels},
        }

    @classmethod
    def from_json(cls, data: Any, *, source: str = "") -> EnvReport:
        """Load `torchperf env --json` output; another format_version (of the report or of the
        fingerprint inside it) is refused by the one shared check (`source` names the file)."""
        check_format_version(data, "environment report", ENV_REPORT_FORMAT_VERSION, source=source,
                             fix="re-run `torchperf env --json`")
        if "fingerprint" not in data:
            raise TorchperfError("environment report has no 'fingerprint'")
        kernels = data.get("kernels") or {}
        if not isinstance(kernels, Mapping):
            raise TorchperfError("environment report 'kernels' must be an object")
        return cls(
            fingerprint=Fingerprint.from_json(data["fingerprint"], source=source),
            kernels=tuple(KernelInfo.from_json(k) for k in kernels.values()),
        )

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
    def from_json(cls, data: Mapping[str, Any]) -> EnvReport:
        if not isinstance(data, Mapping):
            raise TorchperfError(f"environment report must be a JSON object, got {type(data).__name__}")
        version = data.get("format_version")
        if version != ENV_REPORT_FORMAT_VERSION:
            raise TorchperfError(
                f"unknown environment report format_version {version!r}; accepted: "
                f"{ENV_REPORT_FORMAT_VERSION}"
            )
        if "fingerprint" not in data:
            raise TorchperfError("environment report has no 'fingerprint'")
        kernels = data.get("kernels") or {}
        if not isinstance(kernels, Mapping):
            raise TorchperfError("environment report 'kernels' must be an object")
        return cls(
            fingerprint=Fingerprint.from_json(data["fingerprint"]),
            kernels=tuple(KernelInfo.from_json(k) for k in kernels.values()),
        )

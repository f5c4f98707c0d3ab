"""One doctor check: its name, OK/INFO/WARN, what was seen and the command that would improve it.

Its own module so that the CPU checks (`doctor`) and the NVIDIA checks (`doctor_gpu`) share it
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

STATUSES = ("OK", "INFO", "WARN")  # in increasing order of concern
_RANK = {status: rank for rank, status in enumerate(STATUSES)}


@dataclass(frozen=True)
class Check:
    """One verdict. `advice` is the exact command that would improve things (never run by us)."""

    name: str
    status: str  # "OK" | "INFO" | "WARN"
    detail: str
    advice: str = ""

    def __post_init__(self) -> None:
        if self.status not in _RANK:
            raise ValueError(f"unknown check status {self.status!r}; accepted: {', '.join(STATUSES)}")

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "advice": self.advice}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Check":
        return cls(str(data["name"]), str(data["status"]), str(data["detail"]), str(data.get("advice", "")))

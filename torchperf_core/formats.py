"""The one `format_version` check, for every file torchperf writes.

Each file format keeps its own version constant, with a short history comment beside it; every reader
calls `check_format_version` so that a file from a newer (or broken) torchperf fails the same way
everywhere: a `TorchperfError` naming the file, the kind, the version found and the versions this
torchperf reads, and the command that rewrites the file. Callers that tolerate a bad file (the site,
the machine condition) catch that error and show its message; none re-words it.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from torchperf_core.errors import TorchperfError


def check_format_version(data: Any, kind: str, supported: int | Iterable[int], *, source: str = "",
                         fix: str = "") -> int:
    """The file's `format_version` when this torchperf reads it; else a one-line TorchperfError.

    `kind` names the format ("calibration", "doctor report", ...), `source` the file (or "" when the
    data did not come from a file), `fix` what rewrites it ("re-run `torchperf calibrate`").
    """
    accepted = (supported,) if isinstance(supported, int) else tuple(supported)
    where = f"{source}: " if source else ""
    if not isinstance(data, Mapping):
        raise TorchperfError(f"{where}unreadable {kind}: not a JSON object" + (f"; {fix}" if fix else ""))
    version = data.get("format_version")
    if isinstance(version, bool) or version not in accepted:
        reads = ", ".join(str(v) for v in accepted)
        raise TorchperfError(
            f"{where}{kind} format_version {version!r} not supported (this torchperf reads {reads})"
            + (f"; {fix}" if fix else "")
        )
    return int(version)

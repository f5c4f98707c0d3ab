"""The hosts file of `torchperf fleet run`: one host per line, `[user@]host[:port] [machine-name]`.

The seed's plain one-host-per-line `hosts.txt` is the degenerate case. `#` starts a comment; blank
lines are skipped. Without a machine name the remote host name is the asv machine name (resolved
after connecting, `check_unique_machines`); two hosts that would record under one machine name would
overwrite each other's results, so that is refused before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from torchperf_core.errors import TorchperfError

# A DNS name, a `Host` alias of ~/.ssh/config (which may hold '_'), an IPv4 address or a bracketed
# IPv6 address; a user as OpenSSH accepts it. Never a leading '-' (no option can pass for a host).
_LINE_RE = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]*)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?)"
    r"(?::(?P<port>[0-9]{1,5}))?$"
)
# The machine name rule of `torchperf run --machine` (run.parse_machine), restated as a pattern
# only to name the line of a bad one: the run room's parser decides.
_ACCEPTED = "lines of the form [user@]host[:port] [machine-name]"


@dataclass(frozen=True)
class Host:
    """One line of the hosts file."""

    host: str
    user: str | None = None
    port: int | None = None  # None: from ~/.ssh/config, else 22
    machine: str | None = None  # None: the remote host name
    line: int = 0

    @property
    def label(self) -> str:
        """How the host is named in progress and failure lines (as written in the file)."""
        text = f"{self.user}@{self.host}" if self.user else self.host
        return f"{text}:{self.port}" if self.port else text


def parse_hosts(text: str, source: str = "hosts file") -> list[Host]:
    """Every host of a hosts file; a bad line is a TorchperfError naming its number and text."""
    from torchperf_core.run import parse_machine

    hosts: list[Host] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        match = _LINE_RE.match(fields[0]) if len(fields) <= 2 else None
        port = int(match["port"]) if match and match["port"] else None
        if match is None or (port is not None and not 1 <= port <= 65535):
            raise TorchperfError(f"{source} line {number}: {raw.strip()!r} not understood; expected {_ACCEPTED}")
        machine = None
        if len(fields) == 2:
            try:
                machine = parse_machine(fields[1])
            except TorchperfError as exc:
                raise TorchperfError(f"{source} line {number}: {exc}") from None
        host = match["host"].strip("[]")
        hosts.append(Host(host=host, user=match["user"], port=port, machine=machine, line=number))
    if not hosts:
        raise TorchperfError(f"{source} names no host; expected {_ACCEPTED}")
    seen: dict[tuple[str | None, str, int | None], int] = {}
    for h in hosts:
        key = (h.user, h.host, h.port)
        if key in seen:
            raise TorchperfError(f"{source} line {h.line}: {h.label!r} is already on line {seen[key]}")
        seen[key] = h.line
    check_unique_machines(hosts, {})
    return hosts


def read_hosts(path: str | Path) -> list[Host]:
    """Read and parse a hosts file (a missing file is a one-line error)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise TorchperfError(f"cannot read hosts file {str(p)!r}: {why}") from None
    return parse_hosts(text, f"hosts file {str(p)!r}")


def machine_names(hosts: Sequence[Host], resolved: Mapping[Host, str]) -> dict[Host, str]:
    """Each host's asv machine name: the one the file gives, else the one resolved remotely."""
    return {h: h.machine or resolved[h] for h in hosts if h.machine or h in resolved}


def check_unique_machines(hosts: Sequence[Host], resolved: Mapping[Host, str]) -> None:
    """Refuse two hosts recording under one machine name (they would overwrite each other)."""
    by_name: dict[str, list[Host]] = {}
    for host, name in machine_names(hosts, resolved).items():
        by_name.setdefault(name, []).append(host)
    for name, same in sorted(by_name.items()):
        if len(same) > 1:
            labels = " and ".join(f"{h.label} (line {h.line})" for h in same)
            raise TorchperfError(f"{labels} would both record as machine {name!r}; give each a distinct "
                                 "machine name after the host in the hosts file")

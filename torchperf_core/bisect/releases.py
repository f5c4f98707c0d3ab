"""Which releases lie between good and bad: asked of the package index with pip itself.

`pip index versions NAME --pre --json` lists what the index (or `--find-links` folder) serves, with
the machine's own pip configuration (index URLs, find-links) applied, as the install will see it.
pip applies no constraints file to the listing: a release a constraint forbids (torch 2.15.0 on
these machines) is listed and then fails to install with pip's reason (skipped; an endpoint: exit 2).
Plain releases only (PEP 440 X.Y[.Z], no pre/post/dev/local); `--include` adds others by name.
Version spelling and order are the store's one torch-version rule (`parse_torch_version`,
`version_key`); another package's versions are kept as the index spells them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Sequence

from torchperf_core.errors import TorchperfError
from torchperf_core.store import parse_torch_version, version_key

# PEP 508 distribution names.
_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")


@dataclass(frozen=True)
class IndexOptions:
    """Where pip looks: passed unchanged to `pip index` and every `pip install`."""

    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    def pip_args(self) -> list[str]:
        args: list[str] = []
        if self.no_index:
            args.append("--no-index")
        if self.index_url:
            args += ["--index-url", self.index_url]
        for link in self.find_links:
            args += ["--find-links", link]
        return args

    def key(self) -> str:
        """A short stable name of this index choice: environments from different indexes never mix."""
        import hashlib

        return hashlib.sha256(json.dumps(self.pip_args()).encode()).hexdigest()[:8]


def parse_release(text: str, package: str, *, included: bool = False) -> str:
    """A release as the user names it: torch's rule for torch ("2.13" -> "2.13.0"); PEP 440 otherwise.

    `included` (an `--include` value) may be any PEP 440 version, torch's too: naming pre- and
    post-releases is what `--include` is for; the index's own spelling is used once it is matched.
    """
    from packaging.version import InvalidVersion, Version

    if package == "torch" and not included:
        return parse_torch_version(text)
    try:
        Version(str(text).strip())
    except InvalidVersion:
        raise TorchperfError(f"{package} version {text!r} is not a PEP 440 version; expected e.g. 1.5") from None
    return str(text).strip()


def parse_package(text: str) -> str:
    """`--package` as a distribution name (PEP 508); refused before it reaches pip's command line,
    where a value starting with "-" would be read as an option."""
    value = str(text).strip()
    if not _NAME_RE.match(value):
        raise TorchperfError(f"--package {text!r} is not a package name; expected a distribution name "
                             "like torch or numpy")
    return value


def is_plain(version: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        v = Version(version)
    except InvalidVersion:
        return False
    return not (v.is_prerelease or v.is_postrelease or v.is_devrelease or v.local or v.epoch)


def check_order(good: str, bad: str) -> None:
    """The one rule for the pair: good strictly older than bad (checked before the index is asked)."""
    from packaging.version import Version

    if Version(good) >= Version(bad):
        raise TorchperfError(f"--good {good} must be older than --bad {bad}")


def index_versions(package: str, index: IndexOptions, *, python: str = sys.executable) -> list[str]:
    """Every version the index serves for `package` (pre-releases too), oldest first."""
    cmd = [python, "-m", "pip", "index", "versions", package, "--pre", "--json", *index.pip_args()]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as exc:
        raise TorchperfError(f"cannot list {package} releases with pip: {exc}") from None
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise TorchperfError(f"cannot list {package} releases from the index: {tail[:200]}")
    try:
        versions = json.loads(proc.stdout)["versions"]
    except (ValueError, KeyError, TypeError):
        raise TorchperfError(f"unexpected `pip index versions` output for {package}: {proc.stdout[:120]!r}") from None
    return sorted({str(v) for v in versions}, key=version_key)


def releases_between(available: Sequence[str], good: str, bad: str, package: str,
                     include: Sequence[str] = ()) -> list[str]:
    """good, the plain releases strictly between (plus `include`), bad: oldest first.

    Refused in one line: good not older than bad, an endpoint or an included version the index does
    not serve, nothing between the two (the pair is already the answer).
    """
    from packaging.version import Version

    check_order(good, bad)
    served = {Version(v): v for v in available}
    chosen: list[str] = []
    for name, value in (("--good", good), ("--bad", bad), *(("--include", v) for v in include)):
        if Version(value) not in served:
            newest = ", ".join(v for v in available[-5:]) or "none"
            raise TorchperfError(f"{name} {package} {value} is not on the package index (newest served: {newest})")
        chosen.append(served[Version(value)])
    lo, hi = Version(good), Version(bad)
    extra = {Version(v) for v in include}
    between = [v for v in available if lo < Version(v) < hi and (is_plain(v) or Version(v) in extra)]
    if not between:
        raise TorchperfError(f"no {package} release between {good} and {bad} on the index: the pair is the "
                             "answer already (compare them with `torchperf compare --torch`)")
    return [chosen[0], *between, chosen[1]]

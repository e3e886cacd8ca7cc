"""Where data files come from, written once for every upstream data set: the local mirror
(``CPTBENCH_DATA_DIR``), the download cache, or a download from a pinned upstream commit whose
bytes must match the pinned sha256.

Public API: ``data_cache_dir()``, ``Upstream`` (one data set's mirror/cache/download rules),
``download(url, dest, hint=..., sha256=...)``.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cptbench.core.errors import DataError
from cptbench.core.io import atomic_path
from cptbench.core.resources import cache_root

MIRROR_ENV = "CPTBENCH_DATA_DIR"


def data_cache_dir() -> Path:
    """Downloaded data sets live here: ``cache_root() / "data"``."""
    return cache_root() / "data"


@dataclass(frozen=True)
class Upstream:
    """One data set's files: ``<mirror>/<folder>/<relative>`` when ``CPTBENCH_DATA_DIR`` is set,
    else ``<cache>/<folder>/<commit[:12]>/<relative>``, downloaded once from ``base_url`` (or the
    ``url_env`` override) and checked against ``sha256[relative]``."""

    title: str  # for messages: "CrossNER"
    folder: str  # under the mirror and the cache: "crossner"
    commit: str
    base_url: str
    url_env: str
    layout: str  # the files expected under the folder, for messages
    sha256: Mapping[str, str] = field(default_factory=dict)

    def path(self, relative: str) -> Path:
        mirror = os.environ.get(MIRROR_ENV)
        if mirror:
            path = Path(mirror).expanduser() / self.folder / relative
            if not path.is_file():
                raise DataError(
                    f"{self.title} file not found: {path} ({MIRROR_ENV} is set; expected "
                    f"{self.folder}/{self.layout} under it)"
                )
            return path
        path = data_cache_dir() / self.folder / self.commit[:12] / relative
        if path.is_file():
            return path
        if relative not in self.sha256:
            raise DataError(f"{self.title}: no pinned sha256 for {relative}; a download could not be checked")
        base = os.environ.get(self.url_env) or self.base_url
        hint = f"set {MIRROR_ENV} to a local mirror (holding {self.folder}/{self.layout}) or connect to the network"
        return download(f"{base.rstrip('/')}/{relative}", path, hint=hint, sha256=self.sha256[relative])


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def download(url: str, dest: Path, *, hint: str = "", sha256: str | None = None, timeout: float = 60.0) -> Path:
    """Fetch ``url`` into ``dest`` atomically; with ``sha256``, the bytes must match it.

    Raises ``DataError`` (one line naming the URL, then ``hint``) when the fetch fails, the
    response is empty or its hash differs from the pinned one; nothing is left behind then.
    """
    suffix = f"; {hint}" if hint else ""
    try:
        with atomic_path(dest) as tmp:
            digest = hashlib.sha256()
            with tmp.open("wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if tmp.stat().st_size == 0:
                raise DataError(f"download of {url} returned no data{suffix}")
            if sha256 is not None and digest.hexdigest() != sha256:
                raise DataError(
                    f"download of {url}: sha256 {digest.hexdigest()[:12]}... differs from the pinned "
                    f"{sha256[:12]}... (upstream changed or the transfer was corrupted); nothing was kept"
                )
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise DataError(f"could not download {url} ({_one_line(exc)}){suffix}") from exc
    return dest

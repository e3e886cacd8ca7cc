"""Where cptbench keeps downloads and converted models.

Public API: ``cache_root()``, ``data_cache_dir()``, ``download(url, dest, hint=...)``.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from cptbench.core.errors import DataError
from cptbench.core.resources import cache_root


def data_cache_dir() -> Path:
    """Downloaded data sets live here: ``cache_root() / "data"``."""
    return cache_root() / "data"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def download(url: str, dest: Path, *, hint: str = "", timeout: float = 60.0) -> Path:
    """Fetch ``url`` into ``dest`` atomically (temp file in the same folder, then ``os.replace``).

    Raises ``DataError`` (one line naming the URL, then ``hint``) when the fetch fails or the
    response is empty; a failed fetch leaves no partial file behind.
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create cache folder {dest.parent}: {_one_line(exc)}") from exc
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out)
        if os.path.getsize(tmp) == 0:
            raise DataError(f"download of {url} returned no data{'; ' + hint if hint else ''}")
        os.replace(tmp, dest)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        suffix = f"; {hint}" if hint else ""
        raise DataError(f"could not download {url} ({_one_line(exc)}){suffix}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest

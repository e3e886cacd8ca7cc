"""A checkpoint's weight files checked before they are loaded: a file cut short (a full disk, a
copy interrupted, a run directory edited by hand) is one line naming it, not a loader's traceback.

safetensors is checked from its header alone (no torch, no weights read): an 8-byte little-endian
header length, a JSON header naming every tensor's byte range, and the data, which must end
exactly where the last range does.
"""

from __future__ import annotations

import struct
from pathlib import Path

from cptbench.core.errors import CptbenchError, ModelError
from cptbench.core.io import parse_json

MAX_HEADER = 100 * 2**20  # safetensors' own limit on the header


def check_checkpoint(path: Path) -> None:
    """Every ``*.safetensors`` file of the checkpoint folder ``path`` is whole (``check_weights``)."""
    for file in sorted(Path(path).glob("*.safetensors")):
        check_weights(file)


def check_weights(file: Path) -> None:
    """``file`` is a whole safetensors file; else one ``ModelError`` line naming it."""
    try:
        size = file.stat().st_size
        with open(file, "rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                raise _damaged(file, f"{size} bytes, too short for a safetensors header")
            (length,) = struct.unpack("<Q", head)
            if length > MAX_HEADER or 8 + length > size:
                raise _damaged(file, f"{size} bytes, its header claims {length:,}")
            header_bytes = handle.read(length)
    except OSError as exc:
        raise ModelError(f"{file}: cannot read ({exc.strerror or exc})") from None
    try:
        header = parse_json(header_bytes.decode("utf-8"), file, ModelError)
    except (UnicodeDecodeError, CptbenchError):
        raise _damaged(file, "its header is not JSON") from None
    if not isinstance(header, dict):
        raise _damaged(file, "its header is not a JSON object")
    ends = [entry.get("data_offsets", [0, 0])[1] for key, entry in header.items()
            if key != "__metadata__" and isinstance(entry, dict) and isinstance(entry.get("data_offsets"), list)
            and len(entry["data_offsets"]) == 2]
    expected = 8 + length + max(ends, default=0)
    if size != expected:
        raise _damaged(file, f"{size:,} bytes where its header needs {expected:,}")


def _damaged(file: Path, why: str) -> ModelError:
    return ModelError(f"{file}: damaged weights ({why}); a run's checkpoint cut short is trained again with --force")

"""Fingerprints: of files (weights, data), of configs, of directories. Used for provenance and cache keys."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import orjson

CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def files_sha256(paths: list[Path]) -> str:
    """One digest over several files, by name and content, independent of order given."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(path.name.encode())
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def json_sha256(obj: Any) -> str:
    return hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)).hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def data_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """Provenance of an input file: name, size, sha256 (or a note for stdin)."""
    if str(path) == "-":
        return {"path": "-", "sha256": None, "note": "stdin (not resumable, not fingerprinted)"}
    path = Path(path)
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": file_sha256(path)}

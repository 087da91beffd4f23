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


def content_digest(path: str | os.PathLike, algorithm: str | None = None) -> str:
    """A fast checksum of a file's bytes, as "ALGORITHM:HEX": catches any change of content, same-size
    ones included (the caches store it and check it before use). xxh3-128 where xxhash is installed
    (a dependency of `datasets`, so normally always), else blake2b; a digest names its algorithm, so
    it is checked with the one that made it."""
    algorithm = algorithm or _DIGEST
    if algorithm == "xxh3_128":
        import xxhash

        digest = xxhash.xxh3_128()
    elif algorithm == "blake2b":
        digest = hashlib.blake2b(digest_size=16)
    else:
        raise ValueError(f"unknown digest algorithm {algorithm!r}")
    import mmap

    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size:  # mapped, not read: no copy through Python (an empty file cannot be)
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                digest.update(mapped)
    return f"{algorithm}:{digest.hexdigest()}"


def digest_matches(path: str | os.PathLike, expected: Any) -> bool:
    """Whether `path` still has the content `content_digest` recorded as `expected`."""
    if not isinstance(expected, str) or ":" not in expected:
        return False
    try:
        return content_digest(path, expected.split(":", 1)[0]) == expected
    except ValueError:
        return False


def _fast_algorithm() -> str:
    try:
        import xxhash  # noqa: F401
    except ImportError:
        return "blake2b"
    return "xxh3_128"


_DIGEST = _fast_algorithm()


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

"""JSON Lines in and out, with errors that name file and line.

Reading is strict and byte-exact about line numbers: a BOM is dropped, CRLF is accepted, blank lines
are skipped but still counted, invalid UTF-8 and invalid JSON are reported as `FILE:LINE: …`.
Parsing happens inside the try block that knows the line number (a classic pitfall otherwise).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from stilt_cli.core import atomic
from stilt_cli.core.errors import DataError

MAX_LINE_BYTES = 64 * 1024 * 1024  # a single record larger than this is certainly a broken file


def _open_binary(source: str | os.PathLike | IO[bytes]) -> tuple[IO[bytes], str, bool]:
    if isinstance(source, (str, os.PathLike)):
        name = str(source)
        if name == "-":
            return sys.stdin.buffer, "<stdin>", False
        path = Path(name)
        if not path.exists():
            raise DataError(f"{name}: no such file", "check the path")
        if path.is_dir():
            raise DataError(f"{name}: is a directory, expected a JSONL file")
        try:
            return open(path, "rb"), name, True
        except OSError as exc:
            raise DataError(f"{name}: cannot read ({exc.strerror})") from None
    return source, getattr(source, "name", "<stream>"), False


def iter_lines(source: str | os.PathLike | IO[bytes]) -> Iterator[tuple[int, str]]:
    """Yield (line number, decoded line) for every non-blank line."""
    handle, name, close = _open_binary(source)
    try:
        for number, raw in enumerate(handle, start=1):
            if len(raw) > MAX_LINE_BYTES:
                raise DataError(f"{name}:{number}: line longer than {MAX_LINE_BYTES} bytes", "is this a JSONL file?")
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{name}:{number}: not valid UTF-8 (byte {exc.start})", "re-encode the file as UTF-8"
                ) from None
            line = line.rstrip("\r\n")
            if line.strip():
                yield number, line
    finally:
        if close:
            handle.close()


def read_jsonl(source: str | os.PathLike | IO[bytes], expect: str = "object") -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object); every line must be a JSON object."""
    name = str(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "name", "<stream>")
    if name == "-":
        name = "<stdin>"
    for number, line in iter_lines(source):
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise DataError(f"{name}:{number}: invalid JSON ({exc.msg})", f"each line must be one JSON {expect}") from None
        if not isinstance(obj, dict):
            raise DataError(f"{name}:{number}: expected a JSON object, got {type(obj).__name__}")
        yield number, obj


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def write_jsonl(path: str | os.PathLike | None, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows to `path` atomically, or to stdout when `path` is None or '-'. Returns the count."""
    if path is None or str(path) == "-":
        out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
        count = 0
        for row in rows:
            line = dumps(row) + b"\n"
            if out is not None:
                out.write(line)
            else:  # CliRunner and other text-only stdouts
                sys.stdout.write(line.decode("utf-8"))
            count += 1
        sys.stdout.flush()
        return count
    buffer = io.BytesIO()
    count = 0
    for row in rows:
        buffer.write(dumps(row))
        buffer.write(b"\n")
        count += 1
    atomic.write_bytes(path, buffer.getvalue())
    return count

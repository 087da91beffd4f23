"""What every reader shares: decoded lines with their numbers, TSV/CSV/JSON loading, one-line errors.

All readers accept UTF-8 with or without a BOM, LF or CRLF line ends, and empty trailing lines. An
error names `file:line`, what was found and what the format expects.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from stilt_cli.core.errors import DataError

Example = dict[str, Any]
Located = tuple[str, Example]  # ("file:line", canonical example)


def _decode(raw: bytes, name: str, number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}:{number}: not valid UTF-8 (byte {exc.start})", "re-encode the file as UTF-8") from None


def read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def lines(path: Path, data: bytes | None = None) -> Iterator[tuple[int, str]]:
    """(line number, text without its line end) for every line, blank ones included."""
    blob = read_bytes(path) if data is None else data
    if blob.startswith(b"\xef\xbb\xbf"):
        blob = blob[3:]
    pieces = blob.split(b"\n")
    last = len(pieces)
    for number, raw in enumerate(pieces, start=1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        text = _decode(raw, str(path), number)
        if text or number < last:  # the empty piece after a final newline is not a line
            yield number, text


def text(path: Path) -> str:
    blob = read_bytes(path)
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = blob[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8", "re-encode the file as UTF-8") from None


def load_json(path: Path, expect: str) -> Any:
    """A whole-file JSON document; a JSONL file or garbage is reported as the wrong format."""
    blob = read_bytes(path)
    try:
        return orjson.loads(blob)
    except orjson.JSONDecodeError as exc:
        line = blob[: getattr(exc, "pos", 0) or 0].count(b"\n") + 1
        hint = "this looks like JSON Lines" if blob.lstrip().startswith(b"{") and b"}\n{" in blob else None
        raise DataError(f"{path}:{line}: not a {expect} JSON file ({exc.msg})", hint) from None


def jsonl(path: Path, expect: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSON Lines file."""
    for number, line in lines(path):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: invalid JSON ({exc.msg})",
                            f"expected one {expect} JSON object per line") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}",
                            f"expected one {expect} JSON object per line")
        yield number, obj


def csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number where the row starts, row by header name) of a quoted CSV file with a header."""
    # a CRLF file's quoted multi-line fields carry CRLF too: one line end inside fields, as elsewhere
    reader = csv.reader(io.StringIO(text(path).replace("\r\n", "\n"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise DataError(f"{path}:1: not a CSV file ({exc})") from None
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{path}:{start}: malformed CSV row ({exc})") from None
        if row:
            if len(row) != len(header):
                raise DataError(f"{path}:{start}: {len(row)} fields, the header has {len(header)}",
                                f"expected fields: {', '.join(header)}")
            yield start, dict(zip(header, row))
        start = reader.line_num + 1


def headed_tsv(path: Path, expected: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """(header names, rows) of a tab-separated file whose first non-blank line names the columns;
    every row must have the header's width."""
    numbered = ((n, line) for n, line in lines(path) if line.strip())
    first = next(numbered, None)
    header = [name.strip() for name in first[1].split("\t")] if first else []

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, line in numbered:
            fields = line.split("\t")
            if len(fields) != len(header):
                raise DataError(f"{path}:{number}: {len(fields)} fields, the header has {len(header)}",
                                f"expected {expected}")
            yield number, fields

    return header, rows()


def field(obj: dict[str, Any], names: tuple[str, ...], where: str, expected: str) -> Any:
    """The first of `names` present in `obj`, or a one-line error listing what the format expects."""
    for name in names:
        if name in obj:
            return obj[name]
    raise DataError(f"{where}: missing field '{names[0]}'", f"expected {expected}")


def wrong_format(path: Path, expected: str, found: str) -> DataError:
    return DataError(f"{path}: not a {expected} file ({found})", f"expected {expected}")


class Context:
    """What a reader knows about the file it reads: the task, split and the language it was found for."""

    def __init__(self, spec: Any, split: str, lang: str | None):
        self.spec = spec
        self.split = split
        self.lang = lang  # the language (or MLQA 'context-question' pair) the file was looked up for
        self.count = 0  # shared by all files read for this language, so made-up ids never repeat

    def next_id(self) -> str:
        """An id for an example its file does not name: `<split>-<lang>-<n>`, n counting from 1."""
        self.count += 1
        return f"{self.split}-{self.lang or 'en'}-{self.count}"


def clean(value: Any) -> str:
    """Sentence text as XTREME writes it: surrounding whitespace stripped."""
    return str(value).strip()

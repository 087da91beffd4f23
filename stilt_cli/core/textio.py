"""Text files in and out: the one reader of UTF-8 text, and JSON Lines both ways.

Every text stilt reads — JSONL, original-format data files, submission files, `--mlm-data` — goes
through `lines()` or `text()`: UTF-8 with or without a BOM, LF or CRLF line ends, and errors that name
`FILE:LINE` (invalid UTF-8, a line too long to be a record, a file that cannot be read). Line numbers
are byte-exact: blank lines count even where a caller skips them. JSON is parsed inside the loop that
knows the line number (a classic pitfall otherwise).
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from stilt_cli.core import atomic
from stilt_cli.core.errors import DataError, UsageError

MAX_LINE_BYTES = 64 * 1024 * 1024  # a single line larger than this is certainly a broken file
BOM = b"\xef\xbb\xbf"


def source_name(source: str | os.PathLike | IO[bytes]) -> str:
    if isinstance(source, (str, os.PathLike)):
        return "<stdin>" if str(source) == "-" else str(source)
    return getattr(source, "name", "<stream>")


def _open_binary(source: str | os.PathLike | IO[bytes]) -> tuple[IO[bytes], str, bool]:
    """(binary handle, name for messages, whether to close it): a path, '-' for stdin, or a stream."""
    if isinstance(source, (str, os.PathLike)):
        name = str(source)
        if name == "-":
            return sys.stdin.buffer, "<stdin>", False
        path = Path(name)
        if not path.exists():
            raise DataError(f"{name}: no such file", "check the path")
        if path.is_dir():
            raise DataError(f"{name}: is a directory, expected a file")
        try:
            return open(path, "rb"), name, True
        except OSError as exc:
            raise DataError(f"{name}: cannot read ({exc.strerror or exc})") from None
    return source, source_name(source), False


def decode(raw: bytes, name: str, number: int) -> str:
    """One line's bytes as text, or a one-line error naming `name:number`."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}:{number}: not valid UTF-8 (byte {exc.start})", "re-encode the file as UTF-8") from None


def lines(source: str | os.PathLike | IO[bytes], *, blank: bool = True,
          name: str | None = None) -> Iterator[tuple[int, str]]:
    """(line number, text without its line end) for every line, streamed; blank lines only with `blank`.
    `name` replaces the source's name in messages (e.g. a file inside an archive).

    Lines split on "\\n" alone (str.splitlines() would also split on U+2028 and shift alignments); the
    empty piece after a final newline is not a line."""
    handle, found, close = _open_binary(source)
    name = name or found
    try:
        for number, raw in enumerate(handle, start=1):
            if len(raw) > MAX_LINE_BYTES:
                raise DataError(f"{name}:{number}: line longer than {MAX_LINE_BYTES} bytes", "is this a text file?")
            if number == 1 and raw.startswith(BOM):
                raw = raw[3:]
            line = decode(raw, name, number).rstrip("\n")
            if line.endswith("\r"):
                line = line[:-1]
            if blank or line.strip():
                yield number, line
    finally:
        if close:
            handle.close()


def read_bytes(path: str | os.PathLike) -> bytes:
    """A whole file's bytes, BOM dropped."""
    handle, _, _ = _open_binary(Path(path))
    with handle:
        try:
            data = handle.read()
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return data[3:] if data.startswith(BOM) else data


def text(path: str | os.PathLike) -> str:
    """A whole file as text; invalid UTF-8 is reported with its line."""
    blob = read_bytes(path)
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = blob[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 (byte {exc.start})", "re-encode the file as UTF-8") from None


def load_json(path: str | os.PathLike, expect: str) -> Any:
    """A whole-file JSON document; a JSONL file or garbage is reported as the wrong format."""
    blob = read_bytes(path)
    try:
        return orjson.loads(blob)
    except orjson.JSONDecodeError as exc:
        line = blob[: getattr(exc, "pos", 0) or 0].count(b"\n") + 1
        hint = "this looks like JSON Lines" if blob.lstrip().startswith(b"{") and b"}\n{" in blob else None
        raise DataError(f"{path}:{line}: not a {expect} JSON file ({exc.msg})", hint) from None


def read_jsonl(source: str | os.PathLike | IO[bytes], expect: str = "object",
               hint: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; every line must be a JSON object.

    `expect` names what a line holds in the messages; `hint` replaces the default hint."""
    name = source_name(source)
    hint = hint or f"each line must be one JSON {expect}"
    for number, line in lines(source, blank=False):
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise DataError(f"{name}:{number}: invalid JSON ({exc.msg})", hint) from None
        if not isinstance(obj, dict):
            raise DataError(f"{name}:{number}: expected a JSON object, got {type(obj).__name__}", hint)
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


# ---- settings files (--config, STILT_TASKS) ---------------------------------------------------------
def _toml():
    """The TOML parser: the standard library's from Python 3.11, the `tomli` package before."""
    try:
        import tomllib
    except ModuleNotFoundError:
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise UsageError("--config FILE.toml needs the tomli package on Python < 3.11",
                             "pip install tomli, or give the config as JSON") from None
    return tomllib


def read_settings(path: Path, what: str = "--config") -> dict[str, Any]:
    """A config file: JSON (`.json`) or TOML (anything else that parses as TOML). Its problems are usage
    errors (exit 2) naming `what` (the option or variable that named the file)."""
    try:
        content = text(path)
    except DataError as exc:
        raise UsageError(f"{what} {exc.message}", exc.hint) from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(content)
        else:
            data = _toml().loads(content)
    except ValueError as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise UsageError(f"{what} {path}: not valid {kind} ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{what} {path}: expected a table of settings at the top level")
    return {k.replace("-", "_"): v for k, v in data.items()}

"""What every reader shares beyond `core/textio.py`'s text reader: CSV and headed-TSV rows, required
fields, the reader's context (task, split, language, made-up ids), one-line errors.

All readers accept UTF-8 with or without a BOM, LF or CRLF line ends, and empty trailing lines (the
text reader's rules). An error names `file:line`, what was found and what the format expects.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stilt_cli.core.errors import DataError
from stilt_cli.core.textio import lines, text

Example = dict[str, Any]
Located = tuple[str, Example]  # ("file:line", canonical example)


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

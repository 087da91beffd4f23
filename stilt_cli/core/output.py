"""Writing rows to stdout or a file: JSONL by default, a rich table for people (`--format table`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from stilt_cli.core.errors import UsageError
from stilt_cli.core.jsonl import write_jsonl

FORMATS = ("jsonl", "table")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return "" if value is None else str(value)


def table(rows: list[dict[str, Any]], columns: list[str] | None = None, title: str | None = None) -> str:
    from rich.console import Console
    from rich.table import Table

    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    from rich.markup import escape

    grid = Table(title=None if title is None else escape(title), show_lines=False)
    for column in columns:
        grid.add_column(escape(column))
    for row in rows:  # cells are data: "[0.1, 0.3]" must not be read as rich markup
        grid.add_row(*(escape(_cell(row.get(c))) for c in columns))
    # as wide as the content needs: a table on stdout is data, and an ellipsis would lose part of it
    with open(os.devnull, "w") as sink:
        console = Console(record=True, width=100_000, file=sink)
        console.print(grid)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines()) + "\n"


def emit(rows: Iterable[dict[str, Any]], fmt: str = "jsonl", output: str | os.PathLike | None = None,
         columns: list[str] | None = None) -> int:
    """Rows as JSONL (stdout or atomic file) or as a table (stdout, or file)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format '{fmt}'", f"use one of {', '.join(FORMATS)}")
    rows = list(rows)
    if fmt == "jsonl":
        return write_jsonl(output, rows)
    text = table(rows, columns)
    if output is None or str(output) == "-":
        import sys

        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        from stilt_cli.core import atomic

        atomic.write_text(output, text)
    return len(rows)

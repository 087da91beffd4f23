"""The terminal's two streams: what a human reads goes to stderr, data goes to stdout.

stderr: log lines, warnings and rich progress bars. `set_quiet(True)` silences progress and info lines;
warnings and errors are always shown. stdout is reserved for data: `emit()` writes rows as JSONL
(stdout or an atomic file) or, with `--format table`, as a rich table as wide as its content.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any

_state = {"quiet": False}
_console = None


def set_quiet(quiet: bool) -> None:
    _state["quiet"] = bool(quiet) or os.environ.get("STILT_QUIET") == "1"


def is_quiet() -> bool:
    return _state["quiet"] or os.environ.get("STILT_QUIET") == "1"


def err_console():
    """The rich console on stderr (created lazily so that `--help` stays fast)."""
    global _console
    if _console is None or _console.file is not sys.stderr:
        from rich.console import Console

        _console = Console(stderr=True, highlight=False, soft_wrap=True)
    return _console


def info(message: str) -> None:
    if not is_quiet():
        err_console().print(message, markup=False)


def warn(message: str) -> None:
    err_console().print(f"warning: {message}", markup=False, style="yellow")


def error_line(message: str) -> None:
    # plain write: must work even if rich is broken or the terminal is odd
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


@contextmanager
def progress(description: str, total: int | None = None, unit: str = "it"):
    """A rich progress bar on stderr; yields `advance(n=1, **fields)`. No-op when quiet."""
    if is_quiet() or not sys.stderr.isatty() and os.environ.get("STILT_PROGRESS") != "1":
        # non-interactive: one line at start and end instead of a redrawn bar
        if not is_quiet():
            info(f"{description} …")

        def advance(n: int = 1, **fields: Any) -> None:
            return None

        yield advance
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err_console(), transient=False) as bar:
        task = bar.add_task(description, total=total, status="")

        def advance(n: int = 1, **fields: Any) -> None:
            status = " ".join(f"{k}={v}" for k, v in fields.items())
            bar.update(task, advance=n, status=status)

        yield advance


# ---- data on stdout ------------------------------------------------------------------------------

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


def put(text: str, output: str | os.PathLike | None = None) -> None:
    """A rendered document (table, LaTeX, HTML, model card) to stdout, or atomically to `output`."""
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        from stilt_cli.core import atomic

        atomic.write_text(output, text)


def emit(rows: Iterable[dict[str, Any]], fmt: str = "jsonl", output: str | os.PathLike | None = None,
         columns: list[str] | None = None) -> int:
    """Rows as JSONL (stdout or atomic file) or as a table (stdout, or file)."""
    from stilt_cli.core.errors import UsageError
    from stilt_cli.core.textio import write_jsonl

    if fmt not in FORMATS:
        raise UsageError(f"unknown --format '{fmt}'", f"use one of {', '.join(FORMATS)}")
    rows = list(rows)
    if fmt == "jsonl":
        return write_jsonl(output, rows)
    put(table(rows, columns), output)
    return len(rows)

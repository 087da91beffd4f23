"""Everything a human reads goes to stderr: log lines, warnings and rich progress bars.

stdout is reserved for data (JSONL records, tables asked for with --format). `set_quiet(True)`
silences progress and info lines; warnings and errors are always shown.
"""

from __future__ import annotations

import os
import sys
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

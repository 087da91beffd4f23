"""`stilt status RUN_DIR...`: which checkpoints below some folders are complete, resumable, failed or running."""

from __future__ import annotations

from typing import Annotated

import typer

from stilt_cli.commands._common import Output, Quiet, TableFormat, guard, setup


def command(
    folders: Annotated[list[str], typer.Argument(help="Run folders to search (recursively) for checkpoints.")],
    fmt: TableFormat = "table",
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """Every checkpoint below the folders with its state — running (locked by a live run), complete,
    failed (its error line and exit code), resumable at step k of n, or incomplete — and the result
    files that name it. Table for people, --format jsonl for pipes."""
    setup(quiet)
    with guard():
        from stilt_cli.core.console import emit
        from stilt_cli.core.runstatus import status, table_rows

        rows = status(list(folders))
        if fmt == "table":
            emit(table_rows(rows), "table", output)
        else:
            emit(rows, "jsonl", output)

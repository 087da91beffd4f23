"""What every command shares: option declarations with one spelling, and the error boundary.

Commands only parse options, build a config and call one core function inside `guard()`, which turns
every expected failure (`StiltError`) into one stderr line and its documented exit code.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from stilt_cli.core.errors import EXIT_SIGINT, StiltError

# ---- shared option spellings (per command, so they may follow the subcommand) -----------------
Output = Annotated[Path | None, typer.Option("-o", "--output", help="Output file or directory ('-' or omitted: stdout where that makes sense).")]
OutputDir = Annotated[Path, typer.Option("-o", "--output", help="Output checkpoint directory (written atomically).")]
Langs = Annotated[str | None, typer.Option("--langs", help="Comma list of ISO 639-1 codes, or 'all'.")]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Folder with the task's files in their original release format.")]
DataFiles = Annotated[list[str] | None, typer.Option("--data", help="Canonical examples JSONL (FILE, '-' for stdin, or TASK=FILE; repeatable).")]
Format = Annotated[str, typer.Option("--format", help="Output format: jsonl (default) or table.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or info lines on stderr.")]
IfExists = Annotated[str, typer.Option("--if-exists", help="When the output exists: error, skip (same config only) or overwrite.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed.")]
Plot = Annotated[Path | None, typer.Option("--plot", help="Write PNG plots into this directory.")]


def setup(quiet: bool = False) -> None:
    from stilt_cli.core.console import set_quiet

    set_quiet(quiet)


def _output_to_lock() -> str | None:
    """The running command's `-o/--output` (file, prefix or folder), unless it is stdout. Under
    torchrun only rank 0 writes, so only rank 0 locks."""
    try:  # typer vendors click (typer._click) in recent releases; older ones use click itself
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - depends on the installed typer
        from click import get_current_context

    # the parsed options of the command being run: every command's output is `output` (-o)
    ctx = get_current_context(silent=True)
    value = ctx.params.get("output") if ctx is not None else None
    if value is None or str(value) == "-" or os.environ.get("RANK", "0") not in ("", "0"):
        return None
    return str(value)


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Expected failures -> one line on stderr + documented exit code; never a traceback.

    The command's `-o` output is locked for the whole run, so a second run given the same output
    (`make -j`, a resubmitted job) is refused at once instead of racing this one."""
    from stilt_cli.core.console import error_line

    try:
        with contextlib.ExitStack() as stack:
            output = _output_to_lock()
            if output is not None:
                from stilt_cli.core.atomic import output_lock

                stack.enter_context(output_lock(output))
            yield
    except StiltError as exc:
        error_line(exc.one_line())
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        # Ctrl-C (or SIGTERM, see cli.main) with nothing resumable to keep: every write in flight went
        # to a temporary name or an OUT.partial/ folder, removed on the way out
        error_line("interrupted before completion; unfinished outputs were discarded")
        raise typer.Exit(EXIT_SIGINT) from None
    except BrokenPipeError:
        # downstream closed the pipe (e.g. `| head`): not an error of ours
        with contextlib.suppress(Exception):
            sys.stdout = open("/dev/null", "w")  # noqa: SIM115
        raise typer.Exit(0) from None

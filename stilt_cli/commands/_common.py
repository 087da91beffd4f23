"""What every command shares: option declarations with one spelling, choice checks that run while the
options are parsed, option groups, and the error boundary.

Commands only parse options, build a config and call one core function inside `guard()`, which turns
every expected failure (`StiltError`) into one stderr line and its documented exit code. A value that
cannot be right (`--format bogus`, an unknown task or language) is refused by the option's callback,
before the command body runs: no checkpoint, data file or heavy library is touched first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import inspect
import os
import sys
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from stilt_cli.core.errors import EXIT_SIGINT, StiltError, UsageError


# ---- refusing a value while options are parsed --------------------------------------------------
def refuse(exc: StiltError) -> typer.Exit:
    """Print an expected failure as its one line; the caller raises the returned Exit."""
    from stilt_cli.core.console import error_line

    error_line(exc.one_line())
    return typer.Exit(exc.exit_code)


def _resolve(source: tuple[str, ...] | str) -> tuple[str, ...]:
    """Choices given inline, or as 'module:ATTR' imported only when a value is checked (start-up stays light)."""
    if isinstance(source, str):
        module, _, attr = source.partition(":")
        return tuple(getattr(importlib.import_module(module), attr))
    return tuple(source)


def _given(ctx: typer.Context, param: typer.CallbackParam) -> bool:
    """Whether the user gave the value (a default is trusted, and checking it would import for nothing)."""
    source = ctx.get_parameter_source(param.name)
    return source is None or source.name != "DEFAULT"


def one_of(source: tuple[str, ...] | str) -> Callable[..., Any]:
    """Callback: the option's value (each value, for a repeatable option) must be one of the choices."""
    from stilt_cli.core.errors import did_you_mean

    def check(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if not _given(ctx, param):
            return value
        choices = _resolve(source)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is not None and item not in choices:
                option = max(param.opts, key=len)
                raise refuse(UsageError(did_you_mean(str(item), choices, option), f"use one of {', '.join(choices)}"))
        return value

    return check


def checked_by(check: Callable[[Any], Any]) -> Callable[..., Any]:
    """Callback: `check(value)` (a light core function raising StiltError) runs while options are parsed."""

    def callback(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if value is None or not _given(ctx, param):
            return value
        try:
            check(value)
        except StiltError as exc:
            raise refuse(exc) from None
        return value

    return callback


def _known_tasks(value: str) -> None:
    from stilt_cli.core import tasks
    from stilt_cli.core.errors import comma_list

    for name in comma_list(value, "--task", empty_ok=True, all_word=None) or []:
        tasks.get(name)


def known_langs(option: str = "--langs") -> Callable[..., Any]:
    """Callback: every language code of a comma list (or MLQA pair) is in stilt's language table."""

    def check(value: str) -> None:
        from stilt_cli.core.tasks import langs

        langs.check_codes(value, option)

    return checked_by(check)


known_tasks = checked_by(_known_tasks)


# ---- shared option spellings (per command, so they may follow the subcommand) -----------------
Output = Annotated[Path | None, typer.Option("-o", "--output", help="Output file or directory ('-' or omitted: stdout "
                                                                    "where that makes sense).")]
OutputDir = Annotated[Path, typer.Option("-o", "--output", help="Output checkpoint directory (written atomically).")]
Langs = Annotated[str | None, typer.Option("--langs", help="Comma list of ISO 639-1 codes, or 'all'.",
                                           callback=known_langs())]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Folder with the task's files in their original "
                                                                 "release format.")]
DataFiles = Annotated[list[str] | None, typer.Option("--data", help="Canonical examples JSONL (FILE, '-' for stdin, or "
                                                                    "TASK=FILE; repeatable).")]
Format = Annotated[str, typer.Option("--format", help="Output format: jsonl (default) or table.",
                                     callback=one_of("stilt_cli.core.console:FORMATS"))]
TableFormat = Annotated[str, typer.Option("--format", help="Output format: table (default, for people) or jsonl "
                                                           "(for pipes).",
                                          callback=one_of("stilt_cli.core.console:FORMATS"))]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or info lines on stderr.")]
IfExists = Annotated[str, typer.Option("--if-exists", help="When the output exists: error, skip (same config only) "
                                                           "or overwrite.",
                                       callback=one_of("stilt_cli.core.atomic:IF_EXISTS"))]
Seed = Annotated[int, typer.Option("--seed", help="Random seed.")]
Plot = Annotated[Path | None, typer.Option("--plot", help="Write PNG plots into this directory.")]
Device = Annotated[str | None, typer.Option("--device", help="cpu, cuda, cuda:N or mps (default: the best available).",
                                            callback=checked_by(lambda v: _device().check_name(v)))]
Revision = Annotated[str | None, typer.Option("--revision", help="Hub revision (branch, tag or commit) of a "
                                                                 "hub-id model.")]
XtremeVersion = Annotated[str, typer.Option("--xtreme-version", help="Benchmark whose tasks, languages and aggregation "
                                                                     "to use: xtreme or xtreme-r.",
                                            callback=one_of("stilt_cli.core.tasks.benchmarks:VERSIONS"))]


def _device():
    from stilt_cli.core import device

    return device


# ---- option groups: one definition, several commands --------------------------------------------
def group_fields(group: type) -> list[inspect.Parameter]:
    """A dataclass of Annotated typer options -> the keyword parameters a command gets for it."""
    hints = typing.get_type_hints(group, include_extras=True)
    return [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=hints[f.name], default=f.default)
            for f in dataclasses.fields(group)]


def with_groups(func: Callable[..., Any]) -> Callable[..., Any]:
    """A command whose parameters include option groups (dataclasses of typer options): typer sees each
    group's options one by one; the command receives the group as one object."""
    signature = inspect.signature(func, eval_str=True)
    groups = {name: p.annotation for name, p in signature.parameters.items() if dataclasses.is_dataclass(p.annotation)}
    # each group's options take the group's place; typer passes everything by keyword
    params = [q.replace(kind=inspect.Parameter.KEYWORD_ONLY) for name, p in signature.parameters.items()
              for q in (group_fields(groups[name]) if name in groups else [p])]
    names = [p.name for p in params]
    if len(names) != len(set(names)):
        raise RuntimeError(f"{func.__name__}: an option group repeats a parameter name")

    @functools.wraps(func)
    def command(**values: Any) -> Any:
        for name, group in groups.items():
            values[name] = group(**{f.name: values.pop(f.name) for f in dataclasses.fields(group)})
        return func(**values)

    del command.__wrapped__  # typer must read the expanded signature, not the original one
    command.__signature__ = signature.replace(parameters=params)
    # resolved objects, not the strings of `from __future__ import annotations` (typer evaluates these in
    # this module, where the command's names are unknown)
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


# ---- the error boundary -------------------------------------------------------------------------
def setup(quiet: bool = False) -> None:
    from stilt_cli.core.console import set_quiet

    set_quiet(quiet)


def _lockable(output: str | os.PathLike | None) -> str | None:
    """The command's `-o` (file, prefix or folder), unless it is stdout. Under torchrun only rank 0
    writes, so only rank 0 locks."""
    if output is None or str(output) == "-" or os.environ.get("RANK", "0") not in ("", "0"):
        return None
    return str(output)


@contextlib.contextmanager
def guard(output: str | os.PathLike | None = None) -> Iterator[None]:
    """Expected failures -> one line on stderr + documented exit code; never a traceback.

    The command's `-o` output is locked for the whole run, so a second run given the same output
    (`make -j`, a resubmitted job) is refused at once instead of racing this one."""
    from stilt_cli.core.console import error_line

    try:
        with contextlib.ExitStack() as stack:
            lockable = _lockable(output)
            if lockable is not None:
                from stilt_cli.core.atomic import output_lock

                stack.enter_context(output_lock(lockable))
            yield
    except StiltError as exc:
        error_line(exc.one_line())
        if exc.exit_code == 1:  # a stage's failure is kept for `stilt status` (core/failures.py); a refusal (2) is not
            _failures().record(_lockable(output), f"error: {exc.one_line()}", exc.exit_code, _stage())
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        from stilt_cli.core.atomic import committed

        if output is not None and committed(output):  # the signal came after the output was complete
            from stilt_cli.core.console import info

            info(f"interrupted after {output} was complete; nothing was lost")
            raise typer.Exit(0) from None
        # Ctrl-C (or SIGTERM, see cli.main) with nothing resumable to keep: every write in flight went
        # to a temporary name or an OUT.partial/ folder, removed on the way out
        error_line("interrupted before completion; unfinished outputs were discarded")
        raise typer.Exit(EXIT_SIGINT) from None
    except BrokenPipeError:
        # downstream closed the pipe (e.g. `| head`): not an error of ours
        with contextlib.suppress(Exception):
            sys.stdout = open("/dev/null", "w")  # noqa: SIM115
        raise typer.Exit(0) from None
    except Exception as exc:  # unexpected: the traceback stays; the failure is recorded first
        if isinstance(exc, (typer.Exit, typer.Abort)):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        _failures().record(_lockable(output), f"error: {type(exc).__name__}: {first}".rstrip(": "), 1, _stage())
        raise
    finally:
        _failures().forget(_lockable(output))


def _stage() -> str | None:
    """The command whose `with guard()` is unwinding (`target`, `pretrain-load`), for the failure record:
    the nearest caller frame in a command module."""
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("stilt_cli.commands.") and not module.endswith("._common"):
            return module.rsplit(".", 1)[1].replace("_", "-")
        frame = frame.f_back
    return None


def _failures():
    from stilt_cli.core import failures

    return failures

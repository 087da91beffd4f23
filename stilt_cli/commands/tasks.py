"""`stilt tasks` lists the task registry; `stilt tasks show NAME` prints one spec."""

from __future__ import annotations

from typing import Annotated

import typer

from stilt_cli.commands._common import Format, Quiet, checked_by, guard, one_of, setup

app = typer.Typer(help="The task registry: every XTREME / XTREME-R target task and intermediate task, as data.",
                  invoke_without_command=True, no_args_is_help=False, add_completion=False,
                  rich_markup_mode=None)

Role = Annotated[str | None, typer.Option("--role", callback=one_of("stilt_cli.core.tasks.spec:ROLES"),
                                          help="Only tasks of this role: target, intermediate or demo.")]
Benchmark = Annotated[str | None, typer.Option("--benchmark",
                                               callback=one_of("stilt_cli.core.tasks.benchmarks:VERSIONS"),
                                               help="Only tasks of this benchmark: xtreme or xtreme-r.")]


@app.callback(invoke_without_command=True)
def list_tasks(ctx: typer.Context, role: Role = None, benchmark: Benchmark = None, fmt: Format = "jsonl",
               quiet: Quiet = False) -> None:
    """List every task with its type, languages and metric (JSONL; --format table for people)."""
    if ctx.invoked_subcommand is not None:
        return
    setup(quiet)
    with guard():
        from stilt_cli.core import tasks
        from stilt_cli.core.console import emit
        from stilt_cli.core.tasks.describe import summary

        specs = list(tasks.registry().values())
        rows = [summary(s) for s in specs if (role is None or s.role == role)
                and (benchmark is None or benchmark in s.benchmarks)]
        columns = ["name", "type", "role", "n_languages", "main_metric", "benchmarks", "supported"] \
            if fmt == "table" else None
        emit(rows, fmt, None, columns=columns)


def _task(value: str) -> None:
    from stilt_cli.core import tasks

    tasks.get(value)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(callback=checked_by(_task), help="Task name (or alias, e.g. paws-x, "
                                                                         "wikiann, squad).")],
    fmt: Format = "jsonl",
    quiet: Quiet = False,
) -> None:
    """Print one task's full spec: languages with ISO 639-3 / LASER / Hub codes, splits, files, presets."""
    setup(quiet)
    with guard():
        from stilt_cli.core import tasks
        from stilt_cli.core.console import emit
        from stilt_cli.core.tasks.describe import full

        spec = tasks.get(name)
        if fmt == "table":
            emit(full(spec)["language_codes"], fmt, None)
        else:
            emit([full(spec)], fmt, None)

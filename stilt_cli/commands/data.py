"""`stilt data export | check | fetch | demo`: get a task's examples, see what is on disk, fill an
offline cache, build the offline demo tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stilt_cli.commands import data_demo
from stilt_cli.commands._common import (
    DataDir,
    Format,
    Langs,
    Output,
    Quiet,
    checked_by,
    guard,
    known_tasks,
    setup,
)

app = typer.Typer(help="Task data: export canonical examples, check local files, fetch for offline use, demo tasks.",
                  no_args_is_help=True, add_completion=False, rich_markup_mode=None)

Split = Annotated[str, typer.Option("--split", help="Split to read: train, dev or test (see `stilt tasks show`).")]
def _task_names(values: list[str]) -> None:
    from stilt_cli.core import tasks

    for name in values:
        if name != "all":
            tasks.get(name)


Tasks = Annotated[list[str], typer.Argument(callback=checked_by(_task_names),
                                            help="Task names (see `stilt tasks`), or 'all'.")]


def _codes(value: str | None) -> list[str] | None:
    """--langs as given: codes are checked against the task by the readers (an unknown one is exit 1)."""
    from stilt_cli.core.errors import comma_list

    return comma_list(value, "--langs", empty_ok=True)


def _specs(names: list[str]):
    from stilt_cli.core import tasks

    if names == ["all"]:
        return [s for s in tasks.registry().values() if s.role != "demo"]
    return [tasks.get(name) for name in names]


@app.command("export")
def export(
    task: Annotated[str, typer.Argument(callback=known_tasks, help="Task name (see `stilt tasks`).")],
    split: Split,
    langs: Langs = None,
    data_dir: DataDir = None,
    output: Output = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1,
                                              help="At most this many examples (first ones).")] = None,
    quiet: Quiet = False,
) -> None:
    """Write a task split as canonical example JSONL, each example with its language.

    From --data-dir (original release files) or, without it, the task's pinned Hub source. Any stage reads
    the output back with --data FILE.
    """
    setup(quiet)
    with guard(output):
        from stilt_cli.core import console
        from stilt_cli.core.data import sources
        from stilt_cli.core.textio import write_jsonl

        rows = sources.load_examples(task, split, _codes(langs), data_dir=data_dir, limit=limit)
        count = write_jsonl(output, rows)
        unlabelled = sum(1 for r in rows if r.get("unlabelled"))
        by_lang: dict[str, int] = {}
        for row in rows:
            by_lang[row.get("lang", "?")] = by_lang.get(row.get("lang", "?"), 0) + 1
        console.info(f"{count} examples ({', '.join(f'{k} {v}' for k, v in by_lang.items())})"
                     + (f"; {unlabelled} without gold labels" if unlabelled else "")
                     + (f" -> {output}" if output and str(output) != "-" else ""))


@app.command("check")
def check(
    tasks: Tasks,
    data_dir: DataDir = None,
    langs: Langs = None,
    split: Annotated[str | None, typer.Option("--split", help="Only this split (default: every split).")] = None,
    fmt: Format = "jsonl",
    quiet: Quiet = False,
) -> None:
    """List what is present and what is missing, with every file name looked for.

    With --data-dir: the original-format files; without: the local Hugging Face cache (what `data fetch`
    stored). Exits 1 when something is missing.
    """
    setup(quiet)
    with guard():
        from stilt_cli.core.console import emit
        from stilt_cli.core.data import sources
        from stilt_cli.core.errors import DataError

        rows = sources.check(_specs(tasks), data_dir, _codes(langs), [split] if split else None)
        columns = ["task", "split", "lang", "status", "format", "files", "looked_for"] if fmt == "table" else None
        emit(rows, fmt, None, columns=columns)
        missing = [r for r in rows if r["status"] == "missing"]
        if missing:
            raise DataError(f"{len(missing)} of {len(rows)} task/split/language files missing",
                            "the looked_for field lists the names searched for")


@app.command("fetch")
def fetch(
    tasks: Tasks,
    to: Annotated[Path, typer.Option("--to", help="Folder to store the datasets (and models) in; later set "
                                     "HF_HOME to it on the offline machine.")],
    models: Annotated[list[str] | None, typer.Option("--models", help="Model ids to store too (repeatable).")] = None,
    quiet: Quiet = False,
) -> None:
    """On a machine with network: store the pinned Hub datasets (and models) for offline use."""
    setup(quiet)
    with guard():
        from stilt_cli.core.console import emit
        from stilt_cli.core.data import hubdata

        emit(hubdata.fetch(_specs(tasks), models or [], to), "jsonl", None)


app.command("demo")(data_demo.command)

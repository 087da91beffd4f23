"""Where examples come from: a canonical JSONL (`--data`), original-format files (`--data-dir`), or the
Hugging Face Hub (pinned parquet conversions). Every path yields the same canonical examples
(see `core/examples.py`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from stilt_cli.core import examples as canonical
from stilt_cli.core import tasks
from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.tasks.spec import TaskSpec


def parse_data_option(values: list[str] | None, default_task: str | None = None) -> dict[str, str]:
    """`--data FILE` / `--data TASK=FILE` (repeatable) -> {task: path}. A bare FILE belongs to `default_task`."""
    mapping: dict[str, str] = {}
    for value in values or []:
        task, sep, path = value.partition("=")
        if sep and not Path(value).exists():
            name = tasks.get(task).name
        else:
            if default_task is None:
                raise UsageError(f"--data {value}: say which task it is for", "use --data TASK=FILE")
            name, path = default_task, value
        if name in mapping:
            raise UsageError(f"--data given twice for task {name}")
        mapping[name] = path
    return mapping


def load_examples(
    task: str | TaskSpec,
    split: str,
    langs: list[str] | None = None,
    *,
    data_file: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    limit: int | None = None,
    labels: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Canonical examples of one task split, for the given languages (None = all the source has)."""
    spec = task if isinstance(task, TaskSpec) else tasks.get(task)
    if not spec.supported:
        raise UsageError(f"task {spec.name} is not supported yet", spec.notes)
    if data_file is not None:
        rows = list(canonical.read(data_file, spec, langs, labels))
        if not rows:
            where = "stdin" if str(data_file) == "-" else str(data_file)
            raise DataError(f"{where}: no {spec.name} examples" + (f" for {','.join(langs)}" if langs else ""))
    elif data_dir is not None:
        from stilt_cli.core.readers import read_split  # original release formats

        rows = read_split(spec, split, langs, Path(data_dir))
    else:
        from stilt_cli.core.hubdata import read_split as hub_split  # pinned Hub parquet

        rows = hub_split(spec, split, langs)
    return rows[:limit] if limit is not None else rows

"""Which run a result record belongs to, and the records of each run.

A record belongs to the run named by the first of:
1. `NAME=PATH[,PATH...]` on the command line (all records read from those paths; a PATH with `*`, `?` or
   `[` is a glob stilt expands, so `'base=runs/base-s*/results.jsonl'` names every seed's file at once);
2. a `run` field in the record;
3. the checkpoint name in the record, or else the results file's stem — in both cases with a trailing
   seed marker for the record's own seed removed (`mnli-s2`, `mnli_seed2` with seed 2 -> `mnli`), so
   the seeds of one configuration form one run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stilt_cli.core import records
from stilt_cli.core.errors import DataError


# ---- reading and naming runs -----------------------------------------------------------------
def _split_arg(arg: str) -> tuple[str | None, str]:
    name, sep, path = arg.partition("=")
    if sep and name and not Path(arg).exists():
        return name, path
    return None, arg


def run_name(record: dict[str, Any], explicit: str | None = None) -> str:
    if explicit:
        return explicit
    if isinstance(record.get("run"), str) and record["run"]:
        return record["run"]
    checkpoint, name = record.get("checkpoint"), None
    if isinstance(checkpoint, dict):
        name = checkpoint.get("name") or (Path(checkpoint["path"]).name if checkpoint.get("path") else None)
    elif isinstance(checkpoint, str):
        name = Path(checkpoint).name
    name = name or Path(record.get("_source", "results")).stem
    seed = record.get("seed")
    if seed is not None:
        name = re.sub(rf"[-_.]?(?:s|seed)[-_]?{seed}$", "", name) or name
    return name


def _paths(path: str) -> list[str]:
    """PATH, or its comma-separated parts when PATH itself does not exist; globs expanded (sorted)."""
    import glob

    parts = [path] if Path(path).exists() or "," not in path else [p for p in path.split(",") if p]
    out: list[str] = []
    for part in parts:
        if any(c in part for c in "*?[") and not Path(part).exists():
            matches = sorted(glob.glob(part, recursive=True))
            if not matches:
                raise DataError(f"{part}: the pattern matches no file", "check the path, or quote it for stilt")
            out.extend(matches)
        else:
            out.append(part)
    return out


def load(results: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """(run name, record) for every record of every `[NAME=]PATH[,PATH...]` argument, in order."""
    loaded = []
    for arg in results:
        explicit, path = _split_arg(arg)
        loaded.extend((run_name(row, explicit), row) for row in records.read_many(_paths(path)))
    return loaded

"""`train_log.jsonl`: one row per optimizer step, in every checkpoint a training stage writes.

```
{"schema": "stilt.train_log/1", "step": 40, "task": "mnli", "loss": 0.6931, "lr": 1.8e-05,
 "grad_norm": 3.21, "examples": 1280, "examples_per_s": 57.3, "elapsed_s": 22.3,
 "dev": {"mnli": 0.61}, "dev_mean": 0.61}
```

`dev` and `dev_mean` appear on the steps where the English dev sets were evaluated. Rows are appended
to `OUT.partial/train_log.jsonl` as training goes (so a crashed run leaves its curve behind) and move
into the checkpoint with the rest of `OUT.partial/`. A resumed run first drops the rows after the step
it resumes from, so the finished log holds each step once. Only rank 0 writes. Values that are not
finite (an fp16 overflow's gradient norm) are written as null: JSON has no inf.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from stilt_cli.core.errors import DataError

SCHEMA = "stilt.train_log/1"
FILE = "train_log.jsonl"


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


class Writer:
    """Appends rows to a train log; `start(step)` keeps only the rows up to `step` (a resume)."""

    def __init__(self, path: Path):
        self.path = path
        self._file = None

    def start(self, step: int) -> None:
        from stilt_cli.core.textio import dumps

        kept = [row for row in _rows_so_far(self.path) if row.get("step", step + 1) <= step] if step else []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed by close(), across the whole run)
        for row in kept:
            self._file.write(dumps(row) + b"\n")
        self._file.flush()

    def log(self, row: dict[str, Any]) -> None:
        from stilt_cli.core.textio import dumps

        if self._file is None:
            return
        self._file.write(dumps({"schema": SCHEMA, **_clean(row)}) + b"\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


def _rows_so_far(path: Path) -> list[dict[str, Any]]:
    """The rows an interrupted run left, without its last line where a kill cut it short."""
    import orjson

    rows = []
    if path.is_file():
        for line in path.read_bytes().splitlines():
            try:
                rows.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                break
    return rows


def read(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of a train log (or of the checkpoint folder holding one), schema checked."""
    from stilt_cli.core.textio import read_jsonl

    path = Path(path)
    if path.is_dir():
        path = path / FILE
    if not path.is_file():
        raise DataError(f"{path} does not exist",
                        "train logs are written by `stilt intermediate` and `stilt target` (stilt 0.1 and later)")
    rows = []
    for number, row in read_jsonl(path, expect="train log row"):
        schema = str(row.get("schema", ""))
        if not schema.startswith("stilt.train_log/"):
            raise DataError(f"{path}:{number}: not a stilt train log row (schema {schema or 'missing'})")
        if schema.split("/")[1].split(".")[0] != SCHEMA.split("/")[1]:
            raise DataError(f"{path}:{number}: train log schema {schema} is not readable by this stilt",
                            "upgrade stilt")
        if not isinstance(row.get("step"), int):
            raise DataError(f"{path}:{number}: 'step' must be an integer")
        rows.append(row)
    return rows

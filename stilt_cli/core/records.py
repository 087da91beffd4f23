"""The result record: one JSONL schema for everything stilt measures.

```
{"schema": "stilt.record/1", "kind": "eval", "task": "xnli", "lang": "de", "split": "test",
 "metric": "accuracy", "value": 0.713, "n": 5010, "protocol": "xtreme-v1",
 "params": {"head": "xnli"}, "seed": 1,
 "checkpoint": {"path": "runs/xnli", "manifest_sha256": "…", "name": "xnli"},
 "model_revision": null, "dataset_revision": null, "stilt_version": "0.1.0", "created": "…"}
```

The identity of a measurement — what `summary` and `correlate` join on — is
(kind, task, lang, split, metric, params). So `params` holds only what defines the measurement (layer,
pooling, direction, protocol settings); what a run found or used along the way (a tuned BUCC threshold,
the search backend, candidate counts) goes into `details`, which no join looks at. Records from a
user's own system are accepted when they carry at least kind, task, lang, metric and value.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from stilt_cli import __version__
from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.textio import read_jsonl

SCHEMA = "stilt.record/1"
KINDS = ("eval", "retrieval", "alignment", "distance", "correlation", "regression", "bench", "summary", "effect",
         "ranking")
REQUIRED = {"kind": str, "task": str, "lang": str, "metric": str, "value": (int, float, type(None))}
OPTIONAL = {
    "schema": str,
    "split": (str, type(None)),
    "n": (int, type(None)),
    "protocol": (str, type(None)),
    "params": dict,
    "seed": (int, type(None)),
    "checkpoint": (dict, str, type(None)),
    "details": dict,
}


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def make(
    kind: str,
    task: str,
    lang: str,
    metric: str,
    value: float | None,
    *,
    split: str | None = None,
    n: int | None = None,
    protocol: str | None = None,
    params: dict[str, Any] | None = None,
    seed: int | None = None,
    checkpoint: dict[str, Any] | None = None,
    model_revision: str | None = None,
    dataset_revision: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    record = {
        "schema": SCHEMA,
        "kind": kind,
        "task": task,
        "lang": lang,
        "split": split,
        "metric": metric,
        "value": None if value is None else float(value),
        "n": n,
        "protocol": protocol,
        "params": dict(params or {}),
        "seed": seed,
        "checkpoint": checkpoint,
        "model_revision": model_revision,
        "dataset_revision": dataset_revision,
        "stilt_version": __version__,
        "created": now(),
    }
    record.update(extra)
    return record


def identity(record: dict[str, Any]) -> tuple:
    """The join key of a measurement: (kind, task, lang, split, metric, params)."""
    params = orjson.dumps(record.get("params") or {}, option=orjson.OPT_SORT_KEYS).decode()
    return (record["kind"], record["task"], record["lang"], record.get("split"), record["metric"], params)


def validate(record: dict[str, Any], where: str) -> dict[str, Any]:
    for field, types in REQUIRED.items():
        if field not in record:
            raise DataError(
                f"{where}: missing field '{field}'",
                "a result record needs kind, task, lang, metric, value (see README, 'Result records')",
            )
        if not isinstance(record[field], types) or isinstance(record[field], bool):
            raise DataError(f"{where}: field '{field}' has type {type(record[field]).__name__}, expected "
                            f"{_names(types)}")
    for field, types in OPTIONAL.items():
        if field in record and not isinstance(record[field], types):
            raise DataError(f"{where}: field '{field}' has type {type(record[field]).__name__}, expected "
                            f"{_names(types)}")
    schema = record.get("schema", SCHEMA)
    if not schema.startswith("stilt.record/"):
        raise DataError(f"{where}: schema '{schema}' is not a stilt result record")
    major = schema.split("/", 1)[1].split(".")[0]
    if major != SCHEMA.split("/")[1]:
        raise DataError(f"{where}: record schema {schema} is newer than this stilt reads ({SCHEMA})", "upgrade stilt")
    record.setdefault("split", None)
    record.setdefault("params", {})
    return record


def _names(types: Any) -> str:
    types = types if isinstance(types, tuple) else (types,)
    names = {int: "integer", float: "number", str: "string", dict: "object", type(None): "null"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def read(source: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Read and validate result records from one JSONL file (or '-')."""
    name = "<stdin>" if str(source) == "-" else str(source)
    for number, obj in read_jsonl(source, expect="result record"):
        yield validate(obj, f"{name}:{number}")


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; directories expand to their *.jsonl files (recursively, sorted)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if str(raw) == "-":
            found.append(path)
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*.jsonl") if not p.name.startswith("."))
            if not files:
                raise DataError(f"{path}: directory holds no .jsonl result files")
            found.extend(files)
        elif path.exists():
            found.append(path)
        else:
            raise DataError(f"{path}: no such file or directory")
    if not found:
        raise UsageError("no result files given")
    return found


def read_many(paths: Iterable[str | os.PathLike]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in expand_paths(paths):
        for row in read(path):
            row.setdefault("_source", str(path))
            rows.append(row)
    return rows


def invocation() -> list[str] | None:
    """The stilt command line this process runs (`stilt ...`, also `python -m stilt_cli` under torchrun, whose
    argv[0] is __main__.py), as provenance; None when stilt runs inside another program."""
    import sys

    if not sys.argv:
        return None
    path = Path(sys.argv[0])
    is_stilt = "stilt" in path.name or (path.name == "__main__.py" and path.parent.name == "stilt_cli")
    return ["stilt", *sys.argv[1:]] if is_stilt else None

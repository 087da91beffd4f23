"""The failure record of a stage: what `stilt status` shows as "failed", with the error line and exit code.

A stage that writes a checkpoint (`checkpoint.writer`) and then fails with exit 1 (a data or runtime
error), or with an unexpected exception, leaves a small JSON record (a usage refusal, exit 2, touches nothing
and leaves none):

```
{"schema": "stilt.failure/1", "error": "error: loss is NaN at step 12 ... (hint: ...)", "exit_code": 1,
 "time": "2026-12-07T06:00:00+00:00", "step": 10, "total_steps": 40, "stage": "target",
 "command": ["stilt", "target", ...]}
```

- in `OUT.partial/failed.json` when `OUT.partial/` survives the failure (it holds a resumable state:
  `step` is the step `--resume` continues from);
- otherwise beside the output, `.OUT.failed.json` (next to the `.OUT.lock` file), so a failure before any
  saved state still leaves nothing in `OUT.partial/` or `OUT` (the promise of docs/failure-behaviour.md).
Neither is ever read as a checkpoint. The next run of the stage removes both when it starts writing; an
interruption with a resumable state (exit 75) is not a failure and writes none. Only
`commands/_common.guard` (the error boundary) records failures; `checkpoint.writer` marks that a stage
started writing its output (`started`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stilt_cli.core import atomic

SCHEMA = "stilt.failure/1"
NAME = "failed.json"
_STARTED: set[str] = set()


def beside(out: str | os.PathLike) -> Path:
    """Where the record of a failure without a kept `OUT.partial/` goes: `.OUT.failed.json`."""
    out = Path(out)
    return out.with_name(f".{out.name}.failed.json")


def started(out: str | os.PathLike) -> None:
    """A stage begins writing `out`: earlier failure records are superseded (called with the lock held)."""
    _STARTED.add(os.path.abspath(out))
    beside(out).unlink(missing_ok=True)
    (atomic.partial_dir(Path(out)) / NAME).unlink(missing_ok=True)


def _state(partial: Path) -> dict[str, Any]:
    try:
        meta = json.loads((partial / "state" / "state.json").read_text(encoding="utf-8"))
        return {"step": meta["progress"]["step"], "total_steps": meta.get("total_steps")}
    except (OSError, ValueError, KeyError, TypeError):
        return {"step": None, "total_steps": None}


def record(out: str | os.PathLike | None, line: str, exit_code: int, stage: str | None = None) -> Path | None:
    """Write the failure record of a stage that started writing `out` (else nothing). Never raises."""
    if out is None or os.path.abspath(out) not in _STARTED:
        return None
    _STARTED.discard(os.path.abspath(out))
    from stilt_cli.core.records import now

    partial = atomic.partial_dir(Path(out))
    # kept: a resumable state, or a finished checkpoint whose final rename failed (--resume completes it)
    kept = (partial / "state").is_dir() or (partial / "stilt.json").is_file()
    payload = {"schema": SCHEMA, "error": line, "exit_code": exit_code, "time": now(),
               **(_state(partial) if kept else {"step": None, "total_steps": None}),
               "stage": stage, "command": _command()}
    target = partial / NAME if kept else beside(out)
    try:
        atomic.write_text(target, json.dumps(payload, indent=1) + "\n")
    except Exception:  # noqa: BLE001 - the record must never hide the failure it describes
        return None
    return target


def forget(out: str | os.PathLike | None) -> None:
    """The command is over (however it ended): a later command in this process starts unmarked."""
    if out is not None:
        _STARTED.discard(os.path.abspath(out))


def _command() -> list[str] | None:
    from stilt_cli.core.records import invocation

    return invocation()


def read(out: str | os.PathLike) -> dict[str, Any] | None:
    """The failure record of `out` (kept partial first), or None."""
    for path in (atomic.partial_dir(Path(out)) / NAME, beside(out)):
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return None

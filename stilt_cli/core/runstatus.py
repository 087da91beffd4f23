"""`stilt status RUN_DIR...`: every checkpoint below some folders, with its state and its result files.

A checkpoint path OUT is found as `OUT/stilt.json`, `OUT.partial/` or a failure record `.OUT.failed.json`
(`core/failures.py`). Its state, first match wins:
- `running`: a live process holds OUT's output lock (`.OUT.lock`, `core/atomic.output_lock`);
- `complete`: OUT holds a valid manifest (`checkpoint.load` accepts it);
- `failed`: a failure record exists (error line, exit code, time); with a resumable state too, `step`
  says where `--resume` continues;
- `resumable`: `OUT.partial/state/state.json` exists: step k of n (an interrupted run, exit 75, or a kill
  after a save);
- `incomplete`: `OUT.partial/` without a state or a record (killed before its first save; a rerun starts
  over), or an OUT without a valid manifest.
The lock is probed by taking it for an instant (non-blocking): a run starting at that very instant would
be refused as if another run were writing, and can simply be started again.

Result files: JSONL files below the given folders whose first record names the checkpoint
(`checkpoint.path`: the same path, or a relative path that ends the checkpoint's absolute path, as when
`evaluate` ran from the study's folder and `status` from elsewhere), and `OUT/*.jsonl` other than the
train log.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stilt_cli.core import atomic, checkpoint, failures
from stilt_cli.core.errors import DataError, StiltError

STATES = ("running", "complete", "failed", "resumable", "incomplete")
PARTIAL = ".partial"
SKIP_DIRS = {checkpoint.ENCODER_DIR, checkpoint.HEADS_DIR, checkpoint.ADAPTERS_DIR, checkpoint.MLM_DIR,
             checkpoint.STATE_DIR, "state.tmp", "state.old"}


def _locked(out: Path) -> bool:
    from filelock import FileLock, Timeout

    lock_file = out.parent / f".{out.name}.lock"
    if not lock_file.exists():
        return False
    lock = FileLock(str(lock_file))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:
        return False
    lock.release()
    return False


def _state_json(partial: Path) -> dict[str, Any] | None:
    try:
        return json.loads((partial / checkpoint.STATE_DIR / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def find(folders: list[str]) -> tuple[list[Path], list[Path]]:
    """(checkpoint paths OUT, JSONL files) below the folders; a folder may itself be a checkpoint."""
    outs: dict[str, Path] = {}
    jsonl: list[Path] = []
    for raw in folders:
        root = Path(raw)
        if not root.is_dir():
            if atomic.partial_dir(root).is_dir() or failures.beside(root).is_file():
                outs.setdefault(str(root), root)  # a checkpoint named by its final path, not written yet
                root = atomic.partial_dir(root)
                if not root.is_dir():
                    continue
            else:
                raise DataError(f"{raw}: no such folder", "give the folders your runs write into")
        for here, dirs, files in os.walk(root):
            base = Path(here)
            if (base / checkpoint.MANIFEST).is_file() or base.name.endswith(PARTIAL):
                out = base.with_name(base.name[: -len(PARTIAL)]) if base.name.endswith(PARTIAL) else base
                outs.setdefault(str(out), out)
                dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
            for f in files:
                if f.startswith(".") and f.endswith(".failed.json"):
                    out = base / f[1: -len(".failed.json")]
                    outs.setdefault(str(out), out)
                elif f.endswith(".jsonl") and not f.startswith(".") and f != "train_log.jsonl":
                    jsonl.append(base / f)
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    return sorted(outs.values(), key=str), sorted(set(jsonl))


def _names_checkpoint(path: Path) -> str | None:
    """The checkpoint path the file's first record names (as written), or None."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(1 << 20)
        record = json.loads(first)
    except (OSError, ValueError):
        return None
    ckpt = record.get("checkpoint") if isinstance(record, dict) else None
    where = ckpt.get("path") if isinstance(ckpt, dict) else ckpt if isinstance(ckpt, str) else None
    return where if isinstance(where, str) and where else None


def _same(named: str, out: Path) -> bool:
    """Whether a record's checkpoint path is `out`: the same file, or (a relative path written from another
    working folder) the trailing components of `out`'s absolute path."""
    if os.path.realpath(named) == os.path.realpath(out):
        return True
    parts = Path(os.path.normpath(named)).parts
    return (not Path(named).is_absolute() and ".." not in parts
            and Path(os.path.abspath(out)).parts[-len(parts):] == parts)


def describe(out: Path, results: list[str]) -> dict[str, Any]:
    partial = atomic.partial_dir(out)
    meta = _state_json(partial) if partial.is_dir() else None
    failure = failures.read(out)
    row: dict[str, Any] = {"path": str(out), "state": None, "step": None, "total_steps": None, "stage": None,
                           "error": None, "exit_code": None, "failed_at": None, "locked": _locked(out),
                           "results": results}
    if meta is not None:
        row["step"] = (meta.get("progress") or {}).get("step")
        row["total_steps"] = meta.get("total_steps")
    complete = False
    if (out / checkpoint.MANIFEST).is_file():
        try:
            lineage = checkpoint.load(out).lineage()
            row["stage"] = lineage[-1].get("stage") if lineage else None
            complete = True
        except StiltError:
            pass
    if failure is not None and not complete:
        row.update(error=failure.get("error"), exit_code=failure.get("exit_code"), failed_at=failure.get("time"))
    if row["locked"]:
        row["state"] = "running"
    elif complete:
        row["state"] = "complete"
    elif failure is not None:
        row["state"] = "failed"
    elif meta is not None:
        row["state"] = "resumable"
    else:
        row["state"] = "incomplete"
    if row["stage"] is None and failure is not None:
        row["stage"] = failure.get("stage")
    return row


def status(folders: list[str]) -> list[dict[str, Any]]:
    outs, files = find(folders)
    named = [(target, str(path)) for path in files if (target := _names_checkpoint(path)) is not None]
    rows = []
    for out in outs:
        inside = [str(p) for p in files if p.parent == out]
        results = sorted({path for target, path in named if _same(target, out)} | set(inside))
        rows.append(describe(out, results))
    return rows


def table_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shown = []
    for r in rows:
        state = r["state"]
        if r["step"] is not None and state in ("resumable", "failed", "running"):
            state += f" at step {r['step']}" + (f" of {r['total_steps']}" if r["total_steps"] else "")
        if r["state"] == "failed":
            state += f" (exit {r['exit_code']})"
        shown.append({"checkpoint": r["path"], "state": state, "stage": r["stage"] or "",
                      "error": r["error"] or "", "results": len(r["results"])})
    return shown

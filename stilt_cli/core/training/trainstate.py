"""The resumable training state in `OUT.partial/state/`, and the signals that ask for it.

```
state/
  state.json          schema, step, config key, world size, best metric, patience, history (written last)
  model.safetensors   encoder + heads (tied weights stored once)
  best.safetensors    the best weights so far (keep-best), when evaluation runs
  optimizer.pt, scheduler.pt, scaler.pt   torch.save'd state dicts (tensors, numbers, lists only)
  rng-<rank>.pt       python, numpy, torch (and CUDA) RNG states of each process
  sharded/            under --parallel fsdp, instead of the model, best and optimizer files: each rank's
                      shard, written with torch.distributed.checkpoint (`core/training/sharded_state.py`)
```

Everything is read back with safetensors or `torch.load(weights_only=True)`: never an unrestricted
unpickle. A new state is built in `state.tmp/` and swapped in by renames, so a kill at any moment
leaves either the old state or the new one, never a mix. The data position is the step number:
the batch plan is a pure function of the seed (see `core/training/batching.py`, `core/training/sampling.py`).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stilt_cli.core import atomic
from stilt_cli.core.console import info
from stilt_cli.core.errors import DataError, Interrupted, UsageError
from stilt_cli.core.training import parallel, sharded_state
from stilt_cli.core.training.distributed import Dist

SCHEMA = "stilt.trainstate/1"
SIGNALS = ("SIGTERM", "SIGINT", "SIGUSR1")  # SIGUSR1: Slurm's pre-emption warning (--signal=USR1@90)
PAUSE_ENV = "STILT_PAUSE_AT_STEP"  # for tests only: see pause_point()
PAUSE_S = 60.0


def _staging(directory: Path) -> Path:
    return directory.with_name(directory.name + ".tmp")


def _previous(directory: Path) -> Path:
    return directory.with_name(directory.name + ".old")


def recover(directory: Path) -> None:
    """Finish a swap that a kill interrupted: `state.old` without `state` is the last complete state."""
    if not directory.exists() and _previous(directory).exists():
        _previous(directory).rename(directory)
    shutil.rmtree(_staging(directory), ignore_errors=True)


def discard(directory: Path) -> None:
    """Remove the state and its staging/previous copies (the stage completed); state.json first, so that a
    removal cut short never leaves a folder that looks like a complete state."""
    for path in (directory, _staging(directory), _previous(directory)):
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            (path / "state.json").unlink()
        shutil.rmtree(path, ignore_errors=True)


def exists(directory: Path) -> bool:
    recover(directory)
    return (directory / "state.json").is_file()


def rng_state() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, [int(k) for k in keys], int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(directory: Path, *, model: torch.nn.Module, optimizer: Any, scheduler: Any, scaler: Any,
         info_json: dict[str, Any], best: dict[str, torch.Tensor] | None, dist: Dist,
         rng: dict[str, Any] | None = None) -> None:
    """Write a complete state (all ranks call this; rank 0 writes all but the per-rank RNG files)."""
    from safetensors.torch import save_file, save_model

    staging = _staging(directory)
    if dist.is_main:
        shutil.rmtree(staging, ignore_errors=True)
        with writing(directory):
            staging.mkdir(parents=True)
    dist.barrier()
    with writing(directory):
        torch.save(rng if rng is not None else rng_state(), staging / f"rng-{dist.rank}.pt")
        sharded = parallel.is_sharded(model)
        if sharded:  # a collective: every rank writes its shard
            sharded_state.write(staging, model=model, optimizer=optimizer, best=best)
        if dist.is_main:
            if not sharded:
                save_model(model, str(staging / "model.safetensors"))
                if best is not None:
                    save_file(best, str(staging / "best.safetensors"))
                torch.save(optimizer.state_dict(), staging / "optimizer.pt")
            torch.save(scheduler.state_dict(), staging / "scheduler.pt")
            torch.save(scaler.state_dict(), staging / "scaler.pt")
            payload = {"schema": SCHEMA, "world_size": dist.world, **({"sharded": True} if sharded else {}),
                       **info_json}
            (staging / "state.json").write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    dist.barrier()
    if dist.is_main:
        swap(directory)
    dist.barrier()


RESUME_HINT = "free space (or make it writable), then run the same command again with --resume"


@contextlib.contextmanager
def writing(directory: Path) -> Iterator[None]:
    """A failed write of the state in `directory` (disk full, no permission; whichever library raised it) as
    one line naming the folder, with the half-written `state.tmp/` removed; the previous state stays."""
    try:
        yield
    except Exception as exc:
        failure = atomic.write_failure(exc, _staging(directory))
        if failure is None:
            raise
        error = atomic.disk_error(directory, failure, RESUME_HINT)  # before the removal frees the space
        shutil.rmtree(_staging(directory), ignore_errors=True)
        raise error from None


def swap(directory: Path) -> None:
    """Put the complete `state.tmp/` in place of `state/`, by renames: a kill leaves one of the two."""
    previous = _previous(directory)
    shutil.rmtree(previous, ignore_errors=True)
    if directory.exists():
        directory.rename(previous)
    _staging(directory).rename(directory)
    shutil.rmtree(previous, ignore_errors=True)


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses anything but tensors and plain containers
        raise DataError(f"resumable state file {path} is unreadable ({type(exc).__name__})",
                        "remove the .partial folder and start over with --if-exists overwrite") from None


def load(directory: Path, *, model: torch.nn.Module, optimizer: Any, scheduler: Any, scaler: Any,
         config_key: str, dist: Dist) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None]:
    """Restore everything in place; -> (state.json contents, best weights or None)."""
    from safetensors.torch import load_file, load_model

    try:
        meta = json.loads((directory / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"resumable state {directory} is unreadable ({exc})",
                        "start over with --if-exists overwrite") from None
    if meta.get("schema") != SCHEMA:
        raise DataError(f"resumable state {directory} has schema {meta.get('schema')}, expected {SCHEMA}")
    if meta.get("config_key") != config_key:
        raise UsageError(f"the resumable state in {directory} was made with a different config, data or parent",
                         "resume with exactly the original options, or start over with --if-exists overwrite")
    if meta.get("world_size") != dist.world:
        raise UsageError(f"the resumable state was written by {meta.get('world_size')} processes, this run has "
                         f"{dist.world}",
                         "resume with the same number of processes")
    if bool(meta.get("sharded")) != parallel.is_sharded(model):
        written = "with" if meta.get("sharded") else "without"
        raise UsageError(f"the resumable state in {directory} was written {written} --parallel fsdp",
                         "resume with the same --parallel")
    try:
        if meta.get("sharded"):  # a collective: every rank reads its shard
            best = sharded_state.read(directory, model=model, optimizer=optimizer)
        else:
            load_model(model, str(directory / "model.safetensors"), strict=True)
            kept = directory / "best.safetensors"
            best = load_file(str(kept)) if kept.is_file() else None
    except Exception as exc:
        raise DataError(f"resumable state {directory} has unreadable weights ({str(exc).splitlines()[0]})",
                        "start over with --if-exists overwrite") from None
    if not meta.get("sharded"):
        optimizer.load_state_dict(_torch_load(directory / "optimizer.pt"))
    scheduler.load_state_dict(_torch_load(directory / "scheduler.pt"))
    scaler.load_state_dict(_torch_load(directory / "scaler.pt"))
    set_rng_state(_torch_load(directory / f"rng-{dist.rank}.pt"))
    return meta, best


class Signals:
    """SIGTERM / SIGINT / SIGUSR1 -> remember it; the loop saves state at the next step boundary and
    exits 75. A second signal stops at once (KeyboardInterrupt), keeping the last saved state: when
    `state_dir` holds one, that is still an interruption with a resumable state (exit 75)."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self.received: str | None = None
        self.state_dir = state_dir
        self._previous: dict[int, Any] = {}

    def _handle(self, number: int, frame: Any) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signal.Signals(number).name
        info(f"{self.received} received: saving a resumable state at the end of this step")

    def __enter__(self) -> Signals:
        import threading

        if threading.current_thread() is threading.main_thread():
            for name in SIGNALS:
                number = getattr(signal, name, None)
                if number is not None:
                    self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        if exc_type is KeyboardInterrupt and self.received is not None and self.state_dir is not None \
                and exists(self.state_dir):  # exists() also finishes a swap the second signal cut short
            raise Interrupted(f"interrupted ({self.received}, then a second signal: stopped at once); the last "
                              f"saved resumable state is kept in {self.state_dir}",
                              "run the same command again with --resume") from None


def pause_point(step: int) -> None:
    """A place where a test can signal the loop without racing it. Off unless the environment has
    STILT_PAUSE_AT_STEP=N: then, at the end of step N (after its periodic save), the loop says
    "paused at step N" on stderr and sleeps for up to a minute. Signals are handled while it sleeps as at
    any other moment (the first asks for a save at the end of the next step, a second stops at once), so a
    test that waits for that line, and for "SIGINT received" before its second signal, knows both arrived
    while training was still running."""
    if os.environ.get(PAUSE_ENV) != str(step):
        return
    info(f"paused at step {step} ({PAUSE_ENV})")
    deadline = time.monotonic() + PAUSE_S
    while time.monotonic() < deadline:
        time.sleep(0.05)
